#pragma once
/// \file
/// `tako::join` and `tako::try_join`: await several things at once, inside the calling
/// task (Tokio's `join!` / `try_join!`; nothing is spawned).
///
/// ```cpp
/// auto [a, b] = co_await tako::join(fetch(1), fetch(2));          // both results
/// auto both = co_await tako::try_join(parse(x), parse(y));        // expected<tuple, E>
/// ```
/// Arguments: `task<T>`s or awaitables by value (moved in), or lvalue `join_handle`s,
/// oneshot `receiver`s and `time::sleep`s, borrowed (see `select`).

#include <expected>
#include <optional>
#include <tuple>
#include <utility>

#include "tako/detail/branches.hpp"

namespace tako {

namespace detail {

template <class... Ts>
task<std::tuple<value_or_monostate<Ts>...>> join_driver(task<Ts>... ts) {
    require_fresh(ts...);
    branch_set<Ts...> set(std::move(ts)...);
    for (;;) {
        bool all = true;
        for (std::size_t i = 0; i < sizeof...(Ts); ++i) {
            all = set.poll(i) && all;
        }
        if (all) {
            break;
        }
        co_await wait_for_branches{};
    }
    // Every branch has finished; the first exception (in argument order) is rethrown.
    co_return std::apply(
        [](auto&... t) { return std::tuple<value_or_monostate<Ts>...>{take_branch_result(t)...}; },
        set.tasks);
}

template <class R>
struct expected_traits;
template <class V, class E>
struct expected_traits<std::expected<V, E>> {
    using value = value_or_monostate<V>;
    using error = E;
};

template <class R>
using expected_value_t = typename expected_traits<R>::value;

template <class... Ts>
using try_join_error_t = std::common_type_t<typename expected_traits<Ts>::error...>;

template <class... Ts, std::size_t... Is>
task<std::expected<std::tuple<expected_value_t<Ts>...>, try_join_error_t<Ts...>>>
try_join_driver(std::index_sequence<Is...>, task<Ts>... ts) {
    using error = try_join_error_t<Ts...>;
    require_fresh(ts...);
    branch_set<Ts...> set(std::move(ts)...);
    std::tuple<std::optional<expected_value_t<Ts>>...> values;
    std::optional<error> failure;
    // Takes branch I's result once it is done; records the first error.
    auto collect = [&]<std::size_t I>(std::integral_constant<std::size_t, I>) {
        if (failure || std::get<I>(values) || !set.slots[I].done) {
            return;
        }
        auto r = std::get<I>(set.tasks).handle().promise().take_result();
        if (!r) {
            failure.emplace(std::move(r.error()));
        } else if constexpr (std::is_void_v<
                                 typename std::remove_cvref_t<decltype(r)>::value_type>) {
            std::get<I>(values).emplace();
        } else {
            std::get<I>(values).emplace(std::move(*r));
        }
    };
    for (;;) {
        bool all = true;
        for (std::size_t i = 0; i < sizeof...(Ts) && !failure; ++i) {
            all = set.poll(i) && all;
            // An exception escaping a branch propagates from here; the other branches are
            // destroyed with `set` as the exception unwinds this frame.
            (collect(std::integral_constant<std::size_t, Is>{}), ...);
        }
        if (failure) {
            co_return std::unexpected(std::move(*failure)); // `set` destroys the others
        }
        if (all) {
            break;
        }
        co_await wait_for_branches{};
    }
    co_return std::tuple<expected_value_t<Ts>...>{std::move(*std::get<Is>(values))...};
}

} // namespace detail

/// Runs every argument concurrently inside the calling task and completes when all have
/// finished, with a tuple of their results (`std::monostate` for `void`). If some threw,
/// the first exception in argument order is rethrown after all have finished.
/// Cancel-safety: cancelling the join cancels every unfinished argument.
template <class... As>
requires(sizeof...(As) > 0 &&
         !(detail::is_when<std::remove_cvref_t<As>>::value || ...)) auto join(As&&... as) {
    return detail::join_driver<detail::branch_result_t<As>...>(
        detail::as_branch(std::forward<As>(as))...);
}

/// Like `join` for arguments producing `std::expected<V, E>`: completes with all values,
/// or with the first error as soon as it appears, after destroying (cancelling) the
/// arguments still running. An exception escaping an argument cancels the rest and is
/// rethrown.
template <class... As>
requires(sizeof...(As) > 0 &&
         !(detail::is_when<std::remove_cvref_t<As>>::value || ...)) auto try_join(As&&... as) {
    return detail::try_join_driver<detail::branch_result_t<As>...>(
        std::index_sequence_for<As...>{}, detail::as_branch(std::forward<As>(as))...);
}

} // namespace tako
