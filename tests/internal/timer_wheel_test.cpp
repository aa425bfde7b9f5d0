// The hierarchical timer wheel (src/time/wheel.hpp): 6 levels of 64 slots, 1 tick per
// level-0 slot. Entries fire in deadline order whatever level they start at, and an entry
// is unlinked from whichever slot it has cascaded to when it is cancelled.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "tako/detail/timer_entry.hpp"
#include "time/wheel.hpp"

namespace {

using tako::detail::timer_entry;
using tako::detail::timer_wheel;

constexpr std::uint64_t never = std::numeric_limits<std::uint64_t>::max();

/// A wheel plus `n` entries, and a record of what fired.
class wheel_fixture {
public:
    explicit wheel_fixture(std::size_t n) : entries_(n) {}

    /// Arms entry `i` for `tick`.
    void insert(std::size_t i, std::uint64_t tick) {
        entries_[i].tick = tick;
        wheel.insert(&entries_[i]);
    }
    void remove(std::size_t i) { wheel.remove(&entries_[i]); }
    timer_entry& entry(std::size_t i) { return entries_[i]; }

    /// Advances to `now`; returns the indices of the entries fired, in firing order, and
    /// checks that none fired before its tick or after `now`.
    std::vector<std::size_t> advance(std::uint64_t now) {
        std::vector<std::size_t> fired;
        wheel.advance(now, [&](timer_entry* e) {
            EXPECT_LE(e->tick, now);
            EXPECT_LE(e->tick, wheel.elapsed()) << "fired before its deadline";
            EXPECT_EQ(e->prev, nullptr);
            EXPECT_EQ(e->next, nullptr);
            fired.push_back(static_cast<std::size_t>(e - entries_.data()));
        });
        EXPECT_EQ(wheel.elapsed(), now);
        return fired;
    }

    timer_wheel wheel;

private:
    std::vector<timer_entry> entries_;
};

using ids = std::vector<std::size_t>;

} // namespace

TEST(timer_wheel, empty_wheel_has_no_expiration_and_advances_freely) {
    wheel_fixture w(0);
    EXPECT_EQ(w.wheel.elapsed(), 0u);
    EXPECT_EQ(w.wheel.next_expiration(), never);
    EXPECT_EQ(w.advance(1000), ids{});
    EXPECT_EQ(w.wheel.next_expiration(), never);
}

TEST(timer_wheel, level_zero_entries_fire_at_their_tick) {
    wheel_fixture w(3);
    w.insert(0, 5);
    w.insert(1, 3);
    w.insert(2, 9);
    EXPECT_EQ(w.wheel.next_expiration(), 3u);
    EXPECT_EQ(w.advance(2), ids{});
    EXPECT_EQ(w.advance(4), ids{1});
    EXPECT_EQ(w.wheel.next_expiration(), 5u);
    EXPECT_EQ(w.advance(9), (ids{0, 2}));
    EXPECT_EQ(w.wheel.next_expiration(), never);
}

TEST(timer_wheel, entries_sharing_a_tick_all_fire) {
    wheel_fixture w(4);
    for (std::size_t i = 0; i < 4; ++i) {
        w.insert(i, 70);
    }
    ids fired = w.advance(70);
    std::sort(fired.begin(), fired.end());
    EXPECT_EQ(fired, (ids{0, 1, 2, 3}));
}

// Deadlines on every level, inserted out of order, fire in deadline order in one advance.
TEST(timer_wheel, fires_in_deadline_order_across_levels) {
    const std::vector<std::uint64_t> ticks{(std::uint64_t{1} << 35) + 11,
                                           4096,
                                           1,
                                           (std::uint64_t{1} << 30) + 3,
                                           64,
                                           262144,
                                           63,
                                           4095,
                                           (std::uint64_t{1} << 24) + 7,
                                           65,
                                           262143,
                                           4097};
    wheel_fixture w(ticks.size());
    for (std::size_t i = 0; i < ticks.size(); ++i) {
        w.insert(i, ticks[i]);
    }
    const ids fired = w.advance(timer_wheel::max_tick);
    ASSERT_EQ(fired.size(), ticks.size());
    for (std::size_t k = 1; k < fired.size(); ++k) {
        EXPECT_LT(ticks[fired[k - 1]], ticks[fired[k]]);
    }
    EXPECT_EQ(w.wheel.next_expiration(), never);
}

// Driving the wheel the way the time driver does (sleep until next_expiration, then
// advance to it) fires every entry exactly at its tick, from any starting point.
TEST(timer_wheel, driving_by_next_expiration_fires_each_entry_at_its_tick) {
    constexpr std::size_t n = 2000;
    std::mt19937_64 rng(12345);
    wheel_fixture w(n);
    w.advance(777); // start off any slot boundary
    std::vector<std::uint64_t> ticks(n);
    for (std::size_t i = 0; i < n; ++i) {
        const int bits = static_cast<int>(rng() % 34) + 1; // spread over every level
        ticks[i] = 778 + rng() % (std::uint64_t{1} << bits);
        w.insert(i, ticks[i]);
    }
    std::vector<int> fired_count(n, 0);
    std::size_t steps = 0;
    while (w.wheel.next_expiration() != never) {
        const std::uint64_t next = w.wheel.next_expiration();
        ASSERT_GE(next, w.wheel.elapsed());
        ASSERT_LT(++steps, 100 * n) << "the wheel does not make progress";
        for (std::size_t i : w.advance(next)) {
            EXPECT_EQ(ticks[i], next) << "entry " << i << " fired late";
            ++fired_count[i];
        }
    }
    EXPECT_EQ(std::count(fired_count.begin(), fired_count.end(), 1),
              static_cast<std::ptrdiff_t>(n));
}

// Advancing in uneven jumps fires exactly the entries whose tick has been reached.
TEST(timer_wheel, advancing_in_jumps_fires_exactly_the_expired_entries) {
    constexpr std::size_t n = 1000;
    std::mt19937_64 rng(99);
    wheel_fixture w(n);
    std::vector<std::uint64_t> ticks(n);
    for (std::size_t i = 0; i < n; ++i) {
        ticks[i] = 1 + rng() % 300000;
        w.insert(i, ticks[i]);
    }
    std::vector<bool> fired(n, false);
    std::uint64_t now = 0;
    while (now < 300000) {
        const std::uint64_t prev = now;
        now = std::min<std::uint64_t>(300000, now + 1 + rng() % 9000);
        std::uint64_t last_tick = 0;
        for (std::size_t i : w.advance(now)) {
            EXPECT_FALSE(fired[i]);
            EXPECT_GT(ticks[i], prev);
            EXPECT_GE(ticks[i], last_tick) << "out of deadline order";
            last_tick = ticks[i];
            fired[i] = true;
        }
        for (std::size_t i = 0; i < n; ++i) {
            ASSERT_EQ(fired[i], ticks[i] <= now) << "entry " << i << " at tick " << ticks[i];
        }
    }
}

TEST(timer_wheel, cancelled_entries_do_not_fire) {
    wheel_fixture w(4);
    w.insert(0, 10); // one slot: 0, 1, 2
    w.insert(1, 10);
    w.insert(2, 10);
    w.insert(3, 5000); // a higher level
    w.remove(1); // the middle of the slot's list
    w.remove(2); // its head (the last inserted)
    w.remove(3);
    EXPECT_EQ(w.entry(3).prev, nullptr);
    EXPECT_EQ(w.entry(3).next, nullptr);
    EXPECT_EQ(w.wheel.next_expiration(), 10u);
    EXPECT_EQ(w.advance(10000), ids{0});
}

TEST(timer_wheel, cancelling_the_only_entry_empties_the_wheel) {
    wheel_fixture w(2);
    w.insert(0, 40);
    w.insert(1, 1u << 20);
    w.remove(0);
    w.remove(1);
    EXPECT_EQ(w.wheel.next_expiration(), never);
    EXPECT_EQ(w.advance(2u << 20), ids{});
}

// An entry that has cascaded to a lower level is removed from where it is now.
TEST(timer_wheel, cancel_after_cascade_unlinks_from_the_new_slot) {
    wheel_fixture w(2);
    w.insert(0, 100);  // level 1 at tick 0
    w.insert(1, 100);
    EXPECT_EQ(w.entry(0).level, 1u);
    EXPECT_EQ(w.advance(70), ids{}); // the level-1 slot cascades at tick 64
    EXPECT_EQ(w.entry(0).level, 0u);
    EXPECT_EQ(w.entry(0).slot, 100u % 64);
    w.remove(0);
    EXPECT_EQ(w.advance(100), ids{1});
}

// Deadlines past the wheel's reach (2^36 ticks, about 2.2 years) are neither lost nor
// fired early: they wait at the end of the reach with their real tick, and each time that
// slot expires they go back in, until their own tick comes.
TEST(timer_wheel, far_future_deadlines_fire_at_their_own_tick) {
    wheel_fixture w(3);
    const std::uint64_t far = 3 * timer_wheel::max_tick + 1000;
    w.insert(0, far);
    w.insert(1, never);
    w.insert(2, timer_wheel::max_tick);
    EXPECT_EQ(w.entry(0).tick, far);
    EXPECT_LE(w.wheel.next_expiration(), timer_wheel::max_tick);
    EXPECT_EQ(w.advance(timer_wheel::max_tick - 1), ids{});
    EXPECT_EQ(w.advance(timer_wheel::max_tick), ids{2});
    EXPECT_EQ(w.advance(far - 1), ids{});
    EXPECT_EQ(w.advance(far), ids{0});
    EXPECT_EQ(w.advance(far + 5 * timer_wheel::max_tick), ids{});
}

TEST(timer_wheel, fired_or_cancelled_entry_can_be_inserted_again) {
    wheel_fixture w(2);
    w.insert(0, 20);
    EXPECT_EQ(w.advance(20), ids{0});
    w.insert(0, 5000); // re-armed after it fired
    w.insert(1, 30);
    w.remove(1);
    w.insert(1, 40); // re-armed after a cancel
    EXPECT_EQ(w.advance(4999), ids{1});
    EXPECT_EQ(w.advance(5000), ids{0});
    EXPECT_EQ(w.wheel.next_expiration(), never);
}

TEST(timer_wheel, entries_inserted_after_the_wheel_moved_fire_in_order) {
    wheel_fixture w(4);
    w.advance(100); // elapsed is in the middle of a level-0 rotation
    w.insert(0, 5000);
    w.insert(1, 130);
    w.insert(2, 101);
    w.insert(3, 200);
    EXPECT_EQ(w.advance(101), ids{2});
    EXPECT_EQ(w.advance(199), ids{1});
    EXPECT_EQ(w.advance(200), ids{3});
    EXPECT_EQ(w.advance(5000), ids{0});
}
