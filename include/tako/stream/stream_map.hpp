#pragma once
/// \file
/// `tako::stream_map<K, T>`: many keyed streams polled together (tokio-stream's
/// `StreamMap`), e.g. one subscription stream per channel name in a chat server.
///
/// ```cpp
/// tako::task<void> print_all(tako::stream<int> a, tako::stream<int> b) {
///     tako::stream_map<std::string, int> subs;
///     subs.insert("a", std::move(a));
///     subs.insert("b", std::move(b));
///     while (auto kv = co_await subs.next()) {       // std::optional<std::pair<K, T>>
///         std::printf("%s: %d\n", kv->first.c_str(), kv->second);
///     }                                              // nullopt: every stream ended
/// }
/// ```
///
/// `next()` polls the streams fairly (starting after the one that gave the previous item)
/// and gives (key, item); a stream that ends is removed; with no stream left, `next()`
/// gives `std::nullopt` at once (insert more and call it again). Streams may be inserted
/// and removed between calls of `next()`, including while the streams are in the middle of
/// an item (after a cancelled `next()`). Keys are compared with `==`; the map is a small
/// vector, which suits the tens of streams it is meant for (insert and remove are linear).
///
/// **Cancel safety.** `next()` is cancel-safe: an item is taken from a stream only when
/// `next()` returns it, and a stream's item in progress stays in that stream. A stream
/// removed with `remove` keeps its progress too. Not thread-safe; one `next()` at a time,
/// and the map must outlive it.

#include <cstddef>
#include <optional>
#include <utility>
#include <vector>

#include "tako/stream/stream.hpp"
#include "tako/task.hpp"

namespace tako {

/// Keyed streams polled together; see the file comment.
template <class K, class T>
class stream_map {
public:
    /// An empty map.
    stream_map() = default;
    /// Moves the streams (a stream waiting mid-item stays bound to its task; see stream.hpp).
    stream_map(stream_map&&) noexcept = default;
    stream_map& operator=(stream_map&&) noexcept = default;

    /// Adds `s` under `key`; if the key was present, its stream is replaced and returned.
    std::optional<stream<T>> insert(K key, stream<T> s) {
        for (auto& e : entries_) {
            if (e.first == key) {
                return std::exchange(e.second, std::move(s));
            }
        }
        entries_.emplace_back(std::move(key), std::move(s));
        return std::nullopt;
    }

    /// Removes the stream under `key` and gives it back (nullopt if absent).
    std::optional<stream<T>> remove(const K& key) {
        for (std::size_t i = 0; i < entries_.size(); ++i) {
            if (entries_[i].first == key) {
                std::optional<stream<T>> out(std::move(entries_[i].second));
                erase_at(i);
                return out;
            }
        }
        return std::nullopt;
    }

    /// True if a stream is stored under `key`.
    [[nodiscard]] bool contains(const K& key) const {
        for (const auto& e : entries_) {
            if (e.first == key) {
                return true;
            }
        }
        return false;
    }
    /// How many streams the map holds.
    [[nodiscard]] std::size_t size() const noexcept { return entries_.size(); }
    /// True when the map holds no stream.
    [[nodiscard]] bool empty() const noexcept { return entries_.empty(); }
    /// The keys, in insertion order.
    [[nodiscard]] std::vector<K> keys() const {
        std::vector<K> out;
        out.reserve(entries_.size());
        for (const auto& e : entries_) {
            out.push_back(e.first);
        }
        return out;
    }
    /// Destroys every stream.
    void clear() noexcept { entries_.clear(); }

    /// The next (key, item) of any stream, or nullopt when the map is empty. An exception
    /// from a stream removes that stream and propagates. Cancel-safe (see the file).
    [[nodiscard]] task<std::optional<std::pair<K, T>>> next() {
        for (;;) {
            if (entries_.empty()) {
                co_return std::nullopt;
            }
            std::size_t i = start_;
            for (std::size_t visits = entries_.size(); visits > 0 && !entries_.empty(); --visits) {
                i %= entries_.size();
                std::optional<T> v;
                detail::poll_status st = detail::poll_status::pending;
                try {
                    st = detail::stream_access::poll(entries_[i].second, v);
                } catch (...) {
                    erase_at(i);
                    throw;
                }
                if (st == detail::poll_status::item) {
                    start_ = i + 1;
                    co_return std::pair<K, T>(entries_[i].first, std::move(*v));
                }
                if (st == detail::poll_status::ended) {
                    erase_at(i); // the next entry slides into position i
                } else {
                    ++i;
                }
            }
            if (entries_.empty()) {
                co_return std::nullopt;
            }
            co_await detail::stream_park{};
        }
    }

private:
    void erase_at(std::size_t i) {
        entries_.erase(entries_.begin() + static_cast<std::ptrdiff_t>(i));
    }

    std::vector<std::pair<K, stream<T>>> entries_;
    std::size_t start_ = 0;
};

} // namespace tako
