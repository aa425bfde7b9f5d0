#pragma once
/// \file
/// `tako::net::unix_stream`: a connected Unix domain stream socket
/// (`tokio::net::UnixStream`).
///
/// ```cpp
/// #include <tako/net/unix_stream.hpp>
///
/// tako::task<void> talk() {
///     auto s = co_await tako::net::unix_stream::connect("/run/app.sock"); // or "@name"
///     if (!s) co_return;                                 // e.g. no_such_file_or_directory
///     if (!co_await s->write_all("hello\n")) co_return;
///     auto cred = s->peer_cred();                        // who is on the other side
///     if (cred) std::printf("server pid %d\n", static_cast<int>(cred->pid));
/// }
/// ```
///
/// Paths follow `unix_address`'s rules: a leading '@' (or '\0') names the abstract
/// namespace. Every operation returns an `io::result`; none throws. One task may read while
/// another writes; the stream must outlive its operations. Writing to a stream whose peer
/// closed gives `broken_pipe` (SIGPIPE is never raised).
///
/// **Cancel safety.** `read`, `peek`, `read_vectored`, `write`, `write_vectored`,
/// `readable` and `writable` are cancel-safe: cancelled while suspended, they did nothing
/// and the stream stays usable. `read_exact` and `write_all` are not: cancelled midway,
/// part of the data may have been read or written. `connect` cancelled closes the socket.

#include <sys/types.h>
#include <sys/uio.h>

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "tako/detail/io_source.hpp"
#include "tako/io/result.hpp"
#include "tako/net/basic_stream.hpp"
#include "tako/net/ready_state.hpp"
#include "tako/net/shutdown_how.hpp"
#include "tako/net/unix_address.hpp"
#include "tako/task.hpp"

namespace tako::net {

/// The credentials of a Unix socket's peer (SO_PEERCRED), as they were when it connected
/// (or called `pair()`).
struct unix_credentials {
    ::pid_t pid = 0; ///< the peer's process
    ::uid_t uid = 0; ///< its effective user id
    ::gid_t gid = 0; ///< its effective group id
};

/// A connected Unix domain stream socket.
class unix_stream : public basic_stream {
public:
    /// A closed stream: every operation fails with `io::errc::closed`.
    unix_stream() noexcept = default;
    unix_stream(unix_stream&&) noexcept = default;
    unix_stream& operator=(unix_stream&&) noexcept = default;

    /// Connects to the listener at `path` (a path string, see `unix_address`). Errors:
    /// `no_such_file_or_directory` / `connection_refused` (no listener), the path errors
    /// of `unix_address::from_path`, and `resource_unavailable_try_again` when the
    /// listener's backlog is full (as Tokio, not retried). Cancelling it closes the socket.
    [[nodiscard]] static task<io::result<unix_stream>> connect(std::string path);
    /// Connects to `addr`. Cancelling it closes the socket.
    [[nodiscard]] static task<io::result<unix_stream>> connect(unix_address addr);
    /// Two streams connected to each other (socketpair(2)), both unnamed.
    [[nodiscard]] static io::result<std::pair<unix_stream, unix_stream>> pair() noexcept;
    /// Adopts a connected Unix stream socket (made non-blocking here); on failure `fd`
    /// stays the caller's.
    [[nodiscard]] static io::result<unix_stream> from_fd(int fd) noexcept;

    /// The peer's pid, uid and gid (SO_PEERCRED).
    [[nodiscard]] io::result<unix_credentials> peer_cred() const noexcept;
    /// This side's address (unnamed for a connecting client).
    [[nodiscard]] io::result<unix_address> local_addr() const noexcept;
    /// The peer's address (the listener's path for a client; unnamed for an accepted one).
    [[nodiscard]] io::result<unix_address> peer_addr() const noexcept;

private:
    friend class unix_listener;
    explicit unix_stream(::tako::detail::io_source s) noexcept : basic_stream(std::move(s)) {}
};

} // namespace tako::net
