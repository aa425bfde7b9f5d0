#pragma once
/// \file
/// `tako::io::async_fd`: wait for readiness on any descriptor — an eventfd, a timerfd, a
/// pipe, another library's socket (`tokio::io::unix::AsyncFd`).
///
/// ```cpp
/// #include <tako/io/async_fd.hpp>
/// #include <sys/eventfd.h>
/// #include <unistd.h>
///
/// tako::task<void> wait_for_event() {
///     auto fd = tako::io::async_fd::create(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
///     if (!fd) co_return;
///     for (;;) {
///         auto guard = co_await fd->readable();      // io::result<async_fd::ready_guard>
///         if (!guard) co_return;
///         std::uint64_t count = 0;
///         auto n = guard->try_io([&](int f) { return ::read(f, &count, sizeof count); });
///         if (n) break;                              // got the event
///         // would_block: try_io cleared the readiness; the next readable() waits
///     }
/// }
/// ```
///
/// The descriptor is registered edge-triggered with the runtime's I/O driver; `async_fd`
/// owns it (closes it when destroyed) unless `release()` gives it back. The readiness a
/// guard reports stays set until the guard clears it: call a syscall through `try_io`
/// (which clears readiness on EAGAIN) or call `clear_ready()` yourself when the syscall
/// would block, or the next wait completes at once without new data.
///
/// **Cancel safety.** `readable()`, `writable()`, `read` and `write` are cancel-safe.

#include <sys/types.h>

#include <cerrno>
#include <concepts>
#include <cstdint>
#include <span>
#include <type_traits>

#include "tako/detail/io_source.hpp"
#include "tako/io/ready.hpp"
#include "tako/io/result.hpp"
#include "tako/task.hpp"

namespace tako::io {

class async_fd {
public:
    /// Proof that the descriptor was reported ready in one direction. Move-only; does not
    /// own the descriptor (the `async_fd` must outlive it).
    class ready_guard {
    public:
        [[nodiscard]] ready_state ready() const noexcept {
            return ready_state{detail::io_source::bits_of(token_)};
        }
        /// The descriptor is no longer ready (a syscall returned EAGAIN): the next wait
        /// waits for a new edge. Does nothing if an edge arrived since the guard was made.
        void clear_ready() noexcept { fd_->source_.clear_ready(dir_, token_); }
        /// Keeps the readiness (the default when the guard is destroyed).
        void retain_ready() noexcept {}
        /// Runs `f(fd)`, a syscall wrapper returning a negative value with errno set on
        /// failure. EAGAIN clears the readiness and gives `operation_would_block`; another
        /// errno gives its error code; otherwise the result.
        template <class F>
        requires std::integral<std::invoke_result_t<F&, int>>
            io::result<std::invoke_result_t<F&, int>> try_io(F&& f) {
            for (;;) {
                const auto r = f(fd_->fd());
                if (r >= 0) {
                    return r;
                }
                if (errno == EAGAIN) {
                    clear_ready();
                    return std::unexpected(std::make_error_code(std::errc::operation_would_block));
                }
                if (errno != EINTR) {
                    return std::unexpected(std::error_code(errno, std::system_category()));
                }
            }
        }

    private:
        friend class async_fd;
        ready_guard(async_fd* fd, detail::io_direction d, std::uint64_t token) noexcept
            : fd_(fd), dir_(d), token_(token) {}
        async_fd* fd_;
        detail::io_direction dir_;
        std::uint64_t token_;
    };

    async_fd() noexcept = default;
    async_fd(async_fd&&) noexcept = default;
    async_fd& operator=(async_fd&&) noexcept = default;

    /// Makes `fd` non-blocking and registers it with the calling thread's runtime. On
    /// failure `fd` stays the caller's (a negative `fd` is `EBADF`).
    [[nodiscard]] static io::result<async_fd> create(int fd) noexcept;

    /// Waits until the driver reports the descriptor readable (or closed, or in error).
    [[nodiscard]] task<io::result<ready_guard>> readable();
    /// Waits until the driver reports the descriptor writable (or closed, or in error).
    [[nodiscard]] task<io::result<ready_guard>> writable();
    /// read(2) once the descriptor is readable; 0 at end of file.
    [[nodiscard]] task<io::result<std::size_t>> read(std::span<std::byte> buf);
    /// write(2) once the descriptor is writable (SIGPIPE is the process's business here:
    /// a pipe whose reader is gone raises it unless it is ignored).
    [[nodiscard]] task<io::result<std::size_t>> write(std::span<const std::byte> buf);

    [[nodiscard]] int fd() const noexcept { return source_.fd(); }
    /// Deregisters the descriptor and gives it back without closing it.
    [[nodiscard]] int release() noexcept { return source_.release(); }

private:
    explicit async_fd(detail::io_source s) noexcept : source_(std::move(s)) {}
    task<io::result<ready_guard>> wait(detail::io_direction d);
    detail::io_source source_;
};

} // namespace tako::io
