#pragma once
/// \file
/// `tako::time::timeout`: bound any awaitable by a deadline (`tokio::time::timeout`).
///
/// ```cpp
/// auto r = co_await tako::time::timeout(5s, slow_operation());   // expected<T, elapsed>
/// if (!r) { /* slow_operation was cancelled: its frame is gone, destructors ran */ }
/// ```
/// On expiry the inner operation is destroyed (cancelled) before `timeout` returns. If both
/// are ready at once, the operation wins.

#include <expected>
#include <type_traits>
#include <utility>

#include "tako/detail/branches.hpp"
#include "tako/select.hpp"
#include "tako/time/sleep.hpp"

namespace tako::time {

/// The deadline passed before the operation completed.
struct elapsed {
    friend constexpr bool operator==(elapsed, elapsed) noexcept = default;
};

} // namespace tako::time

namespace tako::detail {
template <class T>
using timeout_result = std::expected<T, time::elapsed>;

inline task<void> sleep_task(time::instant deadline) {
    co_await time::sleep(deadline);
}

template <class T>
task<timeout_result<T>> timeout_driver(time::instant deadline, task<T> work) {
    auto r = co_await select_biased(std::move(work), sleep_task(deadline));
    if (r.index() == 1) {
        co_return std::unexpected(time::elapsed{});
    }
    if constexpr (std::is_void_v<T>) {
        co_return timeout_result<T>{};
    } else {
        co_return timeout_result<T>(std::in_place, std::move(std::get<0>(r)));
    }
}
} // namespace tako::detail

namespace tako::time {

/// Runs `work` (a task or any awaitable) until `deadline`; gives its result, or `elapsed`
/// after destroying it. An exception escaping `work` propagates. An lvalue `join_handle`,
/// oneshot `receiver` or `sleep` is borrowed: on expiry it is left intact (e.g. the
/// handle can still be awaited or aborted).
template <class A>
auto timeout_at(instant deadline, A&& work) {
    return tako::detail::timeout_driver<tako::detail::branch_result_t<A>>(
        deadline, tako::detail::as_branch(std::forward<A>(work)));
}

/// `timeout_at(instant::now() + d, work)`.
template <class A>
auto timeout(duration d, A&& work) {
    return timeout_at(instant::now() + d, std::forward<A>(work));
}

} // namespace tako::time
