#include "time/time_driver.hpp"

#include <algorithm>
#include <vector>

namespace tako::detail {

using namespace std::chrono;

time_driver::time_driver(std::shared_ptr<driver> inner, bool start_paused, std::size_t shards,
                         std::size_t (*shard_hint)() noexcept)
    : inner_(std::move(inner)), start_(clock::now()), shard_hint_(shard_hint) {
    shards_.reserve(shards);
    for (std::size_t i = 0; i < shards; ++i) {
        shards_.push_back(std::make_unique<timer_shard>());
    }
    if (start_paused) {
        pause();
    }
}

std::uint64_t time_driver::tick_of(clock::time_point t) const noexcept {
    if (t <= start_) {
        return 0;
    }
    // Round up: a timer never fires before its deadline (Tokio does the same).
    const auto ns = duration_cast<nanoseconds>(t - start_).count();
    const auto ms = static_cast<std::uint64_t>((ns + 999'999) / 1'000'000);
    // The wheel takes any tick (far ones wait at the end of its reach); the cap only keeps
    // time_of() from overflowing: 2^50 ms is 35,000 years.
    constexpr std::uint64_t far_future = std::uint64_t{1} << 50;
    return ms > far_future ? far_future : ms;
}

time_driver::clock::time_point time_driver::time_of(std::uint64_t tick) const noexcept {
    return start_ + milliseconds(static_cast<std::int64_t>(tick));
}

time_driver::clock::time_point time_driver::now() const noexcept {
    if (paused_.load(std::memory_order_acquire)) {
        return clock::time_point(clock::duration(frozen_.load(std::memory_order_acquire)));
    }
    return clock::now() + clock::duration(offset_.load(std::memory_order_relaxed));
}

void time_driver::pause() noexcept {
    // Freeze on a whole-millisecond tick, so `sleep(d)` from a paused clock ends exactly `d`
    // later (deadlines round up to ticks).
    frozen_.store(time_of(tick_of(now())).time_since_epoch().count(), std::memory_order_release);
    paused_.store(true, std::memory_order_release);
}

void time_driver::resume() noexcept {
    const auto frozen = frozen_.load(std::memory_order_acquire);
    offset_.store(frozen - clock::now().time_since_epoch().count(), std::memory_order_relaxed);
    paused_.store(false, std::memory_order_release);
}

void time_driver::advance(nanoseconds d) noexcept {
    if (d.count() > 0) {
        frozen_.fetch_add(duration_cast<clock::duration>(d).count(), std::memory_order_acq_rel);
    }
    fire_expired();
}

bool time_driver::arm(timer_entry& e, clock::time_point deadline, waker w) noexcept {
    const std::size_t hint = shard_hint_ ? shard_hint_() : 0;
    timer_shard& s = *shards_[hint < shards_.size() ? hint : 0];
    std::lock_guard guard(s.lock);
    // No clock read here (it is most of a timer's cost on this VM): the caller checked
    // the clock in await_ready; a deadline passing since then fires on the next driver
    // turn, as in Tokio.
    const std::uint64_t tick = tick_of(deadline);
    if (tick <= s.wheel.elapsed()) {
        return false;
    }
    e.tick = tick;
    e.to_wake = w;
    e.fired = false;
    e.shard = &s;
    e.home = &s;
    s.wheel.insert(&e);
    // seq_cst pairs with park(): either it sees this entry when it plans, or we see that it
    // is planning (max) or sleeping past this deadline, and unpark it. 0: nobody sleeps.
    if (tick < next_wake_.load(std::memory_order_seq_cst)) {
        inner_->unpark();
    }
    return true;
}

bool time_driver::disarm_entry(timer_entry& e) noexcept {
    // The entry's shard is fixed from arming until it fires or is disarmed, and only the
    // arming task disarms it, so reading the pointer before locking is safe; the entry's
    // state is then read under the shard's lock.
    timer_shard* s = e.home;
    if (s == nullptr) {
        return e.fired;
    }
    std::lock_guard guard(s->lock);
    if (e.shard == nullptr) {
        return e.fired;
    }
    s->wheel.remove(&e);
    e.shard = nullptr;
    return false;
}

std::uint64_t time_driver::next_expiration() noexcept {
    std::uint64_t next = ~std::uint64_t{0};
    for (auto& s : shards_) {
        std::lock_guard guard(s->lock);
        next = std::min(next, s->wheel.next_expiration());
    }
    return next;
}

void time_driver::fire_expired() noexcept {
    static thread_local std::vector<task_ref> to_wake;
    // Whole ticks only: an entry fires once its rounded-up deadline has passed.
    const auto elapsed = now() - start_;
    const auto now_tick =
        elapsed.count() <= 0
            ? 0
            : static_cast<std::uint64_t>(duration_cast<milliseconds>(elapsed).count());
    for (auto& s : shards_) {
        {
            std::lock_guard guard(s->lock);
            s->wheel.advance(now_tick, [&](timer_entry* e) {
                e->shard = nullptr;
                e->fired = true;
                to_wake.push_back(e->to_wake.fire()); // under the lock: the entry is alive
            });
        }
        for (task_ref& r : to_wake) {
            std::move(r).wake();
        }
        to_wake.clear();
    }
}

void time_driver::park(std::optional<nanoseconds> timeout) noexcept {
    // Planning: any timer armed from now on unparks us (see arm()).
    next_wake_.store(~std::uint64_t{0}, std::memory_order_seq_cst);
    const std::uint64_t next = next_expiration();
    next_wake_.store(next, std::memory_order_seq_cst);
    const bool has_timer = next != ~std::uint64_t{0};
    if (paused()) {
        const bool zero = timeout && timeout->count() <= 0;
        if (!zero && has_timer && inhibit_.load(std::memory_order_acquire) == 0) {
            // Idle with a paused clock: jump to the next deadline instead of sleeping.
            const auto target = time_of(next);
            const auto current = now();
            if (target > current) {
                frozen_.fetch_add((target - current).count(), std::memory_order_acq_rel);
            }
            inner_->park(nanoseconds(0));
        } else {
            inner_->park(timeout);
        }
    } else {
        std::optional<nanoseconds> wait = timeout;
        if (has_timer) {
            const auto until = duration_cast<nanoseconds>(time_of(next) - now());
            const auto bounded = until.count() < 0 ? nanoseconds(0) : until;
            if (!wait || bounded < *wait) {
                wait = bounded;
            }
        }
        inner_->park(wait);
    }
    next_wake_.store(0, std::memory_order_seq_cst); // nobody sleeps on the driver now
    fire_expired();
}

} // namespace tako::detail
