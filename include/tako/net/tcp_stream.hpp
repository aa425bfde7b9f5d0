#pragma once
/// \file
/// `tako::net::tcp_stream`: a TCP connection (`tokio::net::TcpStream`).
///
/// ```cpp
/// #include <tako/net/tcp_stream.hpp>
///
/// tako::task<void> hello() {
///     auto s = co_await tako::net::tcp_stream::connect("127.0.0.1:8080");
///     if (!s) co_return;                                  // e.g. connection_refused
///     if (!co_await s->write_all("hello\n")) co_return;   // io::result<void>
///     std::array<std::byte, 64> buf;
///     auto n = co_await s->read(buf);                     // io::result<std::size_t>; 0: EOF
/// }
/// ```
///
/// Every operation returns an `io::result`; none throws. Reads and writes may run at the
/// same time from two tasks (one reading, one writing: each direction has its own wait
/// list); two concurrent reads (or writes) are allowed but interleave unpredictably. The
/// stream must outlive its operations. Writing to a connection the peer closed gives
/// `broken_pipe` (SIGPIPE is never raised: sends use MSG_NOSIGNAL).
///
/// **Cancel safety.** `read`, `peek`, `read_vectored`, `write`, `write_vectored`,
/// `readable` and `writable` are cancel-safe: cancelled while suspended, they did nothing
/// and the stream stays usable. `read_exact` and `write_all` are not: cancelled midway,
/// part of the data may have been read or written. `connect` cancelled closes the socket.

#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "tako/detail/io_source.hpp"
#include "tako/io/result.hpp"
#include "tako/net/basic_stream.hpp"
#include "tako/net/ready_state.hpp"
#include "tako/net/shutdown_how.hpp"
#include "tako/net/socket_address.hpp"
#include "tako/task.hpp"

namespace tako::net {

class tcp_read_half;
class tcp_write_half;
class tcp_owned_read_half;
class tcp_owned_write_half;

/// A TCP connection: the operations of `basic_stream` (read, write, … — see
/// basic_stream.hpp) plus TCP's options and addresses.
class tcp_stream : public basic_stream {
public:
    /// A closed stream: every operation fails with `io::errc::closed`.
    tcp_stream() noexcept = default;
    tcp_stream(tcp_stream&&) noexcept = default;
    tcp_stream& operator=(tcp_stream&&) noexcept = default;

    /// Connects to `addr`. Cancelling it closes the half-open socket.
    [[nodiscard]] static task<io::result<tcp_stream>> connect(socket_address addr);
    /// Resolves `host_port` and tries each address in turn; the last error if none
    /// accepts.
    [[nodiscard]] static task<io::result<tcp_stream>> connect(std::string host_port);
    /// Adopts a connected socket (made non-blocking here); on failure `fd` stays the
    /// caller's.
    [[nodiscard]] static io::result<tcp_stream> from_fd(int fd) noexcept;

    io::result<void> set_nodelay(bool on) noexcept;
    [[nodiscard]] io::result<bool> nodelay() const noexcept;
    /// SO_LINGER: none = the default (close returns at once, data is sent in the
    /// background); zero = a reset on close.
    io::result<void> set_linger(std::optional<std::chrono::seconds> linger) noexcept;
    [[nodiscard]] io::result<std::optional<std::chrono::seconds>> linger() const noexcept;
    io::result<void> set_ttl(std::uint32_t ttl) noexcept;
    [[nodiscard]] io::result<std::uint32_t> ttl() const noexcept;
    [[nodiscard]] io::result<socket_address> local_addr() const noexcept;
    [[nodiscard]] io::result<socket_address> peer_addr() const noexcept;

    /// Borrowed halves, for a reader task and a writer task (tcp_split.hpp); the stream
    /// must outlive them.
    [[nodiscard]] std::pair<tcp_read_half, tcp_write_half> split() noexcept;
    /// Owned halves that share the stream, e.g. to move into two tasks; `reunite` joins
    /// them. Destroying the write half shuts the write direction down.
    [[nodiscard]] std::pair<tcp_owned_read_half, tcp_owned_write_half> into_split() &&;

private:
    friend class tcp_listener;
    friend class tcp_socket;
    explicit tcp_stream(::tako::detail::io_source s) noexcept : basic_stream(std::move(s)) {}
};

} // namespace tako::net

#include "tako/net/tcp_split.hpp" // the halves, complete for split() callers
