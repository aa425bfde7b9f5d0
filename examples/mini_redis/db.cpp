#include "db.hpp"

#include <tako/select.hpp>
#include <tako/time/sleep.hpp>

namespace mini_redis {

std::optional<std::string> db::get(std::string_view key) {
    std::lock_guard guard(mu_);
    const auto it = entries_.find(key);
    if (it == entries_.end()) {
        return std::nullopt;
    }
    if (it->second.expires_at && *it->second.expires_at <= tako::time::instant::now()) {
        return std::nullopt; // due; the purge task removes it
    }
    return it->second.value;
}

void db::set(std::string key, std::string value, std::optional<tako::time::duration> expire) {
    std::optional<tako::time::instant> when;
    if (expire) {
        when = tako::time::instant::now() + *expire;
    }
    bool wake_purge = false;
    {
        std::lock_guard guard(mu_);
        auto [it, inserted] = entries_.try_emplace(key);
        if (!inserted && it->second.expires_at) {
            expirations_.erase({*it->second.expires_at, key});
        }
        // The purge task sleeps until the earliest deadline: wake it if this one is earlier.
        if (when) {
            wake_purge = expirations_.empty() || *when < expirations_.begin()->first;
            expirations_.emplace(*when, std::move(key));
        }
        it->second = entry{std::move(value), when};
    }
    if (wake_purge) {
        purge_task_.notify_one();
    }
}

db::message_receiver db::subscribe(const std::string& channel) {
    std::lock_guard guard(mu_);
    auto it = channels_.find(channel);
    if (it == channels_.end()) {
        auto [tx, rx] = tako::sync::broadcast::channel<std::string>(channel_capacity);
        channels_.emplace(channel, std::move(tx));
        return std::move(rx);
    }
    return it->second.subscribe();
}

std::size_t db::publish(std::string_view channel, std::string message) {
    std::lock_guard guard(mu_);
    const auto it = channels_.find(channel);
    if (it == channels_.end()) {
        return 0;
    }
    auto sent = it->second.send(std::move(message));
    if (!sent) {
        // Every subscriber is gone: forget the channel.
        channels_.erase(it);
        return 0;
    }
    return *sent;
}

bool db::purge_due_keys(std::optional<tako::time::instant>& next) {
    std::lock_guard guard(mu_);
    if (shutdown_) {
        return false;
    }
    const auto now = tako::time::instant::now();
    while (!expirations_.empty()) {
        const auto first = expirations_.begin();
        if (first->first > now) {
            next = first->first;
            return true;
        }
        entries_.erase(first->second);
        expirations_.erase(first);
    }
    next.reset();
    return true;
}

tako::task<void> db::purge_expired_keys() {
    std::optional<tako::time::instant> next;
    while (purge_due_keys(next)) {
        if (next) {
            // A SET with an earlier deadline, or shutdown, notifies; else the deadline passes.
            (void)co_await tako::select(tako::time::sleep_until(*next), purge_task_.notified());
        } else {
            co_await purge_task_.notified();
        }
    }
}

void db::shutdown() {
    {
        std::lock_guard guard(mu_);
        shutdown_ = true;
    }
    purge_task_.notify_one();
}

} // namespace mini_redis
