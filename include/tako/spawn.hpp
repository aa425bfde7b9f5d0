#pragma once
/// \file
/// `tako::spawn`: run a task concurrently on the current runtime.
///
/// ```cpp
/// auto h = tako::spawn([]() -> tako::task<int> { co_return 42; });
/// auto r = co_await h;          // std::expected<int, tako::join_error>
/// ```
///
/// `spawn` takes a `task<T>` by value, or a callable returning one, optionally with
/// arguments. A callable is moved into the task and destroyed when the task ends, so lambda
/// captures stay valid for the whole body. Note: the coroutine's by-value parameters (and
/// so `spawn(f, args...)`'s arguments, which become them) live in its frame, which is freed
/// when the result is taken (the join) or the join_handle is dropped, not when the body
/// returns: move a permit or guard out of a parameter into a local
/// (`auto held = std::move(p);`) if it must be released when the body ends. Pass the
/// lambda itself, not the task it returns, whenever it captures anything: a lambda
/// *called* to make a task dies at the end of the statement, and its captures with it.
///
/// With g++ 12, a capturing lambda written inside a statement that contains `co_await`
/// (e.g. `co_await tako::spawn([s] {...})`) is destroyed twice (GCC PR 101367). The safe
/// spelling on every compiler passes the data as arguments to a captureless lambda:
///
/// ```cpp
/// auto r = co_await tako::spawn([](std::string s) -> tako::task<std::size_t> {
///     co_return s.size();
/// }, name);
/// ```

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

/// Spawns `f(args...)`: `f` and the decayed arguments are stored in the task and `f` is
/// called with them (moved) when the task first runs. This form records no spawn site.
template <class F, class A0, class... As>
requires detail::spawnable_with<F, A0, As...>
auto spawn(F&& f, A0&& a0, As&&... as) {
    return tako::spawn(
        detail::bind_call(std::forward<F>(f), std::forward<A0>(a0), std::forward<As>(as)...));
}

/// `spawn(t)` on an lvalue task would move from it silently: say `spawn(std::move(t))`.
template <class T>
void spawn(task<T>&, std::source_location = std::source_location::current()) {
    static_assert(sizeof(T*) == 0, "tako::spawn: the task is an lvalue; spawning consumes it, "
                                   "so write tako::spawn(std::move(t))");
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
