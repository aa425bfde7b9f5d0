#pragma once
/// \file
/// `tako::time::sleep`: wait until a deadline (`tokio::time::sleep`).
///
/// ```cpp
/// co_await tako::time::sleep(100ms);
/// tako::time::sleep s = tako::time::sleep_until(deadline);
/// s.reset(tako::time::instant::now() + 1s);   // move the deadline
/// co_await s;
/// ```
/// Deadlines round up to the next millisecond (1 ms resolution, as in Tokio). The timer is
/// an intrusive entry of the runtime's timer wheel: arming it allocates nothing.
///
/// Cancel safety: destroying a sleep (or the task awaiting it) disarms its timer, from any
/// thread; nothing else is lost.

#include <coroutine>

#include "tako/detail/task_header.hpp"
#include "tako/detail/timer_entry.hpp"
#include "tako/detail/wait_list.hpp"
#include "tako/time/instant.hpp"

namespace tako::time {

class sleep {
public:
    /// Sleeps until `deadline` when awaited.
    explicit sleep(instant deadline) noexcept : deadline_(deadline) {}
    /// Sleeps for `d` from now when awaited (`d <= 0` completes at once).
    explicit sleep(duration d) noexcept : deadline_(instant::now() + d) {}
    /// Only a sleep that is not being awaited may be moved.
    sleep(sleep&& o) noexcept : deadline_(o.deadline_) {}
    sleep(const sleep&) = delete;
    sleep& operator=(const sleep&) = delete;
    /// Disarms the timer if a task waits on it (e.g. that task is being cancelled).
    ~sleep() {
        if (armed_) {
            detail::timer_disarm(entry_);
        }
    }

    [[nodiscard]] instant deadline() const noexcept { return deadline_; }
    [[nodiscard]] bool is_elapsed() const noexcept { return instant::now() >= deadline_; }

    /// Moves the deadline. Call it from the task that owns the sleep. If a task is waiting
    /// on it, the wait continues until the new deadline — unless the old one already fired,
    /// in which case that wait completes.
    void reset(instant deadline) noexcept {
        deadline_ = deadline;
        if (!armed_ || detail::timer_disarm(entry_)) {
            return; // not waiting, or already fired: the waiting task is being woken
        }
        if (!detail::timer_arm(detail::current_time_driver("tako::time::sleep::reset"), entry_,
                               deadline_.time_point(), entry_.to_wake)) {
            armed_ = false;
            entry_.to_wake.fire().wake(); // the new deadline is already due
        }
    }

    /// Awaiting a sleep (an lvalue, or a temporary) waits for its deadline. A sleep can be
    /// borrowed by `select` (`select(deadline, ...)`): when that branch loses, the awaiter
    /// disarms the timer and the sleep can be awaited again.
    struct awaiter {
        sleep& s;
        explicit awaiter(sleep& sl) noexcept : s(sl) {}
        awaiter(const awaiter&) = delete;
        awaiter& operator=(const awaiter&) = delete;
        ~awaiter() {
            if (s.armed_) {
                detail::timer_disarm(s.entry_);
                s.armed_ = false;
            }
        }
        bool await_ready() const noexcept { return s.ready(); }
        bool await_suspend(std::coroutine_handle<> h) { return s.suspend(h); }
        void await_resume() const noexcept { s.armed_ = false; } // the driver unlinked it
    };
    awaiter operator co_await() & noexcept { return awaiter{*this}; }
    awaiter operator co_await() && noexcept { return awaiter{*this}; }

private:
    bool ready() const noexcept { return deadline_ <= instant::now() && detail::consume_budget(); }
    // Resumed by the scheduler after the time driver fires our entry (on whichever thread
    // holds the driver), or after a budget yield.
    bool suspend(std::coroutine_handle<> h) {
        detail::time_driver& driver = detail::current_time_driver("tako::time::sleep");
        armed_ = detail::timer_arm(driver, entry_, deadline_.time_point(),
                                   detail::record_suspension(h, gate_));
        if (armed_) {
            return true;
        }
        return detail::complete_or_yield(h); // already due
    }

    instant deadline_;
    detail::timer_entry entry_; ///< holds the waiting task's waker while armed
    detail::wake_gate gate_;    ///< opened when the entry fires
    bool armed_ = false;        ///< linked while a task waits (only the owning task touches this)
};

/// A sleep until `deadline`.
[[nodiscard]] inline sleep sleep_until(instant deadline) noexcept {
    return sleep(deadline);
}

} // namespace tako::time
