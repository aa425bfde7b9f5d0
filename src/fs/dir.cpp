// Directories: create/remove (one pool trip each, recursion included), and read_dir, whose
// batches come from getdents64 with a 32 KiB buffer: each trip hands back every entry the
// kernel returned, typed from d_type (lstat only where a filesystem leaves it unknown).

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <string_view>

#include "fs/pool.hpp"
#include "tako/fs/dir.hpp"
#include "tako/fs/ops.hpp"
#include "tako/yield.hpp"

namespace tako::fs {

using detail::errno_error;
using detail::path_op;
using detail::unique_fd;

namespace detail {
struct dir_core {
    unique_fd fd;
};
} // namespace detail

namespace {

/// Bytes of directory entries one read_dir trip asks the kernel for.
constexpr std::size_t dir_batch_bytes = 32 * 1024;

bool is_dot_or_dotdot(const char* name) noexcept {
    return name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

std::filesystem::file_type type_of_dtype(unsigned char d) noexcept {
    using t = std::filesystem::file_type;
    switch (d) {
    case DT_REG:
        return t::regular;
    case DT_DIR:
        return t::directory;
    case DT_LNK:
        return t::symlink;
    case DT_FIFO:
        return t::fifo;
    case DT_SOCK:
        return t::socket;
    case DT_BLK:
        return t::block;
    case DT_CHR:
        return t::character;
    default:
        return t::unknown;
    }
}

bool is_dir(const std::filesystem::path& p) noexcept {
    struct ::stat st {};
    return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

io::result<void> mkdir_all(const std::filesystem::path& p) {
    if (::mkdir(p.c_str(), 0777) == 0) {
        return {};
    }
    const int first = errno;
    if (first == EEXIST && is_dir(p)) {
        return {};
    }
    const auto parent = p.parent_path();
    if (first != ENOENT || parent.empty() || parent == p) {
        return std::unexpected(std::error_code(first, std::system_category()));
    }
    if (auto r = mkdir_all(parent); !r) {
        return r;
    }
    if (::mkdir(p.c_str(), 0777) == 0 || (errno == EEXIST && is_dir(p))) {
        return {};
    }
    return errno_error();
}

/// Removes `name` in the directory `parent` and, if it is a directory (not a symlink to
/// one), everything in it first.
io::result<void> remove_all_at(int parent, const char* name) {
    const int fd = ::openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOTDIR || errno == ELOOP) { // a file or a symlink: just unlink it
            return ::unlinkat(parent, name, 0) == 0 ? io::result<void>{} : errno_error();
        }
        return errno_error();
    }
    DIR* dir = ::fdopendir(fd);
    if (dir == nullptr) {
        const auto e = errno_error();
        ::close(fd);
        return e;
    }
    io::result<void> r;
    while (r) {
        errno = 0;
        const ::dirent* e = ::readdir(dir);
        if (e == nullptr) {
            if (errno != 0) {
                r = errno_error();
            }
            break;
        }
        if (is_dot_or_dotdot(e->d_name)) {
            continue;
        }
        if (e->d_type == DT_DIR || e->d_type == DT_UNKNOWN) {
            r = remove_all_at(::dirfd(dir), e->d_name);
        } else if (::unlinkat(::dirfd(dir), e->d_name, 0) < 0) {
            r = errno_error();
        }
    }
    ::closedir(dir);
    if (!r) {
        return r;
    }
    return ::unlinkat(parent, name, AT_REMOVEDIR) == 0 ? io::result<void>{} : errno_error();
}

io::result<void> remove_tree(const std::filesystem::path& p) {
    struct ::stat st {};
    if (::lstat(p.c_str(), &st) < 0) {
        return errno_error();
    }
    if (S_ISLNK(st.st_mode)) {
        return ::unlink(p.c_str()) == 0 ? io::result<void>{} : errno_error();
    }
    if (!S_ISDIR(st.st_mode)) {
        return std::unexpected(std::make_error_code(std::errc::not_a_directory));
    }
    return remove_all_at(AT_FDCWD, p.c_str());
}

/// One read_dir trip: the entries of one getdents64 call.
detail::dir_batch read_batch(int fd, const std::filesystem::path& dir) {
    detail::dir_batch b;
    alignas(::dirent64) std::array<char, dir_batch_bytes> raw;
    const ::ssize_t n = ::getdents64(fd, raw.data(), raw.size());
    if (n < 0) {
        b.error = detail::last_error();
        return b;
    }
    if (n == 0) {
        b.end = true;
        return b;
    }
    for (::ssize_t at = 0; at < n;) {
        const auto* e = reinterpret_cast<const ::dirent64*>(raw.data() + at);
        at += e->d_reclen;
        if (is_dot_or_dotdot(e->d_name)) {
            continue;
        }
        auto type = type_of_dtype(e->d_type);
        if (e->d_type == DT_UNKNOWN) {
            struct ::stat st {};
            if (::fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
                type = file_type_of(st.st_mode);
            }
        }
        b.entries.emplace_back(dir, std::string(e->d_name), type, e->d_ino);
    }
    return b;
}

} // namespace

task<result<void>> create_dir(std::filesystem::path path) {
    auto job = [p = path]() -> io::result<void> {
        return ::mkdir(p.c_str(), 0777) == 0 ? io::result<void>{} : errno_error();
    };
    return path_op("create_dir", std::move(path), {}, std::move(job));
}

task<result<void>> create_dir_all(std::filesystem::path path) {
    auto job = [p = path]() { return mkdir_all(p); };
    return path_op("create_dir_all", std::move(path), {}, std::move(job));
}

task<result<void>> remove_dir(std::filesystem::path path) {
    auto job = [p = path]() -> io::result<void> {
        return ::rmdir(p.c_str()) == 0 ? io::result<void>{} : errno_error();
    };
    return path_op("remove_dir", std::move(path), {}, std::move(job));
}

task<result<void>> remove_dir_all(std::filesystem::path path) {
    auto job = [p = path]() { return remove_tree(p); };
    return path_op("remove_dir_all", std::move(path), {}, std::move(job));
}

task<result<file_metadata>> dir_entry::metadata() const {
    return symlink_metadata(path_);
}

dir_reader::dir_reader() noexcept = default;
dir_reader::dir_reader(std::shared_ptr<detail::dir_core> core, std::filesystem::path path) noexcept
    : core_(std::move(core)), path_(std::move(path)) {}
dir_reader::dir_reader(dir_reader&&) noexcept = default;
dir_reader& dir_reader::operator=(dir_reader&&) noexcept = default;
dir_reader::~dir_reader() = default;

task<result<std::optional<dir_entry>>> dir_reader::next() {
    if (core_ == nullptr) {
        co_return std::unexpected(error(make_error_code(io::errc::closed), "read_dir", path_));
    }
    for (;;) {
        if (next_ < batch_.size()) {
            co_await tako::consume_budget(); // before taking the entry: a cancel loses none
            co_return std::optional<dir_entry>(std::move(batch_[next_++]));
        }
        if (end_) {
            co_return std::optional<dir_entry>();
        }
        if (!inflight_.valid()) {
            auto job = [core = core_, dir = path_]() { return read_batch(core->fd.get(), dir); };
            inflight_ = tako::spawn_blocking(std::move(job));
        }
        auto done = co_await inflight_; // cancel-safe: the batch waits in the handle
        if (!done) {
            co_return std::unexpected(error(detail::join_failure(done.error()), "read_dir", path_));
        }
        batch_ = std::move(done->entries);
        next_ = 0;
        end_ = done->end;
        if (done->error) {
            co_return std::unexpected(error(done->error, "read_dir", path_));
        }
    }
}

task<result<dir_reader>> read_dir(std::filesystem::path path) {
    auto job = [p = path]() -> io::result<unique_fd> {
        const int fd = ::open(p.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
            return errno_error();
        }
        return unique_fd(fd);
    };
    auto fd = co_await path_op("read_dir", path, {}, std::move(job));
    if (!fd) {
        co_return std::unexpected(std::move(fd.error()));
    }
    auto core = std::make_shared<detail::dir_core>(std::move(*fd));
    co_return dir_reader(std::move(core), std::move(path));
}

} // namespace tako::fs
