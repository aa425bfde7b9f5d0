#pragma once
/// \file
/// `tako::fs::open_options`: how to open a file (`tokio::fs::OpenOptions`): the access
/// mode, whether to create or truncate it, the permission bits of a new file, and extra
/// `open(2)` flags.
///
/// ```cpp
/// #include <tako/fs/file.hpp>
///
/// tako::task<void> log_line(std::string line) {
///     auto f = co_await tako::fs::open_options().append(true).create(true).open("app.log");
///     if (!f) co_return;                       // f.error().path() is "app.log"
///     line += '\n';
///     (void)co_await f->write_all(line);
///     (void)co_await f->flush();               // see file.hpp: flush reports write errors
/// }
/// ```
///
/// The rules are std's: at least one of `read`, `write`, `append`; `append` implies
/// writing; `truncate`, `create` and `create_new` need `write` or `append`; `truncate`
/// with `append` is refused; `create_new` (O_CREAT|O_EXCL) wins over `create` and
/// `truncate`. A combination that breaks a rule fails with `invalid_argument` before
/// anything is opened. Every file is opened with O_CLOEXEC.

#include <sys/types.h>

#include <filesystem>
#include <utility>

#include "tako/fs/error.hpp"
#include "tako/task.hpp"

namespace tako::fs {

class file;

/// Options for opening a file; every setter returns `*this` to chain.
class open_options {
public:
    /// Nothing set: `open` fails with `invalid_argument` until an access mode is chosen.
    open_options() noexcept = default;

    /// Open for reading.
    open_options& read(bool on) noexcept { return set(read_, on); }
    /// Open for writing (at the start, unless `append`).
    open_options& write(bool on) noexcept { return set(write_, on); }
    /// Every write goes to the end of the file (O_APPEND); implies writing.
    open_options& append(bool on) noexcept { return set(append_, on); }
    /// Truncate an existing file to 0 bytes (O_TRUNC).
    open_options& truncate(bool on) noexcept { return set(truncate_, on); }
    /// Create the file if it does not exist (O_CREAT).
    open_options& create(bool on) noexcept { return set(create_, on); }
    /// Create the file, failing with `file_exists` if it exists (O_CREAT|O_EXCL): no race
    /// between checking and creating. A dangling symlink counts as existing.
    open_options& create_new(bool on) noexcept { return set(create_new_, on); }
    /// Permission bits of a created file, before the umask (default 0666).
    open_options& mode(::mode_t m) noexcept {
        mode_ = m;
        return *this;
    }
    /// Extra `open(2)` flags OR-ed in (O_NOFOLLOW, O_NOATIME, O_DIRECT, O_SYNC, …); the
    /// access-mode bits (O_ACCMODE) in them are ignored.
    open_options& custom_flags(int flags) noexcept {
        custom_ = flags;
        return *this;
    }

    /// The `open(2)` flags these options give, or `invalid_argument` for a combination
    /// the rules above refuse.
    [[nodiscard]] std::expected<int, std::error_code> flags() const noexcept;
    /// The permission bits for a created file.
    [[nodiscard]] ::mode_t mode() const noexcept { return mode_; }

    /// Opens `path`: on the calling worker when the path is cached and names a regular file
    /// of a local filesystem and nothing is created or truncated (see file.hpp), otherwise
    /// on the blocking pool (one trip). Errors (with the path):
    /// `no_such_file_or_directory`, `permission_denied`, `file_exists` (create_new),
    /// `too_many_files_open`, `is_a_directory` (writing a directory), `invalid_argument`
    /// (options), `io::errc::no_runtime` outside a runtime. Cancel safety: cancelled while
    /// waiting, the open still completes on the pool and the descriptor is closed there;
    /// a file created by it stays created.
    [[nodiscard]] task<result<file>> open(std::filesystem::path path) const {
        return open_with(*this, std::move(path)); // a copy: the options may be a temporary
    }

private:
    static task<result<file>> open_with(open_options options, std::filesystem::path path);

    open_options& set(bool& flag, bool on) noexcept {
        flag = on;
        return *this;
    }

    bool read_ = false;
    bool write_ = false;
    bool append_ = false;
    bool truncate_ = false;
    bool create_ = false;
    bool create_new_ = false;
    ::mode_t mode_ = 0666;
    int custom_ = 0;
};

} // namespace tako::fs

#include "tako/fs/file.hpp" // open() gives a file: whoever includes this header can use it
