#pragma once
/// \file
/// `tako::net::unix_listener`: a listening Unix domain stream socket
/// (`tokio::net::UnixListener`).
///
/// ```cpp
/// #include <tako/net/unix_listener.hpp>
///
/// tako::task<int> serve() {
///     auto listener = tako::net::unix_listener::bind("@tako-example"); // abstract: no file
///     if (!listener) co_return 1;
///     auto accepted = co_await listener->accept(); // io::result<pair<unix_stream, address>>
///     if (accepted) (void)co_await accepted->first.write_all("hi\n");
///     co_return 0;
/// }
/// ```
///
/// `bind` on a filesystem path creates the socket file; it is **not** removed when the
/// listener closes (as with Tokio): remove it yourself, or use an abstract name. Binding
/// a path that exists fails with `address_in_use`.
///
/// **Out of descriptors.** As `tcp_listener`: `accept` waits until a descriptor frees
/// instead of failing with EMFILE / ENFILE.
///
/// **Cancel safety.** `accept` is cancel-safe: cancelled while suspended, no connection
/// was taken from the backlog.

#include <string_view>
#include <utility>

#include "tako/detail/io_source.hpp"
#include "tako/io/result.hpp"
#include "tako/net/unix_address.hpp"
#include "tako/net/unix_stream.hpp"
#include "tako/task.hpp"

namespace tako::net {

/// A Unix domain socket listening for stream connections.
class unix_listener {
public:
    /// A closed listener: every operation fails with `io::errc::closed`.
    unix_listener() noexcept = default;
    unix_listener(unix_listener&&) noexcept = default;
    unix_listener& operator=(unix_listener&&) noexcept = default;

    /// Binds `path` (a path string, see `unix_address`) and listens (backlog 1024). Errors:
    /// `address_in_use` (the path exists, or the abstract name is taken), the path errors
    /// of `unix_address::from_path`, the kernel's (`permission_denied`, …). Does not wait.
    [[nodiscard]] static io::result<unix_listener> bind(std::string_view path) noexcept;
    /// Binds `addr` and listens.
    [[nodiscard]] static io::result<unix_listener> bind(const unix_address& addr) noexcept;
    /// Adopts a listening Unix socket (made non-blocking here); on failure `fd` stays the
    /// caller's.
    [[nodiscard]] static io::result<unix_listener> from_fd(int fd) noexcept;

    /// The next connection and its peer's address (usually unnamed). Cancel-safe.
    [[nodiscard]] task<io::result<std::pair<unix_stream, unix_address>>> accept();

    /// The address the listener is bound to.
    [[nodiscard]] io::result<unix_address> local_addr() const noexcept;
    /// The descriptor, still owned by the listener.
    [[nodiscard]] int native_handle() const noexcept { return source_.fd(); }
    /// False once closed or moved from.
    [[nodiscard]] bool is_open() const noexcept { return source_.is_open(); }
    /// Stops listening now (the destructor does it otherwise); the socket file stays.
    void close() noexcept { source_.close(); }

private:
    explicit unix_listener(::tako::detail::io_source s) noexcept : source_(std::move(s)) {}
    ::tako::detail::io_source source_;
};

} // namespace tako::net
