#pragma once
/// \file
/// `tako::time::interval`: ticks at a fixed period (`tokio::time::Interval`).
///
/// ```cpp
/// tako::time::interval every(100ms);
/// for (;;) { co_await every.tick(); do_work(); }      // first tick completes at once
/// ```
/// When ticks are missed (the task was busy past a deadline), `missed_tick_behavior`
/// decides what follows, as in Tokio: `burst` (default) fires the missed ticks back to back,
/// `delay` restarts the period from the late tick, `skip` jumps to the next multiple of the
/// period. `tick()` is cancel-safe: a cancelled tick loses nothing.

#include <stdexcept>

#include "tako/task.hpp"
#include "tako/time/sleep.hpp"

namespace tako::time {

enum class missed_tick_behavior { burst, delay, skip };

class interval {
public:
    /// Ticks now, then every `period` (`tokio::time::interval`).
    explicit interval(duration period) : interval(instant::now(), period) {}
    /// Ticks at `start`, `start + period`, … Throws `std::invalid_argument` for a period <= 0.
    interval(instant start, duration period) : next_(start), period_(period) {
        if (period.count() <= 0) {
            throw std::invalid_argument("tako::time::interval: the period must be positive");
        }
    }

    /// Completes at the next tick; gives the instant the tick was scheduled for.
    task<instant> tick() {
        sleep s(next_);
        co_await s;
        const instant scheduled = next_;
        const instant now = instant::now();
        // Late by more than a few ms: apply the missed-tick policy (Tokio's tolerance).
        if (now > scheduled + std::chrono::milliseconds(5)) {
            next_ = after_missed(scheduled, now);
        } else {
            next_ = scheduled + period_;
        }
        co_return scheduled;
    }

    /// The next tick comes one period from now.
    void reset() noexcept { next_ = instant::now() + period_; }
    /// The next tick comes at once.
    void reset_immediately() noexcept { next_ = instant::now(); }
    /// The next tick comes at `deadline`.
    void reset_at(instant deadline) noexcept { next_ = deadline; }

    [[nodiscard]] duration period() const noexcept { return period_; }
    [[nodiscard]] missed_tick_behavior behavior() const noexcept { return behavior_; }
    void set_missed_tick_behavior(missed_tick_behavior b) noexcept { behavior_ = b; }

private:
    instant after_missed(instant scheduled, instant now) const noexcept {
        switch (behavior_) {
        case missed_tick_behavior::burst:
            return scheduled + period_;
        case missed_tick_behavior::delay:
            return now + period_;
        case missed_tick_behavior::skip:
        default: {
            const auto late = (now - scheduled).count() % period_.count();
            return now + duration(period_.count() - late);
        }
        }
    }

    instant next_;
    duration period_;
    missed_tick_behavior behavior_ = missed_tick_behavior::burst;
};

/// An interval whose first tick completes at `start`.
[[nodiscard]] inline interval interval_at(instant start, duration period) {
    return interval(start, period);
}

} // namespace tako::time
