#pragma once
/// \file
/// `tako::local_set` and `tako::spawn_local`: tasks that never leave their thread
/// (`tokio::task::LocalSet`), for work holding thread-affine state.
///
/// ```cpp
/// tako::local_set local;
/// int r = co_await local.run_until([]() -> tako::task<int> {
///     auto h = tako::spawn_local([]() -> tako::task<int> { co_return 1; });
///     co_return *co_await h;
/// });
/// ```
/// Local tasks run only while some task awaits `run_until` on the set's thread, or while
/// that thread is in `block_on`; they are woken from any thread. `run_until` must be
/// awaited on a current_thread runtime (a
/// multi_thread runtime could move the awaiting task, and with it the set, to another
/// worker); it throws `std::logic_error` on a multi_thread worker. `TAKO_MAIN` builds a
/// multi_thread runtime: `TAKO_MAIN_LOCAL(fn)` runs `fn` inside a local_set on a
/// current_thread runtime, so `fn` can call `tako::spawn_local` directly. With a
/// multi_thread runtime, a plain thread drives the set with `block_on(rt, work)`.

#include <memory>
#include <source_location>
#include <stdexcept>
#include <utility>

#include "tako/detail/branches.hpp"
#include "tako/detail/task_cell.hpp"
#include "tako/join_handle.hpp"
#include "tako/runtime.hpp"

namespace tako {

namespace detail {
class local_scheduler;
/// The local_set being driven on this thread, if any.
local_scheduler* current_local_set() noexcept;
scheduler& as_scheduler(local_scheduler& s) noexcept;
void track_local(local_scheduler& s, task_header* t);
/// Drives the set's tasks inside the calling task until `root` completes.
task<void> drive_local_set(local_scheduler& s, task_header* root);
/// Throws `std::logic_error` unless the calling thread may drive `s` in block_on.
void check_local_block_on(const local_scheduler& s);
/// Drives the set's tasks on the calling plain thread until `root` completes.
void drive_local_set_on_thread(local_scheduler& s, task_header* root);
std::unique_ptr<local_scheduler, void (*)(local_scheduler*)> make_local_scheduler();
} // namespace detail

class local_set {
public:
    /// Must be created on a runtime thread (or inside `runtime::enter`).
    local_set();
    local_set(const local_set&) = delete;
    local_set& operator=(const local_set&) = delete;
    /// Cancels every local task that has not finished. Call it on the set's thread.
    ~local_set();

    /// Spawns `work` into this set; it runs when the set is driven by `run_until`.
    template <detail::spawnable X>
    join_handle<detail::spawn_result_t<X>>
    spawn_local(X&& work, std::source_location loc = std::source_location::current()) {
        auto* cell = detail::make_cell(std::forward<X>(work), nullptr, loc);
        detail::track_local(*impl_, cell);
        detail::submit_new_task(detail::as_scheduler(*impl_), cell);
        return join_handle<detail::spawn_result_t<X>>(cell);
    }

    /// Runs `work` as a local task and drives every local task until it finishes; gives
    /// its result (rethrowing its exception). Cancelling `run_until` leaves the local
    /// tasks in the set, to run at the next `run_until`.
    template <detail::spawnable X>
    task<detail::spawn_result_t<X>> run_until(X&& work) {
        join_handle<detail::spawn_result_t<X>> h = spawn_local(std::forward<X>(work));
        return finish(std::move(h));
    }

    /// Runs `work` as a local task on the calling thread, which must not be a runtime
    /// thread, and drives every local task there until it finishes; gives its result
    /// (rethrowing its exception). Meanwhile `rt` runs everything else: `tako::spawn`
    /// from a local task spawns onto `rt` (a multi_thread runtime too), and its timers and
    /// sockets work. Create the set inside `rt.enter()` on this thread. This is how a
    /// multi_thread program runs thread-pinned tasks (Tokio's `LocalSet::block_on`).
    ///
    /// ```cpp
    /// tako::runtime rt = tako::runtime::builder::multi_thread().build();
    /// auto entered = rt.enter();
    /// tako::local_set local;
    /// int v = local.block_on(rt, []() -> tako::task<int> {
    ///     auto h = tako::spawn_local([]() -> tako::task<int> { co_return 2; });
    ///     co_return *co_await h + 1;
    /// });
    /// ```
    template <detail::spawnable X>
    detail::spawn_result_t<X> block_on(runtime& rt, X&& work) {
        detail::check_local_block_on(*impl_);
        const enter_guard entered = rt.enter();
        join_handle<detail::spawn_result_t<X>> h = spawn_local(std::forward<X>(work));
        detail::drive_local_set_on_thread(*impl_, h.header());
        auto r = h.take_result();
        if (!r) {
            r.error().rethrow();
        }
        if constexpr (!std::is_void_v<detail::spawn_result_t<X>>) {
            return std::move(*r);
        }
    }

private:
    template <class T>
    task<T> finish(join_handle<T> h) {
        co_await detail::drive_local_set(*impl_, h.header());
        auto r = h.take_result();
        if (!r) {
            r.error().rethrow();
        }
        if constexpr (!std::is_void_v<T>) {
            co_return std::move(*r);
        }
    }

    std::unique_ptr<detail::local_scheduler, void (*)(detail::local_scheduler*)> impl_;
};

/// Spawns `work` into the local_set being driven on this thread. Throws
/// `std::runtime_error` when no local_set is running here.
template <detail::spawnable X>
join_handle<detail::spawn_result_t<X>>
spawn_local(X&& work, std::source_location loc = std::source_location::current()) {
    detail::local_scheduler* s = detail::current_local_set();
    if (s == nullptr) {
        throw std::runtime_error("tako::spawn_local: no local_set is running on this thread; "
                                 "call it inside local_set::run_until");
    }
    auto* cell = detail::make_cell(std::forward<X>(work), nullptr, loc);
    detail::track_local(*s, cell);
    detail::submit_new_task(detail::as_scheduler(*s), cell);
    return join_handle<detail::spawn_result_t<X>>(cell);
}

/// Spawns `f(args...)` into the local_set being driven on this thread: `f` and the decayed
/// arguments are stored in the task, as `tako::spawn(f, args...)` does.
template <class F, class A0, class... As>
requires detail::spawnable_with<F, A0, As...>
auto spawn_local(F&& f, A0&& a0, As&&... as) {
    return tako::spawn_local(
        detail::bind_call(std::forward<F>(f), std::forward<A0>(a0), std::forward<As>(as)...));
}

} // namespace tako
