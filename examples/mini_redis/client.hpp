#pragma once
// A mini-redis client library: connect, then GET, SET, PING, PUBLISH, or turn the
// connection into a subscriber that receives messages. Works with any Redis server.

#include "connection.hpp"

#include <tako/task.hpp>
#include <tako/time/instant.hpp>

#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace mini_redis {

/// Why a request failed: the connection failed (`code`), the server answered with an error
/// (`message` is its text), or with something the request cannot mean.
struct client_error {
    enum class kind : unsigned char {
        io,          ///< the connection failed: see `code`
        error_reply, ///< the server answered with an error: see `message`
        unexpected,  ///< the server answered with a frame this request cannot mean
        closed,      ///< the server closed the connection
    };
    kind type = kind::io;
    std::error_code code;
    std::string message;

    [[nodiscard]] std::string what() const;
};

template <class T>
using client_result = std::expected<T, client_error>;

/// A message received by a subscriber.
struct message {
    std::string channel;
    std::string content;
};

class subscriber;

/// One connection to a server. Requests are sent one at a time; each waits for its reply.
class client {
public:
    /// Connects to `host_port` ("127.0.0.1:6379").
    static tako::task<client_result<client>> connect(std::string host_port);

    tako::task<client_result<std::string>> ping(std::optional<std::string> msg = std::nullopt);
    tako::task<client_result<std::optional<std::string>>> get(std::string key);
    tako::task<client_result<void>> set(std::string key, std::string value,
                                        std::optional<tako::time::duration> expire = std::nullopt);
    /// The number of subscribers that received it.
    tako::task<client_result<std::int64_t>> publish(std::string channel, std::string content);
    /// Subscribes to `channels`; the connection becomes a subscriber's (Redis allows only
    /// subscription commands on it from then on), so the client is consumed.
    static tako::task<client_result<subscriber>> subscribe(client c,
                                                          std::vector<std::string> channels);

    explicit client(connection conn) : conn_(std::move(conn)) {}

private:
    friend class subscriber;
    /// Sends `args` as a command and reads one reply frame.
    tako::task<client_result<frame>> request(std::vector<std::string> args);
    tako::task<client_result<frame>> read_reply();

    connection conn_;
};

/// A connection in subscribed mode.
class subscriber {
public:
    /// The next message; nullopt when the server closed the connection.
    tako::task<client_result<std::optional<message>>> next_message();
    tako::task<client_result<void>> subscribe(std::vector<std::string> channels);
    tako::task<client_result<void>> unsubscribe(std::vector<std::string> channels);
    [[nodiscard]] const std::vector<std::string>& channels() const noexcept { return channels_; }

private:
    friend class client;
    explicit subscriber(client c) : client_(std::move(c)) {}
    /// Sends a (un)subscribe command and reads one confirmation per channel (messages that
    /// arrive in between are kept for `next_message`).
    tako::task<client_result<void>> change(std::string_view command,
                                           std::vector<std::string> channels);

    client client_;
    std::vector<std::string> channels_;
    std::vector<message> pending_;
};

} // namespace mini_redis
