// Opening files: open_options' rules (std's), and the one pool trip that opens and
// fstat()s (to learn whether reads may run ahead: only on a regular file).

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <optional>

#include "fs/file_core.hpp"
#include "fs/pool.hpp"
#include "tako/fs/file.hpp"
#include "tako/fs/open_options.hpp"
#include "tako/yield.hpp"

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

/// Local filesystems whose open(2) of a regular file does not wait for a device or a
/// server (unlike NFS revalidation, FUSE's daemon, a FIFO waiting for its writer).
bool opens_without_waiting(long fs_type) noexcept {
    switch (static_cast<unsigned long>(fs_type)) {
    case EXT4_SUPER_MAGIC: // also ext2 and ext3
    case XFS_SUPER_MAGIC:
    case BTRFS_SUPER_MAGIC:
    case TMPFS_MAGIC:
        return true;
    default:
        return false;
    }
}

/// Opens `p` on the calling thread when that cannot block: no O_CREAT / O_TRUNC, the
/// path resolves from the dentry cache alone (openat2 RESOLVE_CACHED, as O_PATH, which
/// runs no filesystem open method), and it names a regular file on a local filesystem;
/// then the O_PATH descriptor is reopened with the real flags through /proc/self/fd.
/// Empty when any step says no: the blocking pool opens it (and reports any error).
std::optional<opened> open_cached(const std::filesystem::path& p, int flags) noexcept {
    if ((flags & (O_CREAT | O_TRUNC | O_TMPFILE)) != 0) {
        return std::nullopt;
    }
    ::open_how how{};
    how.flags = static_cast<std::uint64_t>(O_PATH | O_CLOEXEC | (flags & O_NOFOLLOW));
    how.resolve = RESOLVE_CACHED;
    detail::unique_fd path_fd(
        static_cast<int>(::syscall(SYS_openat2, AT_FDCWD, p.c_str(), &how, sizeof how)));
    if (path_fd.get() < 0) {
        return std::nullopt; // EAGAIN: not cached; ENOSYS: kernel before 5.6; or an error
    }
    struct ::statfs sfs {};
    struct ::stat st {};
    if (::fstatfs(path_fd.get(), &sfs) < 0 || !opens_without_waiting(sfs.f_type) ||
        ::fstat(path_fd.get(), &st) < 0 || !S_ISREG(st.st_mode)) {
        return std::nullopt;
    }
    char proc_path[32];
    std::snprintf(proc_path, sizeof proc_path, "/proc/self/fd/%d", path_fd.get());
    opened o;
    o.fd.reset(::open(proc_path, flags & ~O_NOFOLLOW));
    if (o.fd.get() < 0) {
        return std::nullopt;
    }
    o.regular = true;
    return o;
}

} // namespace

task<result<file>> open_options::open_with(open_options options, std::filesystem::path path) {
    auto fl = options.flags();
    if (!fl) {
        co_return std::unexpected(error(fl.error(), "open", std::move(path)));
    }
    if (auto now = open_cached(path, *fl)) {
        co_await tako::consume_budget(); // ready at once: spend a unit, as every await
        co_return file(
            std::make_shared<detail::file_core>(std::move(now->fd), std::move(path), true));
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
