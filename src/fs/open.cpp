// Opening files: open_options' rules (std's), and the one pool trip that opens and
// fstat()s (to learn whether reads may run ahead: only on a regular file).

#include <fcntl.h>
#include <sys/stat.h>

#include "fs/file_core.hpp"
#include "fs/pool.hpp"
#include "tako/fs/file.hpp"
#include "tako/fs/open_options.hpp"

namespace tako::fs {

std::expected<int, std::error_code> open_options::flags() const noexcept {
    const auto invalid = std::unexpected(std::make_error_code(std::errc::invalid_argument));
    int access = 0;
    if (read_ && (write_ || append_)) {
        access = O_RDWR;
    } else if (read_) {
        access = O_RDONLY;
    } else if (write_ || append_) {
        access = O_WRONLY;
    } else {
        return invalid; // no access mode
    }
    const bool writes = write_ || append_;
    if ((truncate_ || create_ || create_new_) && !writes) {
        return invalid;
    }
    if (truncate_ && append_ && !create_new_) {
        return invalid;
    }
    int creation = 0;
    if (create_new_) {
        creation = O_CREAT | O_EXCL;
    } else {
        creation = (create_ ? O_CREAT : 0) | (truncate_ ? O_TRUNC : 0);
    }
    return access | creation | (append_ ? O_APPEND : 0) | O_CLOEXEC | (custom_ & ~O_ACCMODE);
}

namespace {

struct opened {
    detail::unique_fd fd;
    bool regular = false;
};

} // namespace

task<result<file>> open_options::open_with(open_options options, std::filesystem::path path) {
    auto fl = options.flags();
    if (!fl) {
        co_return std::unexpected(error(fl.error(), "open", std::move(path)));
    }
    auto job = [flags = *fl, mode = options.mode_, p = path]() -> io::result<opened> {
        opened o;
        o.fd.reset(::open(p.c_str(), flags, mode));
        if (o.fd.get() < 0) {
            return detail::errno_error();
        }
        struct ::stat st {};
        o.regular = ::fstat(o.fd.get(), &st) == 0 && S_ISREG(st.st_mode);
        return o;
    };
    auto r = co_await detail::path_op("open", path, {}, std::move(job));
    if (!r) {
        co_return std::unexpected(std::move(r.error()));
    }
    co_return file(
        std::make_shared<detail::file_core>(std::move(r->fd), std::move(path), r->regular));
}

task<result<file>> file::open(std::filesystem::path path) {
    return open_options().read(true).open(std::move(path));
}

task<result<file>> file::create(std::filesystem::path path) {
    return open_options().write(true).create(true).truncate(true).open(std::move(path));
}

task<result<file>> file::create_new(std::filesystem::path path) {
    return open_options().read(true).write(true).create_new(true).open(std::move(path));
}

} // namespace tako::fs
