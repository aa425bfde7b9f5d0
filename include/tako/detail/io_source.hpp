#pragma once
/// \file
/// The seam between the public I/O types and the I/O driver: an `io_source` owns a
/// descriptor registered with the runtime's I/O driver, and carries out **operations**
/// described as data (`io_op`: "receive into this buffer", "accept on this socket"). The
/// epoll backend performs an operation as try the syscall → EAGAIN → wait for readiness →
/// retry; a completion backend would submit the same `io_op` (docs/io-driver.md).

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

#include "tako/io/result.hpp"
#include "tako/task.hpp"

namespace tako::detail {

class io_driver;
struct io_registration;

/// Which half of a descriptor an operation or a readiness wait concerns.
enum class io_direction : unsigned char { read, write };

/// Readiness bits, as an `async_fd` or `readable()` reports them.
namespace io_ready {
inline constexpr std::uint32_t readable = 1;
inline constexpr std::uint32_t writable = 2;
inline constexpr std::uint32_t read_closed = 4;  ///< the peer shut down its write side
inline constexpr std::uint32_t write_closed = 8; ///< writing can no longer succeed
inline constexpr std::uint32_t error = 16;       ///< an error is pending on the socket
} // namespace io_ready

/// One operation on a descriptor, described as data.
struct io_op {
    enum class kind : unsigned char {
        read,     ///< read(2) into buf/len
        write,    ///< write(2) from buf/len
        recv,     ///< recv(2) with flags (MSG_PEEK for peek)
        send,     ///< send(2) with flags (MSG_NOSIGNAL added)
        readv,    ///< readv(2) over iov/iovcnt
        writev,   ///< sendmsg(2) over iov/iovcnt (MSG_NOSIGNAL) or writev(2) for non-sockets
        accept,   ///< accept4(2), non-blocking and close-on-exec; the result is the new fd
        recvfrom, ///< recvfrom(2) into buf/len, the sender's address into addr/addrlen
        sendto,   ///< sendto(2) from buf/len to addr/addrlen (MSG_NOSIGNAL added)
    };
    kind op = kind::read;
    int flags = 0;
    void* buf = nullptr;
    std::size_t len = 0;
    const ::iovec* iov = nullptr;
    int iovcnt = 0;
    ::sockaddr* addr = nullptr;
    ::socklen_t* addrlen = nullptr; ///< in: the address buffer's size; out: the length used
};

/// A registered descriptor: closes and deregisters it on destruction. Move-only. The
/// operations are coroutines that refer to the source: it must outlive them.
class io_source {
public:
    io_source() noexcept = default;
    io_source(io_source&& o) noexcept
        : fd_(std::exchange(o.fd_, -1)), reg_(std::exchange(o.reg_, nullptr)),
          driver_(std::move(o.driver_)) {}
    io_source& operator=(io_source&& o) noexcept {
        if (this != &o) {
            close();
            fd_ = std::exchange(o.fd_, -1);
            reg_ = std::exchange(o.reg_, nullptr);
            driver_ = std::move(o.driver_);
        }
        return *this;
    }
    io_source(const io_source&) = delete;
    io_source& operator=(const io_source&) = delete;
    ~io_source() { close(); }

    /// Registers `fd` (which must be non-blocking) with the calling thread's runtime. On
    /// failure the caller keeps the descriptor. `assume_ready`: the first operation tries
    /// its syscall before any event (right for sockets); otherwise readiness starts empty
    /// and comes from the kernel's first report (right for `async_fd`, whose waits report
    /// readiness to the user).
    [[nodiscard]] static io::result<io_source> adopt(int fd, bool assume_ready = true) noexcept;

    [[nodiscard]] int fd() const noexcept { return fd_; }
    [[nodiscard]] bool is_open() const noexcept { return fd_ >= 0; }

    /// Performs `op` when the descriptor is ready for `dir`; the syscall's non-negative
    /// result (bytes, or the accepted fd). Cancel-safe: cancelled while it waits, nothing
    /// was done.
    [[nodiscard]] task<io::result<std::size_t>> submit(io_direction dir, io_op op);
    /// Performs `op` once, now: `would_block` (EAGAIN) when the descriptor is not ready,
    /// which also clears the readiness the driver reported.
    [[nodiscard]] io::result<std::size_t> try_submit(io_direction dir, io_op op) noexcept;
    /// `submit`'s first attempt without its coroutine frame, for an operation that awaits
    /// `submit` only when this gives `would_block`: the syscall now if the descriptor is
    /// ready and the task's cooperative budget allows (it is spent then), with `submit`'s
    /// readiness rules; `would_block` without a syscall otherwise.
    [[nodiscard]] io::result<std::size_t> submit_now(io_direction dir, io_op op) noexcept;
    /// Waits until the driver reports `dir` ready (or closed, or in error); the readiness
    /// bits and a token for `clear_ready`. Cancel-safe.
    [[nodiscard]] task<io::result<std::uint64_t>> ready(io_direction dir);
    /// Clears `dir`'s readiness as observed in `token` (from `ready`), unless an event
    /// arrived since: the next `ready` then waits for a new edge.
    void clear_ready(io_direction dir, std::uint64_t token) noexcept;
    /// The readiness bits in a `ready` token.
    [[nodiscard]] static std::uint32_t bits_of(std::uint64_t token) noexcept {
        return static_cast<std::uint32_t>(token & 0xffff);
    }

    /// Deregisters and closes the descriptor (wakes the driver's accept loops that wait for
    /// a free descriptor). Idempotent.
    void close() noexcept;
    /// Deregisters the descriptor and hands it to the caller without closing it.
    [[nodiscard]] int release() noexcept;

private:
    /// One syscall if the descriptor is ready for `dir`; `would_block` otherwise (and on
    /// EAGAIN, clearing readiness). `clear_after_short`: `submit`'s rule for short stream
    /// transfers.
    io::result<std::size_t> attempt(io_direction dir, io_op op, bool clear_after_short) noexcept;
    /// Checks that the calling thread's runtime owns the registration.
    [[nodiscard]] std::error_code check_context() const noexcept;
    void deregister() noexcept;

    int fd_ = -1;
    io_registration* reg_ = nullptr;
    std::shared_ptr<io_driver> driver_;
};

/// Waits until some descriptor owned by an `io_source` of the calling thread's runtime is
/// closed, or `fallback_ms` passes (descriptors closed elsewhere do not signal). Accept
/// loops use it when the process is out of descriptors.
[[nodiscard]] task<void> wait_for_free_descriptor(unsigned fallback_ms);

} // namespace tako::detail
