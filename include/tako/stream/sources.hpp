#pragma once
/// \file
/// Streams made from plain values (tokio-stream's `iter`, `once`, `empty`, `pending`, and
/// `repeat_with`).
///
/// ```cpp
/// tako::task<int> sum_of_list() {
///     auto s = tako::streams::iter(std::vector<int>{1, 2, 3});
///     int sum = 0;
///     while (auto v = co_await s.next()) {
///         sum += *v;
///     }
///     co_return sum;
/// }
/// ```
///
/// Every source is lazy and owns what it was given; `next()` on them never suspends
/// (except `pending`, which never yields), so their cancel safety is trivial.

#include <functional>
#include <optional>
#include <ranges>
#include <type_traits>
#include <utility>

#include "tako/stream/stream.hpp"

namespace tako::streams {

/// The elements of `range`, in order. The range is moved (or copied) into the stream; the
/// elements of an owning range (a container) are moved out as they are yielded, those of a
/// view are copied.
template <std::ranges::input_range R>
stream<std::ranges::range_value_t<R>> iter(R range) {
    for (auto&& x : range) {
        if constexpr (!std::ranges::view<R> &&
                      std::is_lvalue_reference_v<std::ranges::range_reference_t<R>>) {
            co_yield std::move(x);
        } else {
            co_yield std::forward<decltype(x)>(x);
        }
    }
}

/// One value, then the end.
template <class T>
stream<std::decay_t<T>> once(T value) {
    co_yield std::move(value);
}

/// Ends at once.
template <class T>
stream<T> empty() {
    co_return;
}

/// Never yields and never ends (tokio-stream's `pending`): a `next()` on it waits until it
/// is cancelled. Costs one poll per wake of its task.
template <class T>
stream<T> pending() {
    for (;;) {
        co_await detail::stream_park{};
    }
}

/// `f()`, `f()`, … for ever (take as many as needed with `take`).
template <class F>
stream<std::decay_t<std::invoke_result_t<F&>>> repeat_with(F f) {
    for (;;) {
        co_yield std::invoke(f);
    }
}

} // namespace tako::streams
