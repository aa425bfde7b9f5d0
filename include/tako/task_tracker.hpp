#pragma once
/// \file
/// `tako::task_tracker`: counts tasks and waits until all of them have ended
/// (`tokio_util::task::TaskTracker`), the usual partner of a `cancellation_token` for
/// graceful shutdown.
///
/// ```cpp
/// #include <tako/sync/cancellation_token.hpp>
/// #include <tako/task_tracker.hpp>
///
/// tako::task<void> shutdown_gracefully() {
///     tako::task_tracker tracker;
///     tako::cancellation_token stop;
///     for (int i = 0; i < 4; ++i) {
///         tracker.spawn([](tako::cancellation_token stop) -> tako::task<void> {
///             while (!stop.is_cancelled()) {
///                 co_await stop.run_until_cancelled(handle_request());
///             }
///         }, stop).detach(); // tracked until it ends; no need to keep the handle
///     }
///     stop.cancel();        // ask every worker to stop
///     tracker.close();      // no more tasks: wait() may complete once they are gone
///     co_await tracker.wait();
/// }
/// ```
///
/// Unlike a `join_set`, a tracker keeps no results and no handles: `spawn` returns the
/// task's `join_handle` as `tako::spawn` does (drop it to detach), and the tracker only
/// counts the task until it *ends*: returns, throws, or is cancelled (aborted, or at
/// runtime shutdown) — whatever happens to its handle. `wait()` completes once the tracker
/// is closed and empty; closing only says that no more tasks are expected (a closed
/// tracker still accepts and counts new tasks, as Tokio's does), and `reopen()` undoes it.
///
/// A `task_tracker` is a cheap handle: copies share the same tracker. Thread-safe.

#include <atomic>
#include <concepts>
#include <cstddef>
#include <functional>
#include <memory>
#include <source_location>
#include <type_traits>
#include <utility>

#include "tako/blocking.hpp"
#include "tako/detail/branches.hpp"
#include "tako/detail/task_cell.hpp"
#include "tako/join_handle.hpp"
#include "tako/spawn.hpp"
#include "tako/sync/notify.hpp"
#include "tako/task.hpp"

namespace tako {

namespace detail {

/// A tracker's shared state: `state` is `2 * tracked + closed` (Tokio's layout), so
/// "closed and empty" is the single value 1.
struct tracker_state {
    std::atomic<std::size_t> state{0};
    /// Fired (`notify_waiters`) each time the tracker becomes closed and empty.
    sync::notify on_last_exit;

    void add() noexcept {
        // relaxed: only the decrement that empties the tracker needs ordering.
        state.fetch_add(2, std::memory_order_relaxed);
    }
    void remove() noexcept {
        // acq_rel: whoever sees the tracker closed and empty (wait()) sees what the tasks
        // did before they ended.
        if (state.fetch_sub(2, std::memory_order_acq_rel) == 3) {
            on_last_exit.notify_waiters();
        }
    }
};

} // namespace detail

/// Counts one task (or future) in a tracker while it lives (`TaskTrackerToken`). Move-only;
/// a moved-from token counts nothing.
class task_tracker_token {
public:
    task_tracker_token(task_tracker_token&& o) noexcept : state_(std::move(o.state_)) {}
    task_tracker_token& operator=(task_tracker_token&& o) noexcept {
        if (this != &o) {
            release();
            state_ = std::move(o.state_);
        }
        return *this;
    }
    task_tracker_token(const task_tracker_token&) = delete;
    task_tracker_token& operator=(const task_tracker_token&) = delete;
    /// Stops counting: the tracker may now be empty (and `wait()` complete).
    ~task_tracker_token() { release(); }

private:
    friend class task_tracker;
    explicit task_tracker_token(std::shared_ptr<detail::tracker_state> s) noexcept
        : state_(std::move(s)) {
        state_->add();
    }
    void release() noexcept {
        if (state_) {
            std::shared_ptr<detail::tracker_state> s = std::move(state_);
            s->remove();
        }
    }

    std::shared_ptr<detail::tracker_state> state_;
};

namespace detail {

/// The callable a tracker spawns: owns the user's work and the tracking token. The task
/// destroys its callable exactly when it ends (see task_cell), after the work's frames:
/// the token (declared first, destroyed last) then stops counting.
template <class X>
struct tracked_entry {
    task_tracker_token token;
    X work;

    auto operator()() {
        if constexpr (task_type<X>) {
            return std::move(work);
        } else {
            return std::invoke(work);
        }
    }
};

/// A plain callable that `spawn_blocking` can run.
template <class F>
concept blocking_callable = requires(std::decay_t<F>& f) {
    std::invoke(f);
};

/// `track_future`: the token lives in the frame from the call until the body ends (a
/// local, destroyed before the final suspension) or the frame is destroyed unstarted.
template <class R>
task<R> tracked_task(task_tracker_token token, task<R> work) {
    task_tracker_token mine = std::move(token);
    task<R> inner = std::move(work);
    co_return co_await std::move(inner);
}

/// `task_tracker::wait`: owns a reference to the state, not to the handle.
inline task<void> tracker_wait(std::shared_ptr<tracker_state> s) {
    // Created before the check: a notify_waiters after it completes it even before it is
    // awaited, so becoming empty between the check and the await is not missed.
    auto last_exit = s->on_last_exit.notified();
    if (s->state.load(std::memory_order_acquire) == 1) {
        co_return;
    }
    co_await std::move(last_exit);
}

} // namespace detail

/// Tracks tasks until they end (`tokio_util::task::TaskTracker`). A cheap handle: copies
/// share the same tracker. Thread-safe.
class task_tracker {
public:
    /// A new, open, empty tracker. Allocates.
    task_tracker() : state_(std::make_shared<detail::tracker_state>()) {}

    /// Spawns `work` (a `task<T>` or a callable returning one) as `tako::spawn` does and
    /// tracks it until it ends (returns, throws or is cancelled), whatever becomes of the
    /// returned handle. Throws `std::runtime_error` outside a runtime.
    template <detail::spawnable X>
    join_handle<detail::spawn_result_t<X>>
    spawn(X&& work, std::source_location loc = std::source_location::current()) const {
        return tako::spawn(entry(std::forward<X>(work)), loc);
    }

    /// Spawns `f(args...)` and tracks it; `f` and the decayed arguments are stored in the
    /// task, as `tako::spawn(f, args...)` does (the form that is safe inside a `co_await`
    /// statement on g++ 12).
    template <class F, class A0, class... As>
    requires detail::spawnable_with<F, A0, As...>
    auto spawn(F&& f, A0&& a0, As&&... as) const {
        return spawn(
            detail::bind_call(std::forward<F>(f), std::forward<A0>(a0), std::forward<As>(as)...));
    }

    /// Runs `f()` on the blocking pool as `tako::spawn_blocking` does and tracks it until
    /// it ends (returns, throws, or is aborted before it started).
    template <detail::blocking_callable F>
    auto spawn_blocking(F&& f, std::source_location loc = std::source_location::current()) const {
        return tako::spawn_blocking(entry(std::forward<F>(f)), loc);
    }

    /// `spawn_blocking` of `f(args...)`, with `f` and the decayed arguments stored in the
    /// task.
    template <class F, class A0, class... As>
    requires detail::blocking_callable_with<F, A0, As...>
    auto spawn_blocking(F&& f, A0&& a0, As&&... as) const {
        return spawn_blocking(
            detail::bind_call(std::forward<F>(f), std::forward<A0>(a0), std::forward<As>(as)...));
    }

    /// Wraps `work` (a `task<T>` or any awaitable, as for `tako::select`) in a task that
    /// is tracked from now until it ends or is destroyed (`TaskTracker::track_future`):
    /// await it, spawn it, or put it in a `select`.
    template <class A>
    [[nodiscard]] auto track_future(A&& work) const {
        using R = detail::branch_result_t<A>;
        return detail::tracked_task<R>(token(), detail::as_branch(std::forward<A>(work)));
    }

    /// A token that counts as one tracked task while it lives (`TaskTracker::token`).
    [[nodiscard]] task_tracker_token token() const noexcept { return task_tracker_token(state_); }

    /// Closes the tracker: `wait()` completes once it is also empty. Returns true if this
    /// call closed it (false if it already was). Tasks can still be spawned and tracked.
    bool close() const noexcept {
        const std::size_t prev = state_->state.fetch_or(1, std::memory_order_acq_rel);
        if (prev == 0) {
            state_->on_last_exit.notify_waiters(); // closed and empty now
        }
        return (prev & 1) == 0;
    }
    /// Reopens a closed tracker. Returns true if this call reopened it. A `wait()` already
    /// woken by the tracker becoming closed and empty still completes.
    bool reopen() const noexcept {
        return (state_->state.fetch_and(~std::size_t{1}, std::memory_order_acq_rel) & 1) != 0;
    }
    /// True while the tracker is closed.
    [[nodiscard]] bool is_closed() const noexcept {
        return (state_->state.load(std::memory_order_acquire) & 1) != 0;
    }
    /// The number of tasks (and tokens, and `track_future` tasks) tracked now.
    [[nodiscard]] std::size_t len() const noexcept {
        return state_->state.load(std::memory_order_acquire) >> 1;
    }
    /// True when no task is tracked.
    [[nodiscard]] bool is_empty() const noexcept {
        return state_->state.load(std::memory_order_acquire) <= 1;
    }

    /// Completes once the tracker is closed and empty: at once if it is now, else when it
    /// next becomes so (even if it is reopened before the waiting task resumes). Any
    /// number of tasks may wait. Cancel-safe (nothing to lose). The returned task keeps the
    /// tracker's state alive by itself.
    [[nodiscard]] task<void> wait() const { return detail::tracker_wait(state_); }

private:
    /// The work, with a token that counts it from now on.
    template <class X>
    detail::tracked_entry<std::decay_t<X>> entry(X&& work) const {
        return detail::tracked_entry<std::decay_t<X>>{token(), std::forward<X>(work)};
    }

    std::shared_ptr<detail::tracker_state> state_;
};

} // namespace tako
