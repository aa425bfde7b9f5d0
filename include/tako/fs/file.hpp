#pragma once
/// \file
/// `tako::fs::file`: an open file, read and written through the `io::` concepts
/// (`tokio::fs::File`), with a buffer that makes small reads and writes cheap.
///
/// ```cpp
/// #include <tako/fs/file.hpp>
///
/// tako::task<tako::io::result<void>> save(std::string path, std::string text) {
///     auto f = co_await tako::fs::file::create(path);
///     if (!f) co_return std::unexpected(f.error().code()); // f.error().path() == path
///     if (auto w = co_await f->write_all(text); !w) co_return w;
///     co_return co_await f->sync_all();         // flushes the buffer, then fsync
/// }
/// ```
///
/// **How it is fast.** Linux has no readiness notification for regular files, so Tokio
/// runs every file operation on the blocking pool: one thread hop per `read`. A
/// `tako::fs::file` instead:
/// - *reads* first with `preadv2(RWF_NOWAIT)` on the calling worker: data already in the
///   page cache is copied at once, no thread involved. The same call also fills the file's
///   buffer (read-ahead, `buffer_size()` bytes), so the next small reads are memory copies.
///   Only when the kernel says the data is not cached (EAGAIN), or the file does not
///   support RWF_NOWAIT (pipes, some filesystems), does the read go to the blocking pool,
///   which also reads ahead into the buffer.
/// - *writes* into the buffer and returns; a full buffer is written by one blocking-pool
///   job while the next writes fill a second buffer (write-behind). `flush()` writes what
///   is buffered and waits for it.
/// - *opens* a regular file of a local filesystem (ext4, xfs, btrfs, tmpfs) whose path is
///   in the dentry cache on the calling worker too, without creating or truncating
///   (`openat2` with `RESOLVE_CACHED`); anything else opens on the pool. docs/fs.md has
///   the details.
///
/// **Errors of buffered writes** (disk full, EFBIG, EIO) come back from the *next*
/// operation on the file — a `write`, `flush`, `seek`, `sync_all`, … — as with Tokio.
/// Call `flush()` (or `sync_all()`) before dropping a file whose writes matter, to see them.
///
/// **Destroying a file never loses written data.** Bytes still in the buffer, and a
/// write-behind job still running, are written out: the destructor hands the buffer to a
/// blocking-pool job that writes it after any job in flight, then closes the descriptor.
/// Outside a runtime, or when the runtime is shutting down, the destructor writes them
/// itself before closing. Errors of those last writes cannot be reported to anyone: they
/// are dropped. (Tokio's `File` can lose a write in flight on drop; tako's cannot.)
///
/// **One operation at a time.** A file has one cursor and one buffer: do not start an
/// operation while another on the same file is suspended (as Tokio's `&mut self`). A file
/// may move between tasks and threads between operations.
///
/// **Cancel safety.** `read` and `write` are cancel-safe: a read cancelled while the pool
/// reads keeps what the pool read in the buffer, and the next `read` returns it; a write
/// cancelled while waiting for a previous write-behind took none of its bytes. `flush`,
/// `sync_all`, `sync_data`, `set_len`, `set_permissions`, `metadata` and `try_clone`,
/// cancelled, still complete on the pool (a flush still writes). `read_exact` and
/// `write_all` are not cancel-safe (part of the data may have been read or taken). `seek`
/// cancelled while flushing leaves the position unchanged.

#include <sys/stat.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "tako/fs/error.hpp"
#include "tako/fs/metadata.hpp"
#include "tako/fs/open_options.hpp"
#include "tako/io/result.hpp"
#include "tako/join_handle.hpp"
#include "tako/task.hpp"

namespace tako::fs {

/// Where `file::seek` moves the cursor (std's `SeekFrom`).
class seek_from {
public:
    /// `offset` bytes from the start of the file.
    static seek_from start(std::uint64_t offset) noexcept {
        return {SEEK_SET, static_cast<std::int64_t>(offset)};
    }
    /// `offset` bytes from the end (usually negative or 0).
    static seek_from end(std::int64_t offset) noexcept { return {SEEK_END, offset}; }
    /// `offset` bytes from the current position.
    static seek_from current(std::int64_t offset) noexcept { return {SEEK_CUR, offset}; }

    [[nodiscard]] int whence() const noexcept { return whence_; }
    [[nodiscard]] std::int64_t offset() const noexcept { return offset_; }

private:
    seek_from(int whence, std::int64_t offset) noexcept : whence_(whence), offset_(offset) {}
    int whence_;
    std::int64_t offset_;
};

namespace detail {
/// A file's byte buffer: read-ahead bytes [pos, len), or pending writes [0, len).
struct file_buffer {
    std::unique_ptr<std::byte[]> data;
    std::size_t capacity = 0;
    std::size_t pos = 0;
    std::size_t len = 0;
};
/// What a blocking-pool job of a file gives back: its buffer (read into, or written out)
/// and the syscall's outcome.
struct file_job_result {
    file_buffer buf;
    io::result<std::size_t> n;
    bool was_read = false;
    struct ::stat st {}; ///< filled by an fstat job
};
struct file_core; // the descriptor, shared with jobs in flight (src/fs/file_core.hpp)
enum class file_op : unsigned char;
} // namespace detail

/// An open file. Movable, not copyable; `try_clone` gives a second handle.
class file {
public:
    /// The buffer size a new file starts with: 64 KiB of read-ahead / write batching.
    static constexpr std::size_t default_buffer_size = 64 * 1024;
    /// The most one read or write moves in one call (and one blocking-pool trip), as
    /// Tokio's `DEFAULT_MAX_BUF_SIZE`: 2 MiB.
    static constexpr std::size_t max_io_size = 2 * 1024 * 1024;

    /// A closed file: every operation fails with `io::errc::closed`.
    file() noexcept;
    file(file&&) noexcept;
    file& operator=(file&&) noexcept;
    /// Writes out buffered bytes (see the file comment: never lost) and closes.
    ~file();

    /// Opens `path` read-only (at most one blocking-pool trip; see `open_options::open`).
    [[nodiscard]] static task<result<file>> open(std::filesystem::path path);
    /// Opens `path` write-only, creating it or truncating it to 0 bytes.
    [[nodiscard]] static task<result<file>> create(std::filesystem::path path);
    /// Creates `path` and opens it read-write; `file_exists` if it exists.
    [[nodiscard]] static task<result<file>> create_new(std::filesystem::path path);
    /// Options to open with (`file::options().read(true).write(true).open(p)`).
    [[nodiscard]] static open_options options() noexcept { return {}; }
    /// Adopts an open descriptor (a regular file, pipe, device …), named `path` in
    /// `path()`; the file closes it.
    [[nodiscard]] static file from_fd(int fd, std::filesystem::path path = {});

    /// Reads at most `buf.size()` bytes (and at most `max_io_size`); 0 at end of file or
    /// for an empty `buf`. From the buffer if it holds read-ahead bytes, else from the
    /// page cache on this thread, else on the blocking pool. Pending writes are flushed
    /// first. Cancel-safe (see the file comment).
    [[nodiscard]] task<io::result<std::size_t>> read(std::span<std::byte> buf);
    /// `read` into chars.
    [[nodiscard]] task<io::result<std::size_t>> read(std::span<char> buf) {
        return read(std::as_writable_bytes(buf));
    }
    /// Fills `buf` entirely; `io::errc::unexpected_eof` if the file ends first. Not
    /// cancel-safe.
    [[nodiscard]] task<io::result<void>> read_exact(std::span<std::byte> buf);
    /// Takes at least one byte of a non-empty `buf` into the buffer (or into a write-behind
    /// job when `buf` is larger than the buffer) and says how many; the bytes reach the
    /// file later (see `flush`). Errors of earlier write-behinds are returned here.
    /// Cancel-safe.
    [[nodiscard]] task<io::result<std::size_t>> write(std::span<const std::byte> buf);
    /// Takes all of `buf` (see `write`). Not cancel-safe.
    [[nodiscard]] task<io::result<void>> write_all(std::span<const std::byte> buf);
    /// `write_all` of text. Not cancel-safe.
    [[nodiscard]] task<io::result<void>> write_all(std::string_view text) {
        return write_all(std::as_bytes(std::span(text.data(), text.size())));
    }
    /// Writes out everything buffered (one blocking-pool trip, none if nothing is pending)
    /// and waits for write-behinds; returns the first write error. Does not fsync (see
    /// `sync_all`). Cancelled, the writes still happen.
    [[nodiscard]] task<io::result<void>> flush();
    /// Moves the cursor; the new position from the start. Flushes pending writes first
    /// and drops read-ahead bytes. `invalid_argument` for a position before the start.
    [[nodiscard]] task<io::result<std::uint64_t>> seek(seek_from pos);
    /// The cursor's position from the start (read-ahead accounted for). Flushes pending
    /// writes first.
    [[nodiscard]] task<io::result<std::uint64_t>> stream_position();
    /// Flushes, then fsync(2): data and metadata are on the device. One trip.
    [[nodiscard]] task<io::result<void>> sync_all();
    /// Flushes, then fdatasync(2): data (and the metadata needed to read it). One trip.
    [[nodiscard]] task<io::result<void>> sync_data();
    /// Flushes, then truncates or extends the file to `size` bytes (ftruncate(2)); the
    /// cursor does not move. One trip.
    [[nodiscard]] task<io::result<void>> set_len(std::uint64_t size);
    /// The file's attributes (fstat(2)), after flushing pending writes so that `len()`
    /// counts them.
    [[nodiscard]] task<io::result<file_metadata>> metadata();
    /// Changes the permission bits (fchmod(2)).
    [[nodiscard]] task<io::result<void>> set_permissions(std::filesystem::perms perms);
    /// A second handle to the same open file (dup(2)): they share the cursor and the
    /// open flags. Flushes pending writes and gives back read-ahead first, so the clone
    /// starts where this file's reader is. Each handle has its own buffer: to read one
    /// file from two handles, use separate `open`s.
    [[nodiscard]] task<io::result<file>> try_clone();

    /// The path the file was opened with (empty for `from_fd` without one).
    [[nodiscard]] const std::filesystem::path& path() const noexcept;
    /// The descriptor, still owned by the file. Its kernel cursor is ahead of the file's
    /// position by the read-ahead bytes, and behind it by the pending writes.
    [[nodiscard]] int native_handle() const noexcept;
    [[nodiscard]] bool is_open() const noexcept { return core_ != nullptr; }
    /// The read-ahead / write-batching buffer size (default 64 KiB). 0 turns buffering
    /// off: each read asks the kernel for exactly what was asked, each write is one
    /// write-behind job. Takes effect at the next refill.
    void set_buffer_size(std::size_t bytes) noexcept {
        buffer_size_ = bytes < max_io_size ? bytes : max_io_size;
    }
    [[nodiscard]] std::size_t buffer_size() const noexcept { return buffer_size_; }

private:
    explicit file(std::shared_ptr<detail::file_core> core) noexcept;
    friend class open_options;

    /// Waits for the job in flight, if any, and takes back its buffer: a read's bytes
    /// become read-ahead, a write's buffer becomes the spare. The job's outcome (0 bytes
    /// when nothing was in flight).
    task<io::result<detail::file_job_result>> settle();
    /// Starts one blocking-pool job: write `pending` out, then `op`.
    void start(detail::file_op op, std::uint64_t arg, detail::file_buffer pending);
    /// settle(), then one job that writes the pending bytes and does `op`, and its outcome.
    task<io::result<detail::file_job_result>> run(detail::file_op op, std::uint64_t arg);
    /// settle(), then writes out the pending bytes and waits: afterwards nothing is in
    /// flight and nothing is buffered for writing (read-ahead may remain).
    task<io::result<void>> drain();
    /// Hands the buffered writes to a write-behind job (after the one in flight).
    task<io::result<void>> write_behind();
    /// Gives back read-ahead bytes (moves the kernel cursor back over them).
    io::result<void> drop_read_ahead() noexcept;
    /// Copies read-ahead bytes to `out`; how many.
    std::size_t take_read_ahead(std::span<std::byte> out) noexcept;
    /// One preadv2(RWF_NOWAIT) into `out` and the read-ahead buffer; empty when the data
    /// is not in the page cache (or the file cannot do it): then the pool must read.
    std::optional<io::result<std::size_t>> read_now(std::span<std::byte> out) noexcept;

    std::shared_ptr<detail::file_core> core_;
    detail::file_buffer buf_;   ///< read-ahead [pos, len), or pending writes [0, len)
    detail::file_buffer spare_; ///< the other write buffer, back from a write-behind
    join_handle<detail::file_job_result> inflight_;
    std::size_t buffer_size_ = default_buffer_size;
    bool writing_ = false; ///< buf_ holds pending writes (else read-ahead, or nothing)
    bool nowait_ = true;   ///< preadv2(RWF_NOWAIT) works on this file (until it says no)
};

} // namespace tako::fs
