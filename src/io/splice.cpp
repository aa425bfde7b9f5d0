// io::copy's splice(2) path: socket (or pipe) → pipe → socket (or pipe), with the waits on
// duplicates of the two descriptors registered with the I/O driver for this copy alone.

#include "tako/detail/splice.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <optional>
#include <utility>

#include "tako/io/async_fd.hpp"

namespace tako::detail {

namespace {

/// The pipe capacity asked for: 1 MiB (Linux's default pipe-max-size) instead of the
/// default 64 KiB cuts the proxy's CPU per GiB by about a third (bench/README.md, *Streams
/// and copy*): fewer, larger splices. Past the user's pipe-user-pages-soft limit the kernel
/// refuses to grow the pipe, and the copy goes on with whatever capacity it has.
constexpr int wanted_pipe_capacity = 1 << 20;

/// The two ends of a non-blocking pipe, closed on destruction.
struct pipe_pair {
    int r = -1;
    int w = -1;
    std::size_t capacity = 0; ///< bytes one splice into the pipe may move
    pipe_pair() = default;
    pipe_pair(const pipe_pair&) = delete;
    pipe_pair& operator=(const pipe_pair&) = delete;
    ~pipe_pair() {
        if (r >= 0) {
            ::close(r);
        }
        if (w >= 0) {
            ::close(w);
        }
    }
    bool open() noexcept {
        int fds[2];
        if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0) {
            return false;
        }
        r = fds[0];
        w = fds[1];
        (void)::fcntl(w, F_SETPIPE_SZ, wanted_pipe_capacity);
        const int size = ::fcntl(w, F_GETPIPE_SZ);
        capacity = size > 0 ? static_cast<std::size_t>(size) : 4096;
        return true;
    }
};

/// A duplicate of `fd` registered with the driver, or nothing when the driver refuses it
/// (a regular file) or descriptors ran out.
std::optional<io::async_fd> watch_duplicate(int fd) noexcept {
    const int dup = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (dup < 0) {
        return std::nullopt;
    }
    // The duplicate shares the file status flags: tako's sockets are O_NONBLOCK already,
    // and a descriptor that was not is made so (it is the same open file).
    auto watched = io::async_fd::create(dup);
    if (!watched) {
        ::close(dup);
        return std::nullopt;
    }
    return std::move(*watched);
}

/// True unless the process ignores SIGPIPE (then splice needs no guard against it).
bool sigpipe_raised() noexcept {
    struct sigaction current {};
    return ::sigaction(SIGPIPE, nullptr, &current) != 0 || current.sa_handler != SIG_IGN;
}

/// splice(2), non-blocking. With `guard_sigpipe`, SIGPIPE is blocked around the call: a
/// socket whose peer is gone raises SIGPIPE from inside splice (it has no MSG_NOSIGNAL),
/// and that signal is taken back here, so splice behaves as tako's sends do (`broken_pipe`,
/// no signal). A SIGPIPE the thread had blocked already is left alone.
long splice_once(int in, int out, std::size_t len, bool guard_sigpipe) noexcept {
    constexpr unsigned flags = SPLICE_F_MOVE | SPLICE_F_NONBLOCK;
    if (!guard_sigpipe) {
        return ::splice(in, nullptr, out, nullptr, len, flags);
    }
    sigset_t pipe_only;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    sigset_t old;
    pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
    const long n = ::splice(in, nullptr, out, nullptr, len, flags);
    const int err = errno;
    if (n < 0 && err == EPIPE && sigismember(&old, SIGPIPE) == 0) {
        const timespec zero{};
        while (sigtimedwait(&pipe_only, nullptr, &zero) < 0 && errno == EINTR) {
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    errno = err;
    return n;
}

/// `op(fd)` now, retried on EINTR: bytes moved, or the errno (EAGAIN included).
template <class Op>
io::result<std::size_t> attempt(int fd, Op& op) noexcept {
    for (;;) {
        const long n = op(fd);
        if (n >= 0) {
            return static_cast<std::size_t>(n);
        }
        if (errno != EINTR) {
            return std::unexpected(std::error_code(errno, std::system_category()));
        }
    }
}

/// After `op` would have blocked: waits until `fd` is ready for `dir` (reading or writing)
/// and retries, until it moves bytes or fails otherwise.
template <class Op>
task<io::result<std::size_t>> wait_and_retry(io::async_fd& fd, bool writing, Op op) {
    for (;;) {
        auto wait = writing ? fd.writable() : fd.readable();
        auto ready = co_await std::move(wait);
        if (!ready) {
            co_return std::unexpected(ready.error());
        }
        auto n = ready->try_io(op);
        if (n) {
            co_return static_cast<std::size_t>(*n);
        }
        if (n.error() != std::errc::operation_would_block) {
            co_return std::unexpected(n.error());
        }
    }
}

/// splice(2) refuses this pair of files.
bool splice_refused(const std::error_code& e) noexcept {
    return e == std::errc::invalid_argument || e == std::errc::function_not_supported ||
           e == std::errc::operation_not_supported;
}

/// Reads what is left in the pipe (the output refused splice after the input filled it).
std::vector<std::byte> drain_pipe(int r, std::size_t n) {
    std::vector<std::byte> out(n);
    std::size_t got = 0;
    while (got < n) {
        const long k = ::read(r, out.data() + got, n - got);
        if (k <= 0) {
            if (k < 0 && errno == EINTR) {
                continue;
            }
            break;
        }
        got += static_cast<std::size_t>(k);
    }
    out.resize(got);
    return out;
}

} // namespace

task<io::result<splice_result>> splice_copy(int in_fd, int out_fd) {
    splice_result res;
    pipe_pair pipe;
    if (!pipe.open()) {
        res.unsupported = true;
        co_return res;
    }
    auto in = watch_duplicate(in_fd);
    auto out = watch_duplicate(out_fd);
    if (!in || !out) {
        res.unsupported = true;
        co_return res;
    }
    const bool guard = sigpipe_raised();
    auto fill = [&pipe, guard](int fd) { return splice_once(fd, pipe.w, pipe.capacity, guard); };
    for (;;) {
        // The pipe is empty here, so EAGAIN means the input has nothing to read.
        auto filled = attempt(in->fd(), fill);
        if (!filled && filled.error() == std::errc::operation_would_block) {
            filled = co_await wait_and_retry(*in, false, fill);
        }
        if (!filled) {
            if (res.bytes == 0 && splice_refused(filled.error())) {
                res.unsupported = true;
                co_return res;
            }
            co_return std::unexpected(filled.error());
        }
        std::size_t in_pipe = *filled;
        if (in_pipe == 0) {
            co_return res; // end of input
        }
        // The pipe holds data here, so EAGAIN means the output cannot take more yet.
        while (in_pipe > 0) {
            auto drain = [&pipe, &in_pipe, guard](int fd) {
                return splice_once(pipe.r, fd, in_pipe, guard);
            };
            auto moved = attempt(out->fd(), drain);
            if (!moved && moved.error() == std::errc::operation_would_block) {
                moved = co_await wait_and_retry(*out, true, drain);
            }
            if (!moved) {
                if (res.bytes == 0 && splice_refused(moved.error())) {
                    res.unsupported = true;
                    res.leftover = drain_pipe(pipe.r, in_pipe);
                    co_return res;
                }
                co_return std::unexpected(moved.error());
            }
            in_pipe -= *moved;
            res.bytes += *moved;
        }
    }
}

} // namespace tako::detail
