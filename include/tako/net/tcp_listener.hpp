#pragma once
/// \file
/// `tako::net::tcp_listener`: a listening TCP socket (`tokio::net::TcpListener`).
///
/// ```cpp
/// #include <tako/net/tcp_listener.hpp>
///
/// tako::task<int> serve() {
///     auto listener = co_await tako::net::tcp_listener::bind("127.0.0.1:0");
///     if (!listener) co_return 1;
///     std::printf("listening on %s\n", listener->local_addr()->to_string().c_str());
///     auto accepted = co_await listener->accept(); // io::result<pair<tcp_stream, address>>
///     if (accepted) (void)co_await accepted->first.write_all("hi\n");
///     co_return 0;
/// }
/// ```
///
/// **Out of descriptors.** When accept(2) fails with EMFILE or ENFILE, `accept` neither
/// returns the error nor retries in a loop: it waits until a descriptor owned by this
/// runtime is closed (or 100 ms pass, for descriptors closed elsewhere) and tries again;
/// connections that arrive meanwhile wait in the kernel's backlog and are served once a
/// descriptor frees. Connections aborted before they were accepted are skipped.
///
/// **Cancel safety.** `accept` is cancel-safe: cancelled while suspended, no connection
/// was taken from the backlog.

#include <string>
#include <utility>

#include "tako/detail/io_source.hpp"
#include "tako/io/result.hpp"
#include "tako/net/socket_address.hpp"
#include "tako/net/tcp_stream.hpp"
#include "tako/task.hpp"

namespace tako::net {

class tcp_listener {
public:
    tcp_listener() noexcept = default;
    tcp_listener(tcp_listener&&) noexcept = default;
    tcp_listener& operator=(tcp_listener&&) noexcept = default;

    /// Binds `addr` with SO_REUSEADDR and listens (backlog 1024).
    [[nodiscard]] static task<io::result<tcp_listener>> bind(socket_address addr);
    /// Resolves `host_port` and binds the first address that works; the last error if
    /// none does.
    [[nodiscard]] static task<io::result<tcp_listener>> bind(std::string host_port);
    /// Adopts a listening socket (made non-blocking here); on failure `fd` stays the
    /// caller's.
    [[nodiscard]] static io::result<tcp_listener> from_fd(int fd) noexcept;

    /// The next connection and its peer's address.
    [[nodiscard]] task<io::result<std::pair<tcp_stream, socket_address>>> accept();

    [[nodiscard]] io::result<socket_address> local_addr() const noexcept;
    io::result<void> set_ttl(std::uint32_t ttl) noexcept;
    [[nodiscard]] io::result<std::uint32_t> ttl() const noexcept;
    [[nodiscard]] int native_handle() const noexcept { return source_.fd(); }

private:
    explicit tcp_listener(::tako::detail::io_source s) noexcept : source_(std::move(s)) {}
    ::tako::detail::io_source source_;
};

} // namespace tako::net
