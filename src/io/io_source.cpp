// io_source: the epoll backend of the operation seam (docs/io-driver.md).

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>

#include "io/io_driver.hpp"
#include "runtime/scheduler.hpp"
#include "tako/detail/io_source.hpp"
#include "tako/time/timeout.hpp"

namespace tako::io {

namespace {
class io_category final : public std::error_category {
public:
    const char* name() const noexcept override { return "tako.io"; }
    std::string message(int c) const override {
        switch (static_cast<errc>(c)) {
        case errc::no_runtime:
            return "there is no tako runtime on this thread";
        case errc::io_disabled:
            return "the tako runtime was built without I/O (call enable_io() or enable_all() "
                   "on its builder)";
        case errc::wrong_runtime:
            return "the I/O resource belongs to another tako runtime";
        case errc::runtime_shut_down:
            return "the I/O resource's tako runtime has shut down";
        case errc::closed:
            return "the I/O resource is closed (moved from or closed)";
        case errc::invalid_address:
            return "invalid socket address (expected \"host:port\", \"a.b.c.d:port\", "
                   "\"[v6]:port\", or a non-empty Unix socket path without NUL bytes)";
        case errc::no_addresses:
            return "the name resolved to no usable address";
        case errc::unexpected_eof:
            return "the stream ended before the buffer was filled";
        case errc::write_zero:
            return "a write accepted no bytes";
        }
        return "unknown tako.io error";
    }
};
} // namespace

const std::error_category& category() noexcept {
    static const io_category c;
    return c;
}

} // namespace tako::io

namespace tako::detail {

namespace {

constexpr std::uint64_t bits_mask = 0xffff;

constexpr std::uint32_t wanted(io_direction d) noexcept {
    return d == io_direction::read ? io_ready::readable | io_ready::read_closed | io_ready::error
                                   : io_ready::writable | io_ready::write_closed | io_ready::error;
}

std::error_code last_error() noexcept {
    return {errno, std::system_category()};
}

// glibc's wrappers of read, write, recv and send are pthread cancellation points: each
// call switches asynchronous cancellation on and off around the syscall, about a third of
// an echo round trip's libc instructions (callgrind). A runtime's threads are never
// cancelled, so the hot transfers go to the kernel directly — except under a sanitizer,
// whose interceptors of these calls check the buffers (ASan) and see the happens-before
// edge through the socket (TSan).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define TAKO_RAW_SYSCALLS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define TAKO_RAW_SYSCALLS 0
#endif
#endif
#ifndef TAKO_RAW_SYSCALLS
#define TAKO_RAW_SYSCALLS 1
#endif

/// One stream transfer syscall (`recvfrom` / `sendto` without an address are recv / send).
long transfer(io_op::kind k, int fd, void* buf, std::size_t len, int flags) noexcept {
#if TAKO_RAW_SYSCALLS
    // Variadic: pass every integer as a long, the width the kernel reads.
    const auto a = [](int v) { return static_cast<long>(v); };
    switch (k) {
    case io_op::kind::read:
        return ::syscall(SYS_read, a(fd), buf, len);
    case io_op::kind::write:
        return ::syscall(SYS_write, a(fd), buf, len);
    case io_op::kind::recv:
        return ::syscall(SYS_recvfrom, a(fd), buf, len, a(flags), nullptr, nullptr);
    default: // send
        return ::syscall(SYS_sendto, a(fd), buf, len, a(flags), nullptr, 0L);
    }
#else
    switch (k) {
    case io_op::kind::read:
        return ::read(fd, buf, len);
    case io_op::kind::write:
        return ::write(fd, buf, len);
    case io_op::kind::recv:
        return ::recv(fd, buf, len, flags);
    default: // send
        return ::send(fd, buf, len, flags);
    }
#endif
}

/// Runs `op` on `fd` once: the syscall's result, or -1 with errno.
long perform(int fd, io_op& op) noexcept {
    switch (op.op) {
    case io_op::kind::read:
    case io_op::kind::write:
    case io_op::kind::recv:
        return transfer(op.op, fd, op.buf, op.len, op.flags);
    case io_op::kind::send:
        return transfer(op.op, fd, op.buf, op.len, op.flags | MSG_NOSIGNAL);
    case io_op::kind::readv:
        return ::readv(fd, op.iov, op.iovcnt);
    case io_op::kind::writev: {
        ::msghdr m{};
        m.msg_iov = const_cast<::iovec*>(op.iov);
        m.msg_iovlen = static_cast<std::size_t>(op.iovcnt);
        const long n = ::sendmsg(fd, &m, op.flags | MSG_NOSIGNAL);
        if (n < 0 && errno == ENOTSOCK) {
            return ::writev(fd, op.iov, op.iovcnt);
        }
        return n;
    }
    case io_op::kind::accept:
        return ::accept4(fd, op.addr, op.addrlen, SOCK_NONBLOCK | SOCK_CLOEXEC);
    case io_op::kind::recvfrom:
        return ::recvfrom(fd, op.buf, op.len, op.flags, op.addr, op.addrlen);
    case io_op::kind::sendto:
        return ::sendto(fd, op.buf, op.len, op.flags | MSG_NOSIGNAL, op.addr,
                        op.addrlen != nullptr ? *op.addrlen : 0);
    }
    errno = EINVAL;
    return -1;
}

/// The bytes a stream transfer asked for, or 0 for operations where a short result says
/// nothing about readiness (datagrams, peeks, accept).
std::size_t stream_request(const io_op& op) noexcept {
    switch (op.op) {
    case io_op::kind::read:
    case io_op::kind::write:
    case io_op::kind::send:
        return op.len;
    case io_op::kind::recv:
        return (op.flags & MSG_PEEK) != 0 ? 0 : op.len;
    case io_op::kind::readv:
    case io_op::kind::writev: {
        std::size_t total = 0;
        for (int i = 0; i < op.iovcnt; ++i) {
            total += op.iov[i].iov_len;
        }
        return total;
    }
    default:
        return 0;
    }
}

/// Waits for readiness in `dir` on a registration: completes at once if the readiness word
/// has a bit of `dir` set (spending budget), else links a wait node that the driver fires.
class readiness_awaiter {
public:
    readiness_awaiter(io_registration& r, io_direction d) noexcept : reg_(r), dir_(d) {}
    readiness_awaiter(const readiness_awaiter&) = delete;
    readiness_awaiter& operator=(const readiness_awaiter&) = delete;
    ~readiness_awaiter() {
        if (linked_) {
            std::lock_guard guard(reg_.lock);
            if (node_.is_linked()) {
                node_.unlink();
            }
        }
    }

    bool await_ready() noexcept {
        token_ = reg_.readiness.load(std::memory_order_acquire);
        return ((token_ & wanted(dir_)) != 0 || reg_.shut_down.load(std::memory_order_acquire)) &&
               consume_budget();
    }
    bool await_suspend(std::coroutine_handle<> h) noexcept {
        std::lock_guard guard(reg_.lock);
        token_ = reg_.readiness.load(std::memory_order_acquire);
        if ((token_ & wanted(dir_)) != 0 || reg_.shut_down.load(std::memory_order_acquire)) {
            return complete_or_yield(h);
        }
        node_.arm(h);
        (dir_ == io_direction::read ? reg_.readers : reg_.writers).push_back(node_);
        linked_ = true;
        return true;
    }
    std::uint64_t await_resume() noexcept {
        if (linked_) {
            linked_ = false; // the driver unlinked and fired us
            token_ = reg_.readiness.load(std::memory_order_acquire);
        }
        return token_;
    }

private:
    io_registration& reg_;
    io_direction dir_;
    bool linked_ = false;
    std::uint64_t token_ = 0;
    wait_node node_;
};

} // namespace

io::result<io_source> io_source::adopt(int fd, bool assume_ready) noexcept {
    auto driver = current_io_driver();
    if (!driver) {
        return std::unexpected(driver.error());
    }
    auto reg = (*driver)->add(fd, assume_ready);
    if (!reg) {
        return std::unexpected(reg.error());
    }
    io_source s;
    s.fd_ = fd;
    s.reg_ = *reg;
    s.driver_ = std::move(*driver);
    return s;
}

std::error_code io_source::check_context() const noexcept {
    if (reg_ == nullptr) {
        return make_error_code(io::errc::closed);
    }
    runtime_core* core = tls_thread.runtime;
    if (core == nullptr) {
        return make_error_code(io::errc::no_runtime);
    }
    if (core->io.get() != driver_.get()) {
        return make_error_code(io::errc::wrong_runtime);
    }
    if (reg_->shut_down.load(std::memory_order_acquire)) {
        return make_error_code(io::errc::runtime_shut_down);
    }
    return {};
}

task<io::result<std::size_t>> io_source::submit(io_direction dir, io_op op) {
    if (auto e = check_context()) {
        co_return std::unexpected(e);
    }
    for (;;) {
        const std::uint64_t token = co_await readiness_awaiter(*reg_, dir);
        if (reg_->shut_down.load(std::memory_order_acquire)) {
            co_return std::unexpected(make_error_code(io::errc::runtime_shut_down));
        }
        const long n = perform(fd_, op);
        if (n >= 0) {
            // A short stream transfer drained the receive queue (or filled the send
            // buffer): the next one would get EAGAIN, so skip that syscall and wait for the
            // next edge. Safe for the same reason as after EAGAIN: the clear fails if an
            // edge arrived since `token`.
            if (n > 0 && static_cast<std::size_t>(n) < stream_request(op)) {
                clear_ready(dir, token);
            }
            co_return static_cast<std::size_t>(n);
        }
        if (errno == EAGAIN) {
            clear_ready(dir, token);
        } else if (errno != EINTR) {
            co_return std::unexpected(last_error());
        }
    }
}

io::result<std::size_t> io_source::try_submit(io_direction dir, io_op op) noexcept {
    return attempt(dir, op, false);
}

io::result<std::size_t> io_source::submit_now(io_direction dir, io_op op) noexcept {
    if (!has_budget()) {
        return std::unexpected(std::make_error_code(std::errc::operation_would_block));
    }
    auto r = attempt(dir, op, true);
    if (r) {
        (void)consume_budget();
    }
    return r;
}

io::result<std::size_t> io_source::attempt(io_direction dir, io_op op,
                                           bool clear_after_short) noexcept {
    if (auto e = check_context()) {
        return std::unexpected(e);
    }
    for (;;) {
        const std::uint64_t token = reg_->readiness.load(std::memory_order_acquire);
        if ((token & wanted(dir)) == 0) {
            return std::unexpected(std::make_error_code(std::errc::operation_would_block));
        }
        const long n = perform(fd_, op);
        if (n >= 0) {
            // As in `submit`: a short stream transfer means the next one would block.
            if (clear_after_short && n > 0 && static_cast<std::size_t>(n) < stream_request(op)) {
                clear_ready(dir, token);
            }
            return static_cast<std::size_t>(n);
        }
        if (errno == EAGAIN) {
            clear_ready(dir, token);
            return std::unexpected(std::make_error_code(std::errc::operation_would_block));
        }
        if (errno != EINTR) {
            return std::unexpected(last_error());
        }
    }
}

task<io::result<std::uint64_t>> io_source::ready(io_direction dir) {
    if (auto e = check_context()) {
        co_return std::unexpected(e);
    }
    const std::uint64_t token = co_await readiness_awaiter(*reg_, dir);
    if (reg_->shut_down.load(std::memory_order_acquire)) {
        co_return std::unexpected(make_error_code(io::errc::runtime_shut_down));
    }
    co_return token;
}

void io_source::clear_ready(io_direction dir, std::uint64_t token) noexcept {
    if (reg_ == nullptr) {
        return;
    }
    // Only readable/writable clear: closed and error states are final.
    const std::uint64_t bit = dir == io_direction::read ? io_ready::readable : io_ready::writable;
    std::uint64_t cur = token;
    // Fails, leaving the word as it is, once the tick moved: a new edge arrived.
    while ((cur & ~bits_mask) == (token & ~bits_mask) && (cur & bit) != 0) {
        if (reg_->readiness.compare_exchange_weak(cur, cur & ~bit, std::memory_order_acq_rel,
                                                  std::memory_order_acquire)) {
            return;
        }
    }
}

void io_source::deregister() noexcept {
    if (reg_ != nullptr) {
        driver_->remove(std::exchange(reg_, nullptr));
    }
}

void io_source::close() noexcept {
    if (fd_ < 0) {
        return;
    }
    deregister();
    ::close(std::exchange(fd_, -1));
    std::exchange(driver_, nullptr)->descriptor_closed();
}

int io_source::release() noexcept {
    deregister();
    driver_.reset();
    return std::exchange(fd_, -1);
}

task<void> wait_for_free_descriptor(unsigned fallback_ms) {
    auto driver = current_io_driver();
    if (!driver) {
        co_await tako::time::sleep(std::chrono::milliseconds(fallback_ms));
        co_return;
    }
    io_driver& d = **driver;
    d.free_waiters_.fetch_add(1, std::memory_order_acq_rel);
    struct leave {
        io_driver& d;
        ~leave() { d.free_waiters_.fetch_sub(1, std::memory_order_acq_rel); }
    } guard{d};
    (void)co_await tako::time::timeout(std::chrono::milliseconds(fallback_ms), d.freed_.notified());
}

} // namespace tako::detail
