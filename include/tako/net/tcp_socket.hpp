#pragma once
/// \file
/// `tako::net::tcp_socket`: a TCP socket not yet connected or listening, to set options
/// that must come first (`tokio::net::TcpSocket`).
///
/// ```cpp
/// #include <tako/net/tcp_socket.hpp>
///
/// tako::task<void> connect_with_options(tako::net::socket_address server) {
///     auto socket = tako::net::tcp_socket::new_for(server); // v4 or v6, as `server`
///     if (!socket) co_return;
///     (void)socket->set_keepalive(true);
///     (void)socket->set_recv_buffer_size(1 << 20);
///     auto stream = co_await std::move(*socket).connect(server); // io::result<tcp_stream>
///     if (stream) (void)co_await stream->write_all("hello\n");
/// }
/// ```
///
/// A `tcp_socket` owns its descriptor (close-on-exec, non-blocking) and closes it when
/// destroyed. `connect` and `listen` consume it (call them on an rvalue): the descriptor
/// becomes the `tcp_stream` or `tcp_listener`, registered with the calling thread's
/// runtime then, so a socket may be made and configured outside any runtime. Options
/// are the kernel's (`setsockopt`); each setter and getter returns the kernel's error as
/// an `io::result`, and any of them on a moved-from socket gives `io::errc::closed`.
///
/// **Cancel safety.** `connect` is not resumable: cancelled while the handshake is in
/// flight, the socket is closed (the connection attempt is abandoned).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tako/io/result.hpp"
#include "tako/net/socket_address.hpp"
#include "tako/net/tcp_listener.hpp"
#include "tako/net/tcp_stream.hpp"
#include "tako/task.hpp"

namespace tako::net {

class tcp_socket {
public:
    /// An IPv4 TCP socket.
    [[nodiscard]] static io::result<tcp_socket> new_v4() noexcept;
    /// An IPv6 TCP socket.
    [[nodiscard]] static io::result<tcp_socket> new_v6() noexcept;
    /// A socket of `addr`'s family.
    [[nodiscard]] static io::result<tcp_socket> new_for(const socket_address& addr) noexcept;
    /// Adopts a TCP socket descriptor (made non-blocking here); on failure `fd` stays the
    /// caller's.
    [[nodiscard]] static io::result<tcp_socket> from_fd(int fd) noexcept;

    tcp_socket() noexcept = default;
    tcp_socket(tcp_socket&& o) noexcept;
    tcp_socket& operator=(tcp_socket&& o) noexcept;
    tcp_socket(const tcp_socket&) = delete;
    tcp_socket& operator=(const tcp_socket&) = delete;
    ~tcp_socket();

    /// SO_REUSEADDR: bind a local address still in TIME_WAIT.
    io::result<void> set_reuseaddr(bool on) noexcept;
    [[nodiscard]] io::result<bool> reuseaddr() const noexcept;
    /// SO_REUSEPORT: several sockets of one user bind the same address and port (the
    /// kernel spreads incoming connections over their listeners).
    io::result<void> set_reuseport(bool on) noexcept;
    [[nodiscard]] io::result<bool> reuseport() const noexcept;
    /// SO_KEEPALIVE: probe an idle connection (the kernel's intervals).
    io::result<void> set_keepalive(bool on) noexcept;
    [[nodiscard]] io::result<bool> keepalive() const noexcept;
    /// SO_SNDBUF / SO_RCVBUF. The kernel doubles the value asked for (for its bookkeeping)
    /// and caps it at `net.core.wmem_max` / `rmem_max`; the getters report what it chose.
    io::result<void> set_send_buffer_size(std::uint32_t bytes) noexcept;
    [[nodiscard]] io::result<std::uint32_t> send_buffer_size() const noexcept;
    io::result<void> set_recv_buffer_size(std::uint32_t bytes) noexcept;
    [[nodiscard]] io::result<std::uint32_t> recv_buffer_size() const noexcept;
    /// SO_LINGER: with a duration, close blocks (in the kernel) up to that long to send
    /// what is queued; with zero, close resets the connection.
    io::result<void> set_linger(std::optional<std::chrono::seconds> linger) noexcept;
    [[nodiscard]] io::result<std::optional<std::chrono::seconds>> linger() const noexcept;
    /// TCP_NODELAY: send small segments at once (no Nagle delay).
    io::result<void> set_nodelay(bool on) noexcept;
    [[nodiscard]] io::result<bool> nodelay() const noexcept;
    /// SO_BINDTODEVICE: only traffic through interface `name` ("" unbinds). The kernel
    /// refuses names of interfaces that do not exist (ENODEV).
    io::result<void> bind_device(std::string_view name) noexcept;
    /// The interface bound with `bind_device`, or nullopt.
    [[nodiscard]] io::result<std::optional<std::string>> device() const;

    /// bind(2) to a local address (port 0: the kernel picks one).
    io::result<void> bind(const socket_address& addr) noexcept;
    [[nodiscard]] io::result<socket_address> local_addr() const noexcept;
    /// SO_ERROR: the pending error, if any (reading it clears it).
    [[nodiscard]] io::result<std::optional<std::error_code>> take_error() noexcept;

    /// Connects to `addr`, consuming the socket: a `tcp_stream` registered with the
    /// calling thread's runtime, or the error (ECONNREFUSED, ETIMEDOUT, ...), the socket
    /// then closed.
    [[nodiscard]] task<io::result<tcp_stream>> connect(socket_address addr) &&;
    /// Listens with room for `backlog` pending connections, consuming the socket. Bind
    /// first (an unbound socket listens on an ephemeral port of every address).
    [[nodiscard]] io::result<tcp_listener> listen(std::uint32_t backlog = 1024) && noexcept;

    [[nodiscard]] int native_handle() const noexcept { return fd_; }
    /// Gives the descriptor up without closing it.
    [[nodiscard]] int release() noexcept;

private:
    explicit tcp_socket(int fd) noexcept : fd_(fd) {}
    int fd_ = -1;
};

} // namespace tako::net
