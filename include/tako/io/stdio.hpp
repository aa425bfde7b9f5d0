#pragma once
/// \file
/// Async standard input, output and error (Tokio's `io::stdin`, `stdout`, `stderr`).
///
/// ```cpp
/// #include <tako/io/stdio.hpp>
/// #include <tako/io/util.hpp>
///
/// // cat: standard input to standard output.
/// tako::task<int> cat() {
///     auto in = tako::io::stdin();
///     auto out = tako::io::stdout();
///     std::array<std::byte, 4096> buf;
///     for (;;) {
///         auto n = co_await in.read(buf);
///         if (!n) co_return 1;
///         if (*n == 0) co_return 0;
///         if (!co_await tako::io::write_all(out, std::span(buf).first(*n))) co_return 1;
///     }
/// }
/// ```
///
/// **How each descriptor is served.** Descriptors 0, 1 and 2 are shared with the parent
/// process (the shell, the other end of a pipeline), and `O_NONBLOCK` is a flag of the
/// shared *open file description*: setting it on our descriptor would make the shell's
/// reads from the same terminal fail with EAGAIN, and would outlive the program if it
/// crashed. So tako never changes the flags of 0, 1 or 2:
///
/// - a **pipe, FIFO or terminal** is opened anew through `/proc/self/fd/N`, which gives a
///   new open file description of the same pipe or terminal; that one is made non-blocking
///   and registered with the I/O driver (`stdio_backend::driver`). Nobody else sees the flag.
/// - a **socket** (which `/proc` cannot reopen) is duplicated and registered with the
///   driver, and every read and write passes `MSG_DONTWAIT` instead of setting the flag.
/// - a **regular file**, `/dev/null` and anything the driver refuses (or when `/proc` is not
///   mounted) is read and written on the blocking pool, one `read(2)` / `write(2)` per call
///   (`stdio_backend::blocking_pool`).
///
/// Each `stdin()` / `stdout()` / `stderr()` call opens its own handle (its own descriptor
/// on the driver path). Output is not buffered by tako (wrap it in `io::buf_writer`), and
/// it does not go through C's `stdout` buffer: flush `std::printf` output first when you
/// mix the two. A write to a pipe whose reader is gone raises SIGPIPE, as a plain
/// `write(2)` would (a command-line tool then ends, as `cat` does).
///
/// **Cancel safety.** On the driver path `read` and `write` are cancel-safe (nothing was
/// read or written). On the blocking pool a started `read(2)` cannot be interrupted: a
/// cancelled `read` leaves it running, and the bytes it gets are returned by the next
/// `read` (nothing is lost); a cancelled `write` may still happen, and the next `write`
/// waits for it first (the order of bytes is kept).

#include <cstddef>
#include <memory>
#include <span>

#include "tako/io/result.hpp"
#include "tako/task.hpp"

namespace tako::detail {
struct stdio_impl;
}

namespace tako::io {

/// Which mechanism serves a standard stream (see the file comment).
enum class stdio_backend : unsigned char {
    driver,        ///< non-blocking, through the I/O driver (pipes, FIFOs, terminals, sockets)
    blocking_pool, ///< one syscall per call on the blocking pool (files, /dev/null, ...)
};

/// The process's standard input. Move-only; satisfies `io::async_read`. Used by one task
/// at a time.
class stdin_stream {
public:
    /// Moves the handle; the moved-from one fails with `io::errc::closed`.
    stdin_stream(stdin_stream&&) noexcept;
    stdin_stream& operator=(stdin_stream&&) noexcept;
    /// Closes this handle's own descriptor (never 0, 1 or 2); a blocking job it started
    /// runs to its end.
    ~stdin_stream();

    /// Up to `buf.size()` bytes; 0 at end of input. Cancel-safe (see the file comment).
    [[nodiscard]] task<io::result<std::size_t>> read(std::span<std::byte> buf);
    /// How this handle is served.
    [[nodiscard]] stdio_backend backend() const noexcept;

private:
    friend stdin_stream stdin();
    explicit stdin_stream(std::unique_ptr<detail::stdio_impl> impl) noexcept;
    std::unique_ptr<detail::stdio_impl> impl_;
};

/// The process's standard output or error. Move-only; satisfies `io::async_write`. Used by
/// one task at a time.
class stdout_stream {
public:
    /// Moves the handle; the moved-from one fails with `io::errc::closed`.
    stdout_stream(stdout_stream&&) noexcept;
    stdout_stream& operator=(stdout_stream&&) noexcept;
    /// Closes this handle's own descriptor (never 0, 1 or 2); a blocking job it started
    /// runs to its end.
    ~stdout_stream();

    /// Writes some of `buf` (at least one byte unless it fails). Cancel safety: see the
    /// file comment.
    [[nodiscard]] task<io::result<std::size_t>> write(std::span<const std::byte> buf);
    /// How this handle is served.
    [[nodiscard]] stdio_backend backend() const noexcept;

private:
    friend stdout_stream stdout();
    friend stdout_stream stderr();
    explicit stdout_stream(std::unique_ptr<detail::stdio_impl> impl) noexcept;
    std::unique_ptr<detail::stdio_impl> impl_;
};

/// A handle on descriptor 0. Call it inside a runtime (the driver path registers there).
[[nodiscard]] stdin_stream stdin();
/// A handle on descriptor 1.
[[nodiscard]] stdout_stream stdout();
/// A handle on descriptor 2.
[[nodiscard]] stdout_stream stderr();

} // namespace tako::io
