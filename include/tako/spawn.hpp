#pragma once
/// \file
/// `tako::spawn`: run a task concurrently on the current runtime.
///
/// ```cpp
/// auto h = tako::spawn([]() -> tako::task<int> { co_return 42; });
/// auto r = co_await h;          // std::expected<int, tako::join_error>
/// ```
///
/// `spawn` takes a `task<T>`, or a callable returning one. A callable is moved into the
/// task and destroyed when the task ends, so lambda captures stay valid for the whole body
/// (pass the lambda itself, not the task it returns, whenever it captures anything).

#include <source_location>

#include "tako/detail/task_cell.hpp"
#include "tako/join_handle.hpp"

namespace tako {

/// Spawns `work` on the current runtime (the runtime of the calling worker thread, block_on
/// thread, blocking-pool thread or `runtime::enter` scope). From a worker, the new task goes
/// to that worker's LIFO slot. Throws `std::runtime_error` outside a runtime.
template <detail::spawnable X>
join_handle<detail::spawn_result_t<X>>
spawn(X&& work, std::source_location loc = std::source_location::current()) {
    detail::scheduler& s = detail::current_scheduler("tako::spawn");
    auto* cell = detail::make_cell(std::forward<X>(work), nullptr, loc);
    detail::submit_new_task(s, cell);
    return join_handle<detail::spawn_result_t<X>>(cell);
}

/// As `spawn`, with a name shown in error reports. `name` must outlive the task (a string
/// literal, typically).
template <detail::spawnable X>
join_handle<detail::spawn_result_t<X>>
spawn_named(const char* name, X&& work,
            std::source_location loc = std::source_location::current()) {
    detail::scheduler& s = detail::current_scheduler("tako::spawn_named");
    auto* cell = detail::make_cell(std::forward<X>(work), name, loc);
    detail::submit_new_task(s, cell);
    return join_handle<detail::spawn_result_t<X>>(cell);
}

} // namespace tako
