// Standard input, output and error: a reopened (pipe, FIFO, terminal) or duplicated
// (socket) descriptor on the I/O driver, or the blocking pool (include/tako/io/stdio.hpp).

#include "tako/io/stdio.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "tako/blocking.hpp"
#include "tako/detail/io_source.hpp"
#include "tako/join_handle.hpp"

namespace tako::detail {

/// Bytes one blocking read asks for at most.
constexpr std::size_t blocking_read_max = 64 * 1024;

struct stdio_impl {
    int fd = -1; ///< 0, 1 or 2: used by the blocking path, never closed or changed
    io::stdio_backend backend = io::stdio_backend::blocking_pool;
    bool socket = false; ///< driver path on a socket: recv/send with MSG_DONTWAIT
    io_source source;    ///< driver path: our own descriptor, registered

    // Blocking path. A job outlives a cancelled call and is picked up by the next one.
    std::optional<join_handle<io::result<std::vector<std::byte>>>> pending_read;
    std::vector<std::byte> leftover; ///< bytes a read got beyond what its caller asked
    std::size_t leftover_pos = 0;
    std::optional<join_handle<io::result<std::size_t>>> pending_write;
};

namespace {

io::result<std::size_t> errno_result() {
    return std::unexpected(std::error_code(errno, std::system_category()));
}

/// A descriptor of our own for `fd`, on the driver, or nothing (then: the blocking pool).
std::unique_ptr<stdio_impl> open_stdio(int fd, bool output) {
    auto impl = std::make_unique<stdio_impl>();
    impl->fd = fd;
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        return impl; // the blocking path reports EBADF on use
    }
    int own = -1;
    if (S_ISSOCK(st.st_mode)) {
        // /proc cannot reopen a socket; a duplicate shares the flags, so it stays blocking
        // and every call passes MSG_DONTWAIT.
        own = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
        impl->socket = true;
    } else if (S_ISFIFO(st.st_mode) || (S_ISCHR(st.st_mode) && ::isatty(fd) == 1)) {
        // A new open file description of the same pipe or terminal: its O_NONBLOCK is ours.
        const std::string path = "/proc/self/fd/" + std::to_string(fd);
        own = ::open(path.c_str(),
                     (output ? O_WRONLY : O_RDONLY) | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    }
    if (own < 0) {
        impl->socket = false;
        return impl;
    }
    auto source = io_source::adopt(own, /*assume_ready=*/true);
    if (!source) {
        ::close(own);
        impl->socket = false;
        return impl;
    }
    impl->source = std::move(*source);
    impl->backend = io::stdio_backend::driver;
    return impl;
}

/// A join failure of a blocking job as an I/O error (the job itself never throws).
std::error_code join_failure() {
    return std::make_error_code(std::errc::io_error);
}

task<io::result<std::size_t>> blocking_read(stdio_impl& s, std::span<std::byte> buf) {
    if (buf.empty()) {
        co_return 0;
    }
    if (s.leftover_pos == s.leftover.size()) {
        if (!s.pending_read) {
            const int fd = s.fd;
            const std::size_t want = std::min(buf.size(), blocking_read_max);
            auto job = [fd, want]() -> io::result<std::vector<std::byte>> {
                std::vector<std::byte> got(want);
                for (;;) {
                    const long n = ::read(fd, got.data(), want);
                    if (n >= 0) {
                        got.resize(static_cast<std::size_t>(n));
                        return got;
                    }
                    if (errno != EINTR) {
                        return std::unexpected(std::error_code(errno, std::system_category()));
                    }
                }
            };
            s.pending_read.emplace(tako::spawn_blocking(std::move(job)));
        }
        // Cancelled here, the job keeps running and stays in `pending_read`.
        auto done = co_await *s.pending_read;
        s.pending_read.reset();
        if (!done) {
            co_return std::unexpected(join_failure());
        }
        if (!*done) {
            co_return std::unexpected(done->error());
        }
        s.leftover = std::move(**done);
        s.leftover_pos = 0;
        if (s.leftover.empty()) {
            co_return 0; // end of input
        }
    }
    const std::size_t n = std::min(buf.size(), s.leftover.size() - s.leftover_pos);
    std::memcpy(buf.data(), s.leftover.data() + s.leftover_pos, n);
    s.leftover_pos += n;
    co_return n;
}

task<io::result<std::size_t>> blocking_write(stdio_impl& s, std::span<const std::byte> buf) {
    if (s.pending_write) {
        // A cancelled write runs on; ours must come after it.
        (void)co_await *s.pending_write;
        s.pending_write.reset();
    }
    if (buf.empty()) {
        co_return 0;
    }
    const int fd = s.fd;
    auto job = [fd, data = std::vector<std::byte>(buf.begin(), buf.end())]() {
        for (;;) {
            const long n = ::write(fd, data.data(), data.size());
            if (n >= 0) {
                return io::result<std::size_t>(static_cast<std::size_t>(n));
            }
            if (errno != EINTR) {
                return errno_result();
            }
        }
    };
    s.pending_write.emplace(tako::spawn_blocking(std::move(job)));
    auto done = co_await *s.pending_write;
    s.pending_write.reset();
    if (!done) {
        co_return std::unexpected(join_failure());
    }
    co_return *done;
}

io_op transfer_op(const stdio_impl& s, bool output, const void* data, std::size_t len) {
    io_op op;
    if (s.socket) {
        op.op = output ? io_op::kind::send : io_op::kind::recv;
        op.flags = MSG_DONTWAIT;
    } else {
        op.op = output ? io_op::kind::write : io_op::kind::read;
    }
    op.buf = const_cast<void*>(data);
    op.len = len;
    return op;
}

} // namespace

} // namespace tako::detail

namespace tako::io {

using detail::io_direction;

stdin_stream::stdin_stream(std::unique_ptr<detail::stdio_impl> impl) noexcept
    : impl_(std::move(impl)) {}
stdin_stream::stdin_stream(stdin_stream&&) noexcept = default;
stdin_stream& stdin_stream::operator=(stdin_stream&&) noexcept = default;
stdin_stream::~stdin_stream() = default;

task<io::result<std::size_t>> stdin_stream::read(std::span<std::byte> buf) {
    if (!impl_) {
        co_return std::unexpected(make_error_code(errc::closed));
    }
    if (impl_->backend == stdio_backend::blocking_pool) {
        co_return co_await detail::blocking_read(*impl_, buf);
    }
    co_return co_await impl_->source.submit(
        io_direction::read, detail::transfer_op(*impl_, false, buf.data(), buf.size()));
}

stdio_backend stdin_stream::backend() const noexcept {
    return impl_ ? impl_->backend : stdio_backend::blocking_pool;
}

stdout_stream::stdout_stream(std::unique_ptr<detail::stdio_impl> impl) noexcept
    : impl_(std::move(impl)) {}
stdout_stream::stdout_stream(stdout_stream&&) noexcept = default;
stdout_stream& stdout_stream::operator=(stdout_stream&&) noexcept = default;
stdout_stream::~stdout_stream() = default;

task<io::result<std::size_t>> stdout_stream::write(std::span<const std::byte> buf) {
    if (!impl_) {
        co_return std::unexpected(make_error_code(errc::closed));
    }
    if (impl_->backend == stdio_backend::blocking_pool) {
        co_return co_await detail::blocking_write(*impl_, buf);
    }
    co_return co_await impl_->source.submit(
        io_direction::write, detail::transfer_op(*impl_, true, buf.data(), buf.size()));
}

stdio_backend stdout_stream::backend() const noexcept {
    return impl_ ? impl_->backend : stdio_backend::blocking_pool;
}

stdin_stream stdin() {
    return stdin_stream(detail::open_stdio(STDIN_FILENO, false));
}

stdout_stream stdout() {
    return stdout_stream(detail::open_stdio(STDOUT_FILENO, true));
}

stdout_stream stderr() {
    return stdout_stream(detail::open_stdio(STDERR_FILENO, true));
}

} // namespace tako::io
