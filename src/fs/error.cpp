// fs::error's message, and how a blocking-pool job that gave no value becomes an error code.

#include <system_error>

#include "fs/pool.hpp"
#include "tako/fs/error.hpp"
#include "tako/fs/metadata.hpp"

namespace tako::fs {

std::string error::message() const {
    std::string s = op_;
    if (!path_.empty()) {
        s += " '" + path_.string() + "'";
    }
    if (!path2_.empty()) {
        s += " -> '" + path2_.string() + "'";
    }
    s += ": ";
    s += code_.message();
    return s;
}

std::filesystem::file_type file_type_of(::mode_t mode) noexcept {
    using t = std::filesystem::file_type;
    switch (mode & S_IFMT) {
    case S_IFREG:
        return t::regular;
    case S_IFDIR:
        return t::directory;
    case S_IFLNK:
        return t::symlink;
    case S_IFIFO:
        return t::fifo;
    case S_IFSOCK:
        return t::socket;
    case S_IFBLK:
        return t::block;
    case S_IFCHR:
        return t::character;
    default:
        return t::unknown;
    }
}

namespace detail {

std::error_code join_failure(const join_error& e) noexcept {
    if (e.is_cancelled()) {
        return make_error_code(io::errc::runtime_shut_down);
    }
    try {
        std::rethrow_exception(e.exception());
    } catch (const std::system_error& se) {
        return se.code();
    } catch (const std::bad_alloc&) {
        return std::make_error_code(std::errc::not_enough_memory);
    } catch (...) {
        return std::make_error_code(std::errc::resource_unavailable_try_again);
    }
}

} // namespace detail

} // namespace tako::fs
