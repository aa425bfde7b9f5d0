#pragma once
/// \file
/// The ends of a child's standard streams that the parent keeps: `child_stdin` (a
/// `pipe_writer`) and `child_stdout` / `child_stderr` (`pipe_reader`s), Tokio's
/// `ChildStdin` / `ChildStdout` / `ChildStderr`.
///
/// ```cpp
/// #include <tako/process.hpp>
///
/// tako::task<std::string> rot_thirteen(std::string text) {
///     tako::process::command tr("tr");
///     tr.args({"a-zA-Z", "n-za-mN-ZA-M"})
///         .stdin(tako::process::stdio::piped)
///         .stdout(tako::process::stdio::piped);
///     auto child = tr.spawn();
///     if (!child) co_return "";
///     auto in = child->take_stdin();        // ours now: closing it is the child's EOF
///     (void)co_await tako::io::write_all(*in, text);
///     in.reset();
///     auto out = co_await child->wait_with_output();
///     co_return out ? out->stdout : "";
/// }
/// ```
///
/// Both are `io::async_fd`s, registered with the runtime's I/O driver: reads and writes suspend the
/// task, never the thread. A `pipe_writer` satisfies `io::async_write`, a `pipe_reader`
/// `io::async_read`. Writing to a pipe whose reader (the child) is gone gives
/// `broken_pipe`; SIGPIPE is never raised (it is blocked around the write and a SIGPIPE
/// that write caused is consumed). Destroying either end closes it.
///
/// **Cancel safety.** `read` and `write` are cancel-safe: cancelled while suspended, they
/// transferred nothing. `io::write_all` / `io::read_exact` on them are not (part of the
/// data may have moved).

#include <cstddef>
#include <span>
#include <string_view>

#include "tako/io/async_fd.hpp"
#include "tako/io/result.hpp"
#include "tako/task.hpp"

namespace tako::process {

/// The write end of a pipe to a child's standard input.
class pipe_writer {
public:
    /// A closed pipe: every operation fails with `io::errc::closed`.
    pipe_writer() noexcept = default;
    pipe_writer(pipe_writer&&) noexcept = default;
    pipe_writer& operator=(pipe_writer&&) noexcept = default;

    /// Writes some of `buf` once the pipe has room; how many bytes it took.
    /// `broken_pipe` once the child closed its end. Cancel-safe.
    [[nodiscard]] task<io::result<std::size_t>> write(std::span<const std::byte> buf);
    /// Closes the pipe: the child reads end of file. What `io::shutdown` calls.
    io::result<void> shutdown() noexcept {
        fd_ = io::async_fd();
        return {};
    }
    /// The descriptor (-1 once closed).
    [[nodiscard]] int fd() const noexcept { return fd_.fd(); }
    /// Adopts a pipe's write end (made non-blocking here); on failure `fd` stays the
    /// caller's.
    [[nodiscard]] static io::result<pipe_writer> from_fd(int fd) noexcept;

private:
    explicit pipe_writer(io::async_fd fd) noexcept : fd_(std::move(fd)) {}
    io::async_fd fd_;
};

/// The read end of a pipe from a child's standard output or error.
class pipe_reader {
public:
    /// A closed pipe: every operation fails with `io::errc::closed`.
    pipe_reader() noexcept = default;
    pipe_reader(pipe_reader&&) noexcept = default;
    pipe_reader& operator=(pipe_reader&&) noexcept = default;

    /// Reads at most `buf.size()` bytes once some are there; 0 once every writer (the
    /// child and its own children) closed the pipe. Cancel-safe.
    [[nodiscard]] task<io::result<std::size_t>> read(std::span<std::byte> buf) {
        return fd_.read(buf);
    }
    /// Closes the pipe: the child's later writes fail with EPIPE (or SIGPIPE).
    void close() noexcept { fd_ = io::async_fd(); }
    /// The descriptor (-1 once closed).
    [[nodiscard]] int fd() const noexcept { return fd_.fd(); }
    /// Adopts a pipe's read end (made non-blocking here); on failure `fd` stays the
    /// caller's.
    [[nodiscard]] static io::result<pipe_reader> from_fd(int fd) noexcept;

private:
    explicit pipe_reader(io::async_fd fd) noexcept : fd_(std::move(fd)) {}
    io::async_fd fd_;
};

/// The parent's end of a child's standard input.
using child_stdin = pipe_writer;
/// The parent's end of a child's standard output.
using child_stdout = pipe_reader;
/// The parent's end of a child's standard error.
using child_stderr = pipe_reader;

} // namespace tako::process
