// The whole-file helpers and path operations: each is one job on the blocking pool that
// does every system call the operation needs (open, fstat, read/write loop, close).

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "fs/pool.hpp"
#include "tako/fs/ops.hpp"

namespace tako::fs {

using detail::errno_error;
using detail::path_op;
using detail::unique_fd;

namespace {

/// open(2) with O_CLOEXEC, retried on EINTR.
io::result<unique_fd> open_fd(const std::filesystem::path& p, int flags, ::mode_t mode = 0) {
    for (;;) {
        const int fd = ::open(p.c_str(), flags | O_CLOEXEC, mode);
        if (fd >= 0) {
            return unique_fd(fd);
        }
        if (errno != EINTR) {
            return errno_error();
        }
    }
}

/// Buffers at least this large ask for transparent huge pages before their first touch.
constexpr std::size_t huge_page_threshold = 4 << 20;
constexpr std::uintptr_t huge_page = 2 << 20;

/// Asks the kernel to back the 2 MiB-aligned interior of a fresh, untouched buffer with
/// huge pages: filling 64 MiB then takes 32 page faults instead of 16,384, which matters
/// most where faults are dear (virtual machines). Advice only: errors are ignored.
void advise_huge_pages(void* p, std::size_t n) noexcept {
    if (n < huge_page_threshold) {
        return;
    }
    const auto begin = (reinterpret_cast<std::uintptr_t>(p) + huge_page - 1) & ~(huge_page - 1);
    const auto end = (reinterpret_cast<std::uintptr_t>(p) + n) & ~(huge_page - 1);
    if (end > begin) {
        (void)::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
    }
}

/// Grows `out` to `n` bytes. A string is not zero-filled first (resize_and_overwrite); a
/// fresh large buffer is advised to use huge pages before anything touches it.
template <class Buf>
void grow_to(Buf& out, std::size_t n) {
    if (out.capacity() < n) {
        out.reserve(n);
        advise_huge_pages(out.data(), out.capacity());
    }
    if constexpr (std::is_same_v<Buf, std::string>) {
        out.resize_and_overwrite(n, [](char*, std::size_t size) { return size; });
    } else {
        out.resize(n);
    }
}

/// Reads all of `fd` into a std::string or std::vector<std::byte>, sized by fstat so
/// that a regular file takes one allocation.
template <class Buf>
io::result<Buf> read_all(int fd) {
    struct ::stat st {};
    std::size_t hint = 0;
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
        hint = static_cast<std::size_t>(st.st_size);
    }
    Buf out;
    std::size_t len = 0;
    // The size hint (+1 so that a file of exactly that size ends with a read of 0 bytes
    // into the room left), then doubling for files that report no size or grow meanwhile.
    for (;;) {
        if (len == out.size()) {
            grow_to(out, len == 0 ? (hint > 0 ? hint + 1 : 16 * 1024) : 2 * len);
        }
        const ::ssize_t n = ::read(fd, out.data() + len, out.size() - len);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return errno_error();
        }
        if (n == 0) {
            out.resize(len);
            return out;
        }
        len += static_cast<std::size_t>(n);
    }
}

io::result<void> write_whole(const std::filesystem::path& p, const std::byte* data,
                             std::size_t size) {
    auto fd = open_fd(p, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (!fd) {
        return std::unexpected(fd.error());
    }
    std::size_t done = 0;
    while (done < size) {
        const ::ssize_t n = ::write(fd->get(), data + done, size - done);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return errno_error();
        }
        done += static_cast<std::size_t>(n);
    }
    if (::close(fd->release()) < 0 && errno != EINTR) {
        return errno_error(); // NFS and friends report write errors at close
    }
    return {};
}

/// A 0 / -1 system call result.
io::result<void> status(int rc) noexcept {
    if (rc < 0) {
        return errno_error();
    }
    return {};
}

io::result<std::uint64_t> copy_contents(const std::filesystem::path& from,
                                        const std::filesystem::path& to) {
    auto in = open_fd(from, O_RDONLY);
    if (!in) {
        return std::unexpected(in.error());
    }
    struct ::stat st {};
    if (::fstat(in->get(), &st) < 0) {
        return errno_error();
    }
    if (!S_ISREG(st.st_mode)) {
        return std::unexpected(std::make_error_code(std::errc::invalid_argument));
    }
    auto out = open_fd(to, O_WRONLY | O_CREAT | O_TRUNC, st.st_mode & 07777);
    if (!out) {
        return std::unexpected(out.error());
    }
    if (::fchmod(out->get(), st.st_mode & 07777) < 0) { // an existing `to` keeps `from`'s bits
        return errno_error();
    }
    std::uint64_t total = 0;
    bool in_kernel = true;
    for (;;) {
        ::ssize_t n = 0;
        if (in_kernel) {
            n = ::copy_file_range(in->get(), nullptr, out->get(), nullptr, 1 << 30, 0);
            if (n < 0 &&
                (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP || errno == EINVAL) &&
                total == 0) {
                in_kernel = false;
                continue;
            }
        } else {
            n = ::sendfile(out->get(), in->get(), nullptr, 1 << 30);
        }
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return errno_error();
        }
        if (n == 0) {
            break;
        }
        total += static_cast<std::uint64_t>(n);
    }
    if (::close(out->release()) < 0 && errno != EINTR) {
        return errno_error();
    }
    return total;
}

io::result<file_metadata> stat_path(const std::filesystem::path& p, bool follow) {
    struct ::stat st {};
    if ((follow ? ::stat(p.c_str(), &st) : ::lstat(p.c_str(), &st)) < 0) {
        return errno_error();
    }
    return file_metadata(st);
}

} // namespace

task<result<std::vector<std::byte>>> read(std::filesystem::path path) {
    auto job = [p = path]() -> io::result<std::vector<std::byte>> {
        auto fd = open_fd(p, O_RDONLY);
        if (!fd) {
            return std::unexpected(fd.error());
        }
        return read_all<std::vector<std::byte>>(fd->get());
    };
    return path_op("read", std::move(path), {}, std::move(job));
}

task<result<std::string>> read_to_string(std::filesystem::path path) {
    auto job = [p = path]() -> io::result<std::string> {
        auto fd = open_fd(p, O_RDONLY);
        if (!fd) {
            return std::unexpected(fd.error());
        }
        return read_all<std::string>(fd->get());
    };
    return path_op("read", std::move(path), {}, std::move(job));
}

task<result<void>> write(std::filesystem::path path, std::vector<std::byte> contents) {
    auto job = [p = path, c = std::move(contents)]() { return write_whole(p, c.data(), c.size()); };
    return path_op("write", std::move(path), {}, std::move(job));
}

task<result<void>> write(std::filesystem::path path, std::string contents) {
    auto job = [p = path, c = std::move(contents)]() {
        return write_whole(p, reinterpret_cast<const std::byte*>(c.data()), c.size());
    };
    return path_op("write", std::move(path), {}, std::move(job));
}

task<result<void>> write(std::filesystem::path path, std::span<const std::byte> contents) {
    return write(std::move(path), std::vector<std::byte>(contents.begin(), contents.end()));
}

task<result<void>> rename(std::filesystem::path from, std::filesystem::path to) {
    auto job = [f = from, t = to]() { return status(::rename(f.c_str(), t.c_str())); };
    return path_op("rename", std::move(from), std::move(to), std::move(job));
}

task<result<std::uint64_t>> copy(std::filesystem::path from, std::filesystem::path to) {
    auto job = [f = from, t = to]() { return copy_contents(f, t); };
    return path_op("copy", std::move(from), std::move(to), std::move(job));
}

task<result<void>> remove_file(std::filesystem::path path) {
    auto job = [p = path]() { return status(::unlink(p.c_str())); };
    return path_op("remove_file", std::move(path), {}, std::move(job));
}

task<result<void>> hard_link(std::filesystem::path original, std::filesystem::path link) {
    auto job = [o = original, l = link]() { return status(::link(o.c_str(), l.c_str())); };
    return path_op("hard_link", std::move(original), std::move(link), std::move(job));
}

task<result<void>> symlink(std::filesystem::path original, std::filesystem::path link) {
    auto job = [o = original, l = link]() { return status(::symlink(o.c_str(), l.c_str())); };
    return path_op("symlink", std::move(original), std::move(link), std::move(job));
}

task<result<std::filesystem::path>> read_link(std::filesystem::path path) {
    auto job = [p = path]() -> io::result<std::filesystem::path> {
        std::string buf(256, '\0');
        for (;;) {
            const ::ssize_t n = ::readlink(p.c_str(), buf.data(), buf.size());
            if (n < 0) {
                return errno_error();
            }
            if (static_cast<std::size_t>(n) < buf.size()) {
                buf.resize(static_cast<std::size_t>(n));
                return std::filesystem::path(std::move(buf));
            }
            buf.resize(buf.size() * 2); // maybe cut off: try again with more room
        }
    };
    return path_op("read_link", std::move(path), {}, std::move(job));
}

task<result<std::filesystem::path>> canonicalize(std::filesystem::path path) {
    auto job = [p = path]() -> io::result<std::filesystem::path> {
        std::unique_ptr<char, decltype(&std::free)> real(::realpath(p.c_str(), nullptr),
                                                         &std::free);
        if (!real) {
            return errno_error();
        }
        return std::filesystem::path(real.get());
    };
    return path_op("canonicalize", std::move(path), {}, std::move(job));
}

task<result<file_metadata>> metadata(std::filesystem::path path) {
    auto job = [p = path]() { return stat_path(p, true); };
    return path_op("metadata", std::move(path), {}, std::move(job));
}

task<result<file_metadata>> symlink_metadata(std::filesystem::path path) {
    auto job = [p = path]() { return stat_path(p, false); };
    return path_op("symlink_metadata", std::move(path), {}, std::move(job));
}

task<result<bool>> try_exists(std::filesystem::path path) {
    auto job = [p = path]() -> io::result<bool> {
        struct ::stat st {};
        if (::stat(p.c_str(), &st) == 0) {
            return true;
        }
        if (errno == ENOENT) {
            return false;
        }
        return errno_error();
    };
    return path_op("try_exists", std::move(path), {}, std::move(job));
}

task<result<void>> set_permissions(std::filesystem::path path, std::filesystem::perms perms) {
    auto job = [p = path, m = static_cast<::mode_t>(perms)]() {
        return status(::chmod(p.c_str(), m));
    };
    return path_op("set_permissions", std::move(path), {}, std::move(job));
}

} // namespace tako::fs
