#pragma once
// The shared state of a mini-redis server: keys with optional expiry, and the pub/sub
// channels. Every connection task holds a `std::shared_ptr<db>`.

#include <tako/sync/broadcast.hpp>
#include <tako/sync/notify.hpp>
#include <tako/task.hpp>
#include <tako/time/instant.hpp>

#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace mini_redis {

/// Keys and channels behind one `std::mutex` (a plain mutex, not `tako::sync::mutex`: no
/// critical section awaits anything, so a task never holds it across a suspension, and a
/// plain mutex is the cheaper lock — the advice of Tokio's shared-state chapter too).
///
/// Expiry: `set` with a time to live records the deadline; a background task
/// (`purge_expired_keys`) sleeps until the earliest deadline, removes what is due, and
/// sleeps again. A `set` whose deadline is earlier than every other wakes it through a
/// `tako::sync::notify`, so nothing polls. `get` also ignores a key whose deadline has
/// passed but which the purge task has not removed yet.
class db {
public:
    /// Messages published on a channel: (channel, payload) pairs would repeat the channel
    /// name in every message; a receiver knows which channel it subscribed to.
    using message_receiver = tako::sync::broadcast::receiver<std::string>;

    /// Capacity of each channel's broadcast ring: a subscriber this far behind lags and
    /// skips ahead rather than holding back the publisher.
    static constexpr std::size_t channel_capacity = 1024;

    [[nodiscard]] std::optional<std::string> get(std::string_view key);
    void set(std::string key, std::string value,
             std::optional<tako::time::duration> expire = std::nullopt);

    /// A receiver of every message published on `channel` from now on.
    [[nodiscard]] message_receiver subscribe(const std::string& channel);
    /// Sends `message` to the channel's subscribers; the number that will receive it.
    std::size_t publish(std::string_view channel, std::string message);

    /// The background expiry task: runs until `shutdown()`.
    tako::task<void> purge_expired_keys();
    /// Ends `purge_expired_keys`.
    void shutdown();

private:
    struct entry {
        std::string value;
        std::optional<tako::time::instant> expires_at;
    };
    struct string_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };
    using entry_map = std::unordered_map<std::string, entry, string_hash, std::equal_to<>>;
    using channel_map = std::unordered_map<std::string, tako::sync::broadcast::sender<std::string>,
                                           string_hash, std::equal_to<>>;

    /// Removes the keys that are due and sets `next` to the next deadline (nullopt: none).
    /// false once shut down.
    bool purge_due_keys(std::optional<tako::time::instant>& next);

    std::mutex mu_;
    entry_map entries_;
    std::set<std::pair<tako::time::instant, std::string>> expirations_;
    channel_map channels_;
    bool shutdown_ = false;
    tako::sync::notify purge_task_;
};

} // namespace mini_redis
