#pragma once
// Fault-injection points for regression tests of races whose window is a few instructions
// wide (a waker between its queue push and its last access to the scheduler; shutdown
// between popping a task and cancelling it). Compiled in only with TAKO_FAULT_INJECTION
// (the debug, asan and tsan presets); in other builds `at()` is empty and costs nothing.
// A test installs a hook that, e.g., sleeps on the thread it wants to lose the race.

#include <atomic>

namespace tako::detail::fault {

enum class point {
    /// A thread that is not one of the scheduler's own queued a task (the task may now run
    /// and finish) and has not yet unparked anyone. In every scheduler's schedule().
    pushed_from_outside,
    /// Runtime shutdown popped a task from the registry and has not cancelled it yet.
    shutdown_popped_task,
    /// The blocking pool is about to start a thread (a hook may throw to simulate EAGAIN).
    blocking_thread_start,
};

using hook_fn = void (*)(point);

#if defined(TAKO_FAULT_INJECTION)
/// The installed hook (null: none). Tests set it; the library only reads it.
extern std::atomic<hook_fn> hook;
inline void at(point p) {
    if (hook_fn h = hook.load(std::memory_order_acquire)) {
        h(p);
    }
}
#else
inline void at(point) {}
#endif

} // namespace tako::detail::fault
