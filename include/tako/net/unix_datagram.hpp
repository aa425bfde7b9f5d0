#pragma once
/// \file
/// `tako::net::unix_datagram`: a Unix domain datagram socket
/// (`tokio::net::UnixDatagram`).
///
/// ```cpp
/// #include <tako/net/unix_datagram.hpp>
///
/// tako::task<void> ping() {
///     auto [a, b] = tako::net::unix_datagram::pair().value(); // connected to each other
///     (void)co_await a.send(std::as_bytes(std::span("ping", 4)));
///     std::array<std::byte, 16> buf;
///     auto n = co_await b.recv(buf);                           // io::result<std::size_t>
/// }
/// ```
///
/// Paths follow `unix_address`'s rules: a leading '@' (or '\0') names the abstract
/// namespace; a socket bound to a filesystem path leaves its file behind when it closes.
/// One call sends or receives one datagram. A datagram larger than the receive buffer is
/// **truncated**: the call returns the buffer's size and the rest is lost. A receiver that
/// wants replies must be bound (an `unbound()` sender's address is unnamed).
///
/// Every operation returns an `io::result`; none throws. The socket must outlive its
/// operations.
///
/// **Cancel safety.** `send`, `recv`, `send_to`, `recv_from`, `readable` and `writable`
/// are cancel-safe: cancelled while suspended, no datagram was sent or received and the
/// socket stays usable.

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "tako/detail/io_source.hpp"
#include "tako/io/result.hpp"
#include "tako/net/ready_state.hpp"
#include "tako/net/shutdown_how.hpp"
#include "tako/net/unix_address.hpp"
#include "tako/task.hpp"

namespace tako::net {

/// A Unix domain datagram socket.
class unix_datagram {
public:
    /// A closed socket: every operation fails with `io::errc::closed`.
    unix_datagram() noexcept = default;
    unix_datagram(unix_datagram&&) noexcept = default;
    unix_datagram& operator=(unix_datagram&&) noexcept = default;

    /// A socket bound to `path` (a path string, see `unix_address`). Errors as
    /// `unix_listener::bind`: `address_in_use`, the path errors, the kernel's.
    [[nodiscard]] static io::result<unix_datagram> bind(std::string_view path) noexcept;
    /// A socket bound to `addr`.
    [[nodiscard]] static io::result<unix_datagram> bind(const unix_address& addr) noexcept;
    /// A socket bound to nothing: it can send (with `send_to`, or after `connect`), and
    /// receive only replies on a connection its peer set up with `connect`/`pair`.
    [[nodiscard]] static io::result<unix_datagram> unbound() noexcept;
    /// Two sockets connected to each other (socketpair(2)), both unnamed.
    [[nodiscard]] static io::result<std::pair<unix_datagram, unix_datagram>> pair() noexcept;
    /// Adopts a Unix datagram socket (made non-blocking here); on failure `fd` stays the
    /// caller's.
    [[nodiscard]] static io::result<unix_datagram> from_fd(int fd) noexcept;

    /// Sets the default peer to `path`: `send` goes there, `recv` accepts only datagrams
    /// from it. Does not wait. Errors: the path errors, `connection_refused` or
    /// `no_such_file_or_directory` if nothing is bound there.
    io::result<void> connect(std::string_view path) noexcept;
    /// Sets the default peer to `addr`.
    io::result<void> connect(const unix_address& addr) noexcept;

    /// Sends `buf` as one datagram to the connected peer. Waits while the peer's queue is
    /// full. Cancel-safe.
    [[nodiscard]] task<io::result<std::size_t>> send(std::span<const std::byte> buf);
    /// Receives one datagram into `buf`; its size, truncated to `buf.size()`. Cancel-safe.
    [[nodiscard]] task<io::result<std::size_t>> recv(std::span<std::byte> buf);
    /// Sends `buf` as one datagram to the socket bound at `path`. Cancel-safe.
    [[nodiscard]] task<io::result<std::size_t>> send_to(std::span<const std::byte> buf,
                                                        std::string path);
    /// Sends `buf` as one datagram to `addr`. Cancel-safe.
    [[nodiscard]] task<io::result<std::size_t>> send_to(std::span<const std::byte> buf,
                                                        unix_address addr);
    /// Receives one datagram into `buf`: its size (truncated to `buf.size()`) and its
    /// sender's address (unnamed if the sender is not bound). Cancel-safe.
    [[nodiscard]] task<io::result<std::pair<std::size_t, unix_address>>>
    recv_from(std::span<std::byte> buf);

    /// One attempt at `send`, now: `operation_would_block` if the peer's queue is full.
    [[nodiscard]] io::result<std::size_t> try_send(std::span<const std::byte> buf) noexcept;
    /// One attempt at `recv`, now: `operation_would_block` if no datagram is queued.
    [[nodiscard]] io::result<std::size_t> try_recv(std::span<std::byte> buf) noexcept;
    /// One attempt at `send_to`, now: `operation_would_block` if not writable.
    [[nodiscard]] io::result<std::size_t> try_send_to(std::span<const std::byte> buf,
                                                      const unix_address& addr) noexcept;
    /// One attempt at `recv_from`, now: `operation_would_block` if no datagram is queued.
    [[nodiscard]] io::result<std::pair<std::size_t, unix_address>>
    try_recv_from(std::span<std::byte> buf) noexcept;

    /// Waits until a datagram can be received. Cancel-safe.
    [[nodiscard]] task<io::result<ready_state>> readable();
    /// Waits until a datagram can be sent. Cancel-safe.
    [[nodiscard]] task<io::result<ready_state>> writable();

    /// shutdown(2): after `write`, further sends fail; after `read`, receives return 0.
    io::result<void> shutdown(shutdown_how how) noexcept;
    /// The bound address (unnamed if not bound).
    [[nodiscard]] io::result<unix_address> local_addr() const noexcept;
    /// The connected peer; `not_connected` if none.
    [[nodiscard]] io::result<unix_address> peer_addr() const noexcept;

    /// The descriptor, still owned by the socket.
    [[nodiscard]] int native_handle() const noexcept { return source_.fd(); }
    /// False once closed or moved from.
    [[nodiscard]] bool is_open() const noexcept { return source_.is_open(); }
    /// Closes the socket now (the destructor does it otherwise).
    void close() noexcept { source_.close(); }

private:
    explicit unix_datagram(::tako::detail::io_source s) noexcept : source_(std::move(s)) {}
    ::tako::detail::io_source source_;
};

} // namespace tako::net
