#pragma once
// The mini-redis server: accepts connections and serves each in its own task.

#include <tako/net/tcp_listener.hpp>
#include <tako/sync/cancellation_token.hpp>
#include <tako/task.hpp>

#include <cstddef>

namespace mini_redis {

struct server_options {
    /// Connections served at once; the accept loop waits for a free slot beyond this
    /// (mini-redis's limit).
    std::size_t max_connections = 250;
};

/// Serves `listener` until `shutdown` is cancelled. Then it stops accepting, lets every
/// connection finish the command it is executing and write the replies it owes, waits for
/// the connection tasks and the expiry task, and returns. Bounding that wait is the
/// caller's business (`tako::time::timeout`).
tako::task<void> serve(tako::net::tcp_listener listener, tako::cancellation_token shutdown,
                       server_options options = {});

} // namespace mini_redis
