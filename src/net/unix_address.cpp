#include "tako/net/unix_address.hpp"

#include <cstddef>
#include <cstring>
#include <ostream>

namespace tako::net {

namespace {

/// The length of a sockaddr_un holding no name.
constexpr ::socklen_t header_len = offsetof(::sockaddr_un, sun_path);

} // namespace

unix_address::unix_address() noexcept : len_(header_len) {
    addr_.sun_family = AF_UNIX;
}

io::result<unix_address> unix_address::from_path(std::string_view path) noexcept {
    if (path.empty()) {
        return std::unexpected(make_error_code(io::errc::invalid_address));
    }
    unix_address a;
    if (path.front() == '@' || path.front() == '\0') {
        // Abstract: sun_path[0] = '\0', then the name's bytes, no terminator.
        const std::string_view name = path.substr(1);
        if (name.size() + 1 > sizeof a.addr_.sun_path) {
            return std::unexpected(std::make_error_code(std::errc::filename_too_long));
        }
        std::memcpy(a.addr_.sun_path + 1, name.data(), name.size());
        a.len_ = static_cast<::socklen_t>(header_len + 1 + name.size());
        return a;
    }
    if (path.find('\0') != std::string_view::npos) {
        return std::unexpected(make_error_code(io::errc::invalid_address));
    }
    if (path.size() + 1 > sizeof a.addr_.sun_path) { // room for the terminator
        return std::unexpected(std::make_error_code(std::errc::filename_too_long));
    }
    std::memcpy(a.addr_.sun_path, path.data(), path.size());
    a.len_ = static_cast<::socklen_t>(header_len + path.size() + 1);
    return a;
}

io::result<unix_address> unix_address::from_sockaddr(const ::sockaddr* sa,
                                                     ::socklen_t len) noexcept {
    if (sa == nullptr || len < sizeof(sa_family_t) || sa->sa_family != AF_UNIX ||
        len > sizeof(::sockaddr_un)) {
        return std::unexpected(make_error_code(io::errc::invalid_address));
    }
    unix_address a;
    std::memcpy(&a.addr_, sa, len);
    a.len_ = len < header_len ? header_len : len;
    return a;
}

std::string_view unix_address::raw() const noexcept {
    std::string_view s(addr_.sun_path, len_ - header_len);
    if (!s.empty() && s.front() != '\0') {
        // A path: the kernel may report it with or without its terminator.
        s = s.substr(0, s.find('\0'));
    }
    return s;
}

bool unix_address::is_unnamed() const noexcept {
    return raw().empty();
}

bool unix_address::is_abstract() const noexcept {
    const std::string_view r = raw();
    return !r.empty() && r.front() == '\0';
}

std::string unix_address::path() const {
    return is_unnamed() || is_abstract() ? std::string() : std::string(raw());
}

std::string unix_address::abstract_name() const {
    return is_abstract() ? std::string(raw().substr(1)) : std::string();
}

std::string unix_address::to_string() const {
    return is_abstract() ? "@" + abstract_name() : path();
}

bool operator==(const unix_address& a, const unix_address& b) noexcept {
    return a.raw() == b.raw();
}

std::ostream& operator<<(std::ostream& os, const unix_address& a) {
    return os << (a.is_unnamed() ? std::string("(unnamed)") : a.to_string());
}

} // namespace tako::net
