#pragma once
/// \file
/// Time-based stream adapters: `timeout` (per item), `throttle` and `chunks_timeout`.
///
/// ```cpp
/// using namespace std::chrono_literals;
/// tako::task<void> batch_events(tako::stream<int> events) {
///     // Up to 100 events at a time, or what arrived within 10 ms of the first one.
///     auto batches = tako::streams::chunks_timeout(std::move(events), 100, 10ms);
///     while (auto batch = co_await batches.next()) {
///         std::printf("%zu events\n", batch->size());
///     }
/// }
/// ```
///
/// The timers are `tako::time` sleeps: they follow the paused test clock.
///
/// **Cancel safety.** Cancel-safe like every adapter: when a timer fires, the source's item
/// in progress is not lost, it stays in the source for the next `next()`.

#include <cstddef>
#include <expected>
#include <optional>
#include <utility>
#include <vector>

#include "tako/stream/adapters.hpp"
#include "tako/stream/stream.hpp"
#include "tako/time/sleep.hpp"
#include "tako/time/timeout.hpp"

namespace tako::streams {

/// Each item, or `time::elapsed` when the next item took longer than `d` to arrive (the
/// stream then goes on waiting for it, with a fresh `d`). Ends when `s` ends.
template <class T>
stream<std::expected<T, time::elapsed>> timeout(stream<T> s, time::duration d) {
    for (;;) {
        auto r = co_await time::timeout(d, s.next());
        if (!r) {
            co_yield std::unexpected(time::elapsed{});
            continue;
        }
        if (!*r) {
            co_return;
        }
        co_yield std::expected<T, time::elapsed>(std::move(**r));
    }
}

/// The items of `s`, at most one per `d`: after an item, `s` is not polled again until `d`
/// has passed since that item was taken. Nothing is dropped.
template <class T>
stream<T> throttle(stream<T> s, time::duration d) {
    for (;;) {
        auto v = co_await s.next();
        if (!v) {
            co_return;
        }
        const time::instant ready_at = time::instant::now() + d;
        co_yield std::move(*v);
        co_await time::sleep(ready_at);
    }
}

/// Items in vectors of at most `n`: a chunk is yielded when it is full, or `d` after its
/// first item arrived, whichever comes first (never empty). The last, partial chunk is
/// yielded when `s` ends. Throws `std::invalid_argument` at once when `n` is 0.
template <class T>
stream<std::vector<T>> chunks_timeout(stream<T> s, std::size_t n, time::duration d);

} // namespace tako::streams

namespace tako::detail {
template <class T>
stream<std::vector<T>> chunks_timeout_body(stream<T> s, std::size_t n, time::duration d) {
    std::vector<T> buf;
    time::instant deadline;
    for (;;) {
        if (buf.empty()) {
            auto v = co_await s.next();
            if (!v) {
                co_return;
            }
            deadline = time::instant::now() + d;
            buf.push_back(std::move(*v));
        } else {
            auto r = co_await time::timeout_at(deadline, s.next());
            if (!r) {
                co_yield std::exchange(buf, {});
                continue;
            }
            if (!*r) {
                co_yield std::exchange(buf, {});
                co_return;
            }
            buf.push_back(std::move(**r));
        }
        if (buf.size() >= n) {
            co_yield std::exchange(buf, {});
        }
    }
}
} // namespace tako::detail

namespace tako::streams {

template <class T>
stream<std::vector<T>> chunks_timeout(stream<T> s, std::size_t n, time::duration d) {
    detail::check_chunk_size(n, "chunks_timeout");
    return detail::chunks_timeout_body(std::move(s), n, d);
}

/// `timeout` partly applied: `std::move(s) | streams::timeout(...)`.
inline auto timeout(time::duration d) {
    return adapter{[d]<class T>(stream<T> s) { return timeout(std::move(s), d); }};
}
/// `throttle` partly applied: `std::move(s) | streams::throttle(...)`.
inline auto throttle(time::duration d) {
    return adapter{[d]<class T>(stream<T> s) { return throttle(std::move(s), d); }};
}
/// `chunks_timeout` partly applied: `std::move(s) | streams::chunks_timeout(...)`.
inline auto chunks_timeout(std::size_t n, time::duration d) {
    detail::check_chunk_size(n, "chunks_timeout");
    return adapter{[n, d]<class T>(stream<T> s) { return chunks_timeout(std::move(s), n, d); }};
}

} // namespace tako::streams
