#pragma once
// What the socket types share, so each public type is a thin shell over its io_source: the
// io_ops they submit, the stream loops (read_exact, write_all), the non-blocking connect,
// the accept loop, and the datagram receive that reports the sender.

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstddef>
#include <span>
#include <string>

#include "tako/detail/io_source.hpp"
#include "tako/io/result.hpp"
#include "tako/net/lookup_host.hpp"
#include "tako/net/ready_state.hpp"
#include "tako/net/shutdown_how.hpp"
#include "tako/task.hpp"

namespace tako::net::impl {

using tako::detail::io_direction;
using tako::detail::io_op;
using tako::detail::io_source;

/// recv(2) into `buf` (a stream read, or a peek with MSG_PEEK).
[[nodiscard]] io_op recv_op(std::span<std::byte> buf, int flags) noexcept;
/// send(2) from `buf` (a stream write).
[[nodiscard]] io_op send_op(std::span<const std::byte> buf) noexcept;
/// readv / writev over at most IOV_MAX entries of `iov`.
[[nodiscard]] io_op vector_op(io_op::kind k, std::span<const ::iovec> iov) noexcept;
/// A datagram send: sendto(2) to `addr`/`*len`, or with no address (both null) on a
/// connected socket. The sendto kind, not send: a datagram shorter than asked says nothing
/// about readiness, and io_source clears readiness after a short stream transfer.
[[nodiscard]] io_op send_to_op(std::span<const std::byte> buf, const ::sockaddr* addr,
                               ::socklen_t* len) noexcept;
/// A datagram receive: recvfrom(2), the sender's address into `from`/`*len` unless both
/// are null (for the same reason as `send_to_op`, never the recv kind).
[[nodiscard]] io_op recv_from_op(std::span<std::byte> buf, int flags, ::sockaddr_storage* from,
                                 ::socklen_t* len) noexcept;

/// Makes `fd` non-blocking and registers it; on failure `fd` stays the caller's.
[[nodiscard]] io::result<io_source> adopt_socket(int fd) noexcept;

/// Fills `buf` with stream reads; `unexpected_eof` if the stream ends first.
[[nodiscard]] task<io::result<void>> read_exact(io_source& s, std::span<std::byte> buf);
/// Writes all of `buf` with stream writes; `write_zero` if a write takes nothing.
[[nodiscard]] task<io::result<void>> write_all(io_source& s, std::span<const std::byte> buf);
/// Waits for readiness in `dir`, as the public `readable()` / `writable()` report it.
[[nodiscard]] task<io::result<ready_state>> ready(io_source& s, io_direction dir);
/// shutdown(2).
[[nodiscard]] io::result<void> shutdown(const io_source& s, shutdown_how how) noexcept;

/// A new socket of `type` in `addr`'s family, registered and connected to `addr`: waits
/// for a non-blocking connect to finish. Cancelled, the source (and its socket) is closed.
/// `addr` must stay valid until the first suspension (the caller awaits at once).
[[nodiscard]] task<io::result<io_source>> connect(int type, const ::sockaddr* addr,
                                                  ::socklen_t len);
/// `connect` on an existing non-blocking socket `fd`, which it takes over: registered and
/// returned connected, or closed with the error.
[[nodiscard]] task<io::result<io_source>> connect_fd(int fd, const ::sockaddr* addr,
                                                     ::socklen_t len);

/// A peer's address as the kernel reported it.
struct raw_address {
    ::sockaddr_storage storage{};
    ::socklen_t len = sizeof storage;
    [[nodiscard]] ::sockaddr* data() noexcept { return reinterpret_cast<::sockaddr*>(&storage); }
};

/// A connection accepted from a listening socket, and its peer's address.
struct accepted {
    io_source source;
    raw_address peer;
};
/// accept(2) in a loop that waits out EMFILE / ENFILE (docs/io-driver.md) and skips
/// connections aborted before they were accepted. Cancel-safe.
[[nodiscard]] task<io::result<accepted>> accept(io_source& listener);

/// A datagram's size and its sender.
struct received {
    std::size_t n = 0;
    raw_address from;
};
/// recvfrom(2) with `flags` (MSG_PEEK to leave the datagram queued). Cancel-safe.
[[nodiscard]] task<io::result<received>> recv_from(io_source& s, std::span<std::byte> buf,
                                                   int flags);
/// One recvfrom(2) now; would_block if nothing is queued.
[[nodiscard]] io::result<received> try_recv_from(io_source& s, std::span<std::byte> buf) noexcept;

/// Resolves `host_port` and calls `attempt(address)` (a task of `io::result<T>`) on each
/// address in turn: the first success, or the last error (`no_addresses` if none).
template <class T, class F>
task<io::result<T>> first_address(std::string host_port, F attempt) {
    auto addrs = co_await lookup_host(std::move(host_port));
    if (!addrs) {
        co_return std::unexpected(addrs.error());
    }
    std::error_code last = make_error_code(io::errc::no_addresses);
    for (const socket_address& a : *addrs) {
        auto r = co_await attempt(a);
        if (r) {
            co_return std::move(*r);
        }
        last = r.error();
    }
    co_return std::unexpected(last);
}

} // namespace tako::net::impl
