// The parent's ends of a child's standard streams.

#include "tako/process/pipe.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

namespace tako::process {

namespace {

/// write(2) that never raises SIGPIPE: the signal is blocked on this thread around the
/// call, and a SIGPIPE the call caused (EPIPE, none pending before) is consumed before the
/// mask is restored. SIGPIPE for a broken pipe is thread-directed, so it stays pending on
/// this thread and cannot reach another one.
long write_without_sigpipe(int fd, const void* buf, std::size_t len) noexcept {
    ::sigset_t pipe_only;
    ::sigemptyset(&pipe_only);
    ::sigaddset(&pipe_only, SIGPIPE);
    ::sigset_t old;
    ::pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
    ::sigset_t pending;
    ::sigpending(&pending);
    const bool was_pending = ::sigismember(&pending, SIGPIPE) == 1;
    const long n = ::write(fd, buf, len);
    const int saved = errno;
    if (n < 0 && saved == EPIPE && !was_pending) {
        const ::timespec zero{};
        while (::sigtimedwait(&pipe_only, nullptr, &zero) < 0 && errno == EINTR) {
        }
    }
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    errno = saved;
    return n;
}

} // namespace

io::result<pipe_writer> pipe_writer::from_fd(int fd) noexcept {
    auto a = io::async_fd::create(fd);
    if (!a) {
        return std::unexpected(a.error());
    }
    return pipe_writer(std::move(*a));
}

task<io::result<std::size_t>> pipe_writer::write(std::span<const std::byte> buf) {
    for (;;) {
        auto guard = co_await fd_.writable();
        if (!guard) {
            co_return std::unexpected(guard.error());
        }
        auto n = guard->try_io(
            [buf](int fd) { return write_without_sigpipe(fd, buf.data(), buf.size()); });
        if (n) {
            co_return static_cast<std::size_t>(*n);
        }
        if (n.error() != std::errc::operation_would_block) {
            co_return std::unexpected(n.error());
        }
    }
}

io::result<pipe_reader> pipe_reader::from_fd(int fd) noexcept {
    auto a = io::async_fd::create(fd);
    if (!a) {
        return std::unexpected(a.error());
    }
    return pipe_reader(std::move(*a));
}

} // namespace tako::process
