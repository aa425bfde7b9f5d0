#pragma once
/// \file
/// `tako::select` and `tako::select_biased`: the first of several things to finish
/// (Tokio's `select!`), inside the calling task.
///
/// ```cpp
/// auto r = co_await tako::select(rx, stop.notified());   // rx: a oneshot receiver
/// if (r.index() == 0) { /* std::get<0>(r) is the receive result */ }
/// ```
/// The result is a `std::variant` whose index says which argument won (`std::monostate`
/// for `void`). The losers are destroyed, and so cancelled, before `select` returns.
/// Each argument should be cancel-safe if losing it must not lose data.
///
/// Arguments: a `task<T>` or awaitable by value (moved in, destroyed if it loses); an
/// lvalue `join_handle`, oneshot `receiver` or `time::sleep`, *borrowed*: losing leaves it
/// intact to await again (Tokio's `&mut x`); `tako::when(cond, x)` to take part only if
/// `cond` (Tokio's `, if cond`).

#include <optional>
#include <stdexcept>
#include <utility>
#include <variant>

#include "tako/detail/branches.hpp"

namespace tako {

namespace detail {

/// `select` with every branch disabled would wait forever: a mistake, reported at once.
template <class... As>
void require_an_enabled_branch(const As&... as) {
    if (!(branch_enabled(as) || ...)) {
        throw std::logic_error("tako::select: every branch is disabled (each is a "
                               "tako::when whose condition is false)");
    }
}

template <bool Biased, class... Ts, std::size_t... Is>
task<std::variant<value_or_monostate<Ts>...>> select_driver(std::index_sequence<Is...>,
                                                            task<Ts>... ts) {
    constexpr std::size_t n = sizeof...(Ts);
    require_fresh(ts...);
    branch_set<Ts...> set(std::move(ts)...);
    const std::size_t start = Biased ? 0 : random_below(static_cast<std::uint32_t>(n));
    std::size_t winner = n;
    for (;;) {
        for (std::size_t k = 0; k < n && winner == n; ++k) {
            const std::size_t i = (start + k) % n;
            if (set.poll(i)) {
                winner = i;
            }
        }
        if (winner != n) {
            break;
        }
        co_await wait_for_branches{};
    }
    set.destroy_all_but(winner, std::index_sequence_for<Ts...>{});
    std::optional<std::variant<value_or_monostate<Ts>...>> result;
    ((winner == Is ? (void)result.emplace(std::in_place_index<Is>,
                                          take_branch_result(std::get<Is>(set.tasks)))
                   : void()),
     ...);
    co_return std::move(*result);
}

} // namespace detail

/// Runs the arguments concurrently inside the calling task until the first finishes;
/// gives its result as the variant alternative with its index. Polling starts at a random
/// argument each time, so none is starved. If the winner threw, its exception is rethrown
/// (after the losers are destroyed).
template <class... As>
requires(sizeof...(As) > 0) auto select(As&&... as) {
    detail::require_an_enabled_branch(as...);
    return detail::select_driver<false, detail::branch_result_t<As>...>(
        std::index_sequence_for<As...>{}, detail::as_branch(std::forward<As>(as))...);
}

/// `select` that always polls in argument order (Tokio's `biased;`), so earlier arguments
/// win ties.
template <class... As>
requires(sizeof...(As) > 0) auto select_biased(As&&... as) {
    detail::require_an_enabled_branch(as...);
    return detail::select_driver<true, detail::branch_result_t<As>...>(
        std::index_sequence_for<As...>{}, detail::as_branch(std::forward<As>(as))...);
}

} // namespace tako
