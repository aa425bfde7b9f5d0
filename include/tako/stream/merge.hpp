#pragma once
/// \file
/// `streams::merge`: the items of several streams as they come, fairly.
///
/// ```cpp
/// tako::task<std::size_t> count_both(tako::stream<int> a, tako::stream<int> b) {
///     auto both = tako::streams::merge(std::move(a), std::move(b));
///     std::size_t n = 0;
///     while (co_await both.next()) {
///         ++n;
///     }
///     co_return n;
/// }
/// ```
///
/// All sources run at once inside the consumer's task (no task is spawned per source).
/// Each `next()` polls the sources starting after the one that gave the previous item, so
/// a source that always has an item ready cannot starve the others. The merged stream ends
/// when every source has ended; an exception from a source ends it and propagates.
///
/// **Cancel safety.** Cancel-safe: a source's item in progress stays in that source.

#include <cstddef>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "tako/stream/stream.hpp"

namespace tako::streams {

/// The items of every stream in `sources`, in the order they become ready (fair between
/// sources).
template <class T>
stream<T> merge(std::vector<stream<T>> sources) {
    std::size_t start = 0;
    const std::size_t n = sources.size();
    std::size_t live = n;
    while (live > 0) {
        bool yielded = false;
        for (std::size_t k = 0; k < n && !yielded; ++k) {
            const std::size_t i = (start + k) % n;
            if (!sources[i].valid()) {
                continue;
            }
            std::optional<T> v;
            const auto st = detail::stream_access::poll(sources[i], v);
            if (st == detail::poll_status::item) {
                start = i + 1;
                yielded = true;
                co_yield std::move(*v);
            } else if (st == detail::poll_status::ended) {
                sources[i] = stream<T>{}; // frees the finished body now
                --live;
            }
        }
        if (!yielded && live > 0) {
            co_await detail::stream_park{};
        }
    }
}

/// `merge` of two or more streams of the same item type.
template <class T, class... More>
requires(std::is_same_v<More, stream<T>>&&...) stream<T> merge(stream<T> first, More... more) {
    std::vector<stream<T>> v;
    v.reserve(1 + sizeof...(more));
    v.push_back(std::move(first));
    (v.push_back(std::move(more)), ...);
    return merge(std::move(v));
}

} // namespace tako::streams
