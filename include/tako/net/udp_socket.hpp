#pragma once
/// \file
/// `tako::net::udp_socket`: a UDP socket (`tokio::net::UdpSocket`).
///
/// ```cpp
/// #include <tako/net/udp_socket.hpp>
///
/// tako::task<void> echo_datagrams() {
///     auto sock = co_await tako::net::udp_socket::bind("127.0.0.1:0");
///     if (!sock) co_return;
///     std::array<std::byte, 1500> buf;
///     for (;;) {
///         auto got = co_await sock->recv_from(buf); // io::result<pair<size_t, socket_address>>
///         if (!got) co_return;
///         auto [n, from] = *got;
///         (void)co_await sock->send_to(std::span(buf).first(n), from);
///     }
/// }
/// ```
///
/// One call sends or receives one datagram. A datagram larger than the receive buffer is
/// **truncated**: the call returns the buffer's size and the rest of the datagram is lost.
/// A send larger than the path allows fails (`message_size`) rather than splitting.
///
/// Every operation returns an `io::result`; none throws. The socket must outlive its
/// operations. Any number of tasks may send and receive at once (each datagram goes to one
/// receiver). `connect` fixes the peer: `send`/`recv` then use it, and datagrams from other
/// addresses are dropped by the kernel.
///
/// **Cancel safety.** `recv`, `recv_from`, `peek_from`, `send`, `send_to`, `readable` and
/// `writable` are cancel-safe: cancelled while suspended, no datagram was received or sent
/// and the socket stays usable.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "tako/detail/io_source.hpp"
#include "tako/io/result.hpp"
#include "tako/net/ready_state.hpp"
#include "tako/net/socket_address.hpp"
#include "tako/task.hpp"

namespace tako::net {

/// A UDP socket bound to a local address.
class udp_socket {
public:
    /// A closed socket: every operation fails with `io::errc::closed`.
    udp_socket() noexcept = default;
    udp_socket(udp_socket&&) noexcept = default;
    udp_socket& operator=(udp_socket&&) noexcept = default;

    /// Binds a new socket to `addr` (port 0: an ephemeral port). Errors: the kernel's
    /// (`address_in_use`, …), or tako's runtime errors. Completes without suspending, so
    /// cancelling it leaves nothing behind.
    [[nodiscard]] static task<io::result<udp_socket>> bind(socket_address addr);
    /// Resolves `host_port` ("127.0.0.1:0", "localhost:5353") and binds the first address
    /// that works; the last error if none does. Cancel-safe (no socket survives it).
    [[nodiscard]] static task<io::result<udp_socket>> bind(std::string host_port);
    /// Adopts a datagram socket (made non-blocking here); on failure `fd` stays the
    /// caller's.
    [[nodiscard]] static io::result<udp_socket> from_fd(int fd) noexcept;

    /// Sets the default peer: `send` goes there, `recv` accepts only datagrams from it.
    /// Does not wait (UDP has no handshake).
    io::result<void> connect(socket_address addr) noexcept;
    /// Resolves `host_port` ("localhost:5353") and connects to the first address of this
    /// socket's family that works; the last error if none does (a malformed `host_port`,
    /// a name that does not resolve, `no_addresses`). Cancel-safe: cancelled during the
    /// lookup, the socket is left as it was.
    [[nodiscard]] task<io::result<void>> connect(std::string host_port);

    /// Sends `buf` as one datagram to the connected peer; the bytes sent (all of them).
    /// `destination_address_required` if not connected; `connection_refused` may report an
    /// ICMP error from an earlier datagram. Cancel-safe.
    [[nodiscard]] task<io::result<std::size_t>> send(std::span<const std::byte> buf);
    /// Receives one datagram from the connected peer into `buf`; its size, truncated to
    /// `buf.size()`. Cancel-safe.
    [[nodiscard]] task<io::result<std::size_t>> recv(std::span<std::byte> buf);
    /// Sends `buf` as one datagram to `addr`. Cancel-safe.
    [[nodiscard]] task<io::result<std::size_t>> send_to(std::span<const std::byte> buf,
                                                        socket_address addr);
    /// Receives one datagram into `buf`: its size (truncated to `buf.size()`) and its
    /// sender. Cancel-safe.
    [[nodiscard]] task<io::result<std::pair<std::size_t, socket_address>>>
    recv_from(std::span<std::byte> buf);
    /// Like `recv_from` but leaves the datagram queued: the next receive gets it again.
    /// Cancel-safe.
    [[nodiscard]] task<io::result<std::pair<std::size_t, socket_address>>>
    peek_from(std::span<std::byte> buf);

    /// One attempt at `send`, now: `std::errc::operation_would_block` if the socket is not
    /// writable. Never suspends.
    [[nodiscard]] io::result<std::size_t> try_send(std::span<const std::byte> buf) noexcept;
    /// One attempt at `recv`, now: `operation_would_block` if no datagram is queued.
    [[nodiscard]] io::result<std::size_t> try_recv(std::span<std::byte> buf) noexcept;
    /// One attempt at `send_to`, now: `operation_would_block` if not writable.
    [[nodiscard]] io::result<std::size_t> try_send_to(std::span<const std::byte> buf,
                                                      socket_address addr) noexcept;
    /// One attempt at `recv_from`, now: `operation_would_block` if no datagram is queued.
    [[nodiscard]] io::result<std::pair<std::size_t, socket_address>>
    try_recv_from(std::span<std::byte> buf) noexcept;

    /// Waits until a datagram can be received (or an error is pending). A spurious
    /// readiness is possible: `try_recv` may still report would_block. Cancel-safe.
    [[nodiscard]] task<io::result<ready_state>> readable();
    /// Waits until a datagram can be sent. Cancel-safe.
    [[nodiscard]] task<io::result<ready_state>> writable();

    /// The bound address (with the ephemeral port chosen by the kernel).
    [[nodiscard]] io::result<socket_address> local_addr() const noexcept;
    /// The connected peer; `not_connected` if none.
    [[nodiscard]] io::result<socket_address> peer_addr() const noexcept;

    /// SO_BROADCAST: allow sending to broadcast addresses.
    io::result<void> set_broadcast(bool on) noexcept;
    /// Whether SO_BROADCAST is set.
    [[nodiscard]] io::result<bool> broadcast() const noexcept;
    /// Joins the IPv4 multicast `group` ("224.0.0.251") on the interface with address
    /// `iface` ("0.0.0.0": the kernel chooses). Not an IPv4 address: `invalid_address`;
    /// the kernel's error otherwise (e.g. `no_such_device` without a multicast route).
    io::result<void> join_multicast_v4(std::string_view group, std::string_view iface) noexcept;
    /// Leaves a group joined with `join_multicast_v4`.
    io::result<void> leave_multicast_v4(std::string_view group, std::string_view iface) noexcept;
    /// IP_MULTICAST_TTL: how many hops outgoing multicast datagrams live (default 1).
    io::result<void> set_multicast_ttl_v4(std::uint32_t ttl) noexcept;
    /// The IP_MULTICAST_TTL value.
    [[nodiscard]] io::result<std::uint32_t> multicast_ttl_v4() const noexcept;
    /// IP_MULTICAST_LOOP: whether this host receives its own multicast datagrams.
    io::result<void> set_multicast_loop_v4(bool on) noexcept;
    /// The IP_MULTICAST_LOOP value.
    [[nodiscard]] io::result<bool> multicast_loop_v4() const noexcept;
    /// IP_TTL for unicast datagrams (IPv4 sockets).
    io::result<void> set_ttl(std::uint32_t ttl) noexcept;
    /// The IP_TTL value.
    [[nodiscard]] io::result<std::uint32_t> ttl() const noexcept;

    /// The descriptor, still owned by the socket.
    [[nodiscard]] int native_handle() const noexcept { return source_.fd(); }
    /// False once closed or moved from.
    [[nodiscard]] bool is_open() const noexcept { return source_.is_open(); }
    /// Closes the socket now (the destructor does it otherwise). Must not race with an
    /// operation in progress.
    void close() noexcept { source_.close(); }

private:
    explicit udp_socket(::tako::detail::io_source s) noexcept : source_(std::move(s)) {}
    ::tako::detail::io_source source_;
};

} // namespace tako::net
