#pragma once
// The time driver: a timer wheel plus a clock, wrapped around an inner driver (the I/O
// driver, or a thread parker when I/O is off). Parking parks the inner driver until the
// next deadline (or an unpark), then fires what expired. The clock can be paused for tests;
// while paused and idle, time jumps to the next deadline — not while auto-advance is
// inhibited (blocking-pool work runs and might still wake someone).

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "runtime/driver.hpp"
#include "tako/detail/timer_entry.hpp"
#include "time/wheel.hpp"

namespace tako::detail {

/// One wheel and its lock. Each worker arms timers in its own shard, so timer churn on
/// several workers never contends on one lock (Tokio's single wheel mutex does: its #6504);
/// whoever parks on the driver fires the expired timers of every shard.
struct timer_shard {
    std::mutex lock;
    timer_wheel wheel;
};

class time_driver final : public driver {
public:
    using clock = std::chrono::steady_clock;

    /// `shards`: wheels (one per worker plus one for other threads); `shard_hint` gives
    /// the calling thread's shard index.
    time_driver(std::shared_ptr<driver> inner, bool start_paused, std::size_t shards,
                std::size_t (*shard_hint)() noexcept);

    void park(std::optional<std::chrono::nanoseconds> timeout) noexcept override;
    void unpark() noexcept override { inner_->unpark(); }
    void shutdown() noexcept override { inner_->shutdown(); }

    /// While inhibited (a count: blocking-pool work runs), a paused clock does not jump.
    void inhibit_auto_advance() noexcept { inhibit_.fetch_add(1, std::memory_order_acq_rel); }
    void allow_auto_advance() noexcept {
        if (inhibit_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            inner_->unpark(); // a parked thread re-plans: the clock may jump now
        }
    }

    bool arm(timer_entry& e, clock::time_point deadline, waker w) noexcept;
    /// Disarms `e` (any thread; it needs no driver: the entry knows its shard).
    static bool disarm_entry(timer_entry& e) noexcept;

    [[nodiscard]] clock::time_point now() const noexcept;
    [[nodiscard]] bool paused() const noexcept { return paused_.load(std::memory_order_acquire); }
    void pause() noexcept;
    void resume() noexcept;
    /// Moves a paused clock forward by `d` and fires what expired.
    void advance(std::chrono::nanoseconds d) noexcept;
    /// Fires every timer whose deadline has passed on the clock.
    void fire_expired() noexcept;

private:
    std::uint64_t tick_of(clock::time_point t) const noexcept;
    clock::time_point time_of(std::uint64_t tick) const noexcept;

    /// The earliest expiration over all shards (max if none).
    std::uint64_t next_expiration() noexcept;

    std::shared_ptr<driver> inner_;
    const clock::time_point start_;
    std::size_t (*shard_hint_)() noexcept;
    std::atomic<std::uint32_t> inhibit_{0};
    std::vector<std::unique_ptr<timer_shard>> shards_;
    /// The tick the parked thread sleeps until (max while it plans, 0 when nobody sleeps);
    /// arming an earlier timer unparks it.
    std::atomic<std::uint64_t> next_wake_{0};
    std::atomic<bool> paused_{false};
    std::atomic<clock::rep> frozen_{0}; ///< the paused clock's time since the epoch
    std::atomic<clock::rep> offset_{0}; ///< added to the steady clock after a resume
};

} // namespace tako::detail
