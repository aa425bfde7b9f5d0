#pragma once
// A synchronous mini-redis client for code that does not use coroutines (Tokio's "bridging
// with sync code"): each call runs the async client on a private current_thread runtime
// and blocks until it finishes.

#include "client.hpp"

#include <tako/runtime.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace mini_redis {

class blocking_client {
public:
    /// Connects to `host_port`. Must not be called from inside a tako runtime's thread (it
    /// would block that thread; use `client` there).
    static client_result<blocking_client> connect(std::string host_port);

    client_result<std::string> ping(std::optional<std::string> msg = std::nullopt);
    client_result<std::optional<std::string>> get(std::string key);
    client_result<void> set(std::string key, std::string value,
                            std::optional<tako::time::duration> expire = std::nullopt);
    client_result<std::int64_t> publish(std::string channel, std::string content);

private:
    blocking_client(std::unique_ptr<tako::runtime> rt, client c)
        : rt_(std::move(rt)), client_(std::move(c)) {}

    // Declared first, destroyed last: the client's socket is registered with this
    // runtime's I/O driver.
    std::unique_ptr<tako::runtime> rt_;
    client client_;
};

} // namespace mini_redis
