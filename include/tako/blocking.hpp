#pragma once
/// \file
/// Running blocking code: `tako::spawn_blocking` and `tako::block_in_place`.
///
/// Blocking a worker thread (a long computation, a blocking syscall) stalls every task
/// queued behind it. `spawn_blocking` moves the work to the blocking pool and gives a
/// `join_handle`; `block_in_place` blocks right here but first hands this worker's queues
/// to another thread.

#include <functional>
#include <source_location>
#include <type_traits>
#include <utility>

#include "tako/runtime.hpp"

namespace tako {

/// Runs `f()` on the current runtime's blocking pool (threads created on demand up to
/// `max_blocking_threads`, retired after `thread_keep_alive` idle). `abort()` cancels it
/// only if it has not started yet. Throws `std::runtime_error` outside a runtime. If no
/// thread can be started (EAGAIN) and no pool thread is busy to take the task later, the
/// join_handle fails with a `std::system_error` (`is_panic()`; see `join_error`).
template <class F>
auto spawn_blocking(F&& f, std::source_location loc = std::source_location::current()) {
    return runtime_handle::current().spawn_blocking(std::forward<F>(f), loc);
}

/// Runs `f(args...)` on the blocking pool, with `f` and the decayed arguments stored in the
/// task: the spelling that is safe in a `co_await` statement on g++ 12 (see spawn.hpp).
///
/// ```cpp
/// auto n = co_await tako::spawn_blocking([](std::string path) { return file_size(path); }, p);
/// ```
template <class F, class A0, class... As>
requires detail::blocking_callable_with<F, A0, As...>
auto spawn_blocking(F&& f, A0&& a0, As&&... as) {
    return runtime_handle::current().spawn_blocking(
        detail::bind_call(std::forward<F>(f), std::forward<A0>(a0), std::forward<As>(as)...));
}

namespace detail {
class scheduler;
/// A blocking section: on a multi_thread worker, offers its queues to a spare thread or a
/// new one, and takes them back at the end if that thread has not claimed them yet.
/// Throws `std::logic_error` on a current_thread runtime's thread.
class block_in_place_scope {
public:
    block_in_place_scope();
    block_in_place_scope(const block_in_place_scope&) = delete;
    block_in_place_scope& operator=(const block_in_place_scope&) = delete;
    ~block_in_place_scope();

private:
    scheduler* sched_ = nullptr;
    void* token_ = nullptr;
};
} // namespace detail

/// Runs `f()` on the calling thread, which may block. On a multi_thread worker the
/// worker's queues move to another thread first, so other tasks keep running; the calling
/// task continues on this thread until its next suspension. When `f` returns before that
/// other thread has claimed the queues, this thread keeps them (a short blocking section
/// costs a wake-up, not a hand-over). Otherwise the thread that gave its worker away waits,
/// after the task's poll, up to the builder's `thread_keep_alive`, to adopt the worker of
/// the next `block_in_place`: a run of calls starts a thread only when no spare is waiting. Throws `std::logic_error` on a current_thread runtime (as Tokio panics there).
template <class F>
decltype(auto) block_in_place(F&& f) {
    const detail::block_in_place_scope blocking;
    return std::invoke(std::forward<F>(f));
}

} // namespace tako
