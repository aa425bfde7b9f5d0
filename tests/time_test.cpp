#include <tako/tako.hpp>
#include <tako/testing.hpp>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using tako::time::instant;

namespace {
struct counted {
    static inline int live = 0;
    counted() { ++live; }
    counted(const counted&) = delete;
    ~counted() { --live; }
};

/// Waits for every task of `set` (no abort).
tako::task<void> drain(tako::join_set<int>& set) {
    for (;;) {
        auto r = co_await set.join_next();
        if (!r) {
            co_return;
        }
    }
}
} // namespace

TAKO_TEST_PAUSED(time, sleep_advances_the_paused_clock_exactly) {
    const instant t0 = instant::now();
    co_await tako::time::sleep(250ms);
    EXPECT_EQ(instant::now() - t0, std::chrono::nanoseconds(250ms));
}

// The wheel reaches 2^36 ms (about 2.2 years) ahead: a longer sleep must not end at the
// reach, and once the runtime's clock is past the reach, sleeps must still wait.
TAKO_TEST_PAUSED(time, sleeps_beyond_the_wheel_reach_end_on_time) {
    using days = std::chrono::days;
    const instant t0 = instant::now();
    co_await tako::time::sleep(days(1000));
    EXPECT_EQ(instant::now() - t0, std::chrono::nanoseconds(days(1000)));
    const instant t1 = instant::now();
    co_await tako::time::sleep(10ms);
    EXPECT_EQ(instant::now() - t1, std::chrono::nanoseconds(10ms));
}

TAKO_TEST_PAUSED(time, timers_fire_in_deadline_order) {
    std::vector<int> order;
    tako::join_set<int> set;
    for (int ms : {50, 10, 30, 20, 40, 10}) {
        set.spawn([ms, &order]() -> tako::task<int> {
            co_await tako::time::sleep(std::chrono::milliseconds(ms));
            order.push_back(ms);
            co_return ms;
        });
    }
    co_await drain(set);
    EXPECT_EQ(order, (std::vector<int>{10, 10, 20, 30, 40, 50}));
}

TAKO_TEST_PAUSED(time, zero_and_past_deadlines_complete_at_once) {
    const instant t0 = instant::now();
    co_await tako::time::sleep(0ms);
    co_await tako::time::sleep(-5ms);
    co_await tako::time::sleep_until(t0 - 1s);
    EXPECT_EQ(instant::now(), t0);
}

TAKO_TEST_PAUSED(time, timeout_completes_when_work_is_faster) {
    auto quick = []() -> tako::task<int> {
        co_await tako::time::sleep(10ms);
        co_return 7;
    };
    auto r = co_await tako::time::timeout(1s, quick());
    TAKO_CO_ASSERT(r.has_value());
    EXPECT_EQ(*r, 7);
}

TAKO_TEST_PAUSED(time, timeout_expires_and_destroys_the_work) {
    auto slow = []() -> tako::task<int> {
        counted c;
        co_await tako::time::sleep(10s);
        co_return 1;
    };
    const instant t0 = instant::now();
    auto r = co_await tako::time::timeout(100ms, slow());
    EXPECT_FALSE(r.has_value());
    EXPECT_EQ(counted::live, 0); // the inner frame was destroyed before timeout returned
    EXPECT_EQ(instant::now() - t0, std::chrono::nanoseconds(100ms));
}

TAKO_TEST_PAUSED(time, reset_moves_the_deadline) {
    const instant t0 = instant::now();
    tako::time::sleep s(100ms);
    s.reset(t0 + 300ms);
    co_await s;
    EXPECT_EQ(instant::now() - t0, std::chrono::nanoseconds(300ms));
}

TAKO_TEST_PAUSED(time, reset_while_waiting_from_a_sibling_branch) {
    const instant t0 = instant::now();
    tako::time::sleep s(1s);
    auto wait = [&]() -> tako::task<> { co_await s; };
    auto shorten = [&]() -> tako::task<> {
        co_await tako::time::sleep(10ms);
        s.reset(t0 + 50ms);
    };
    co_await tako::join(wait(), shorten());
    EXPECT_EQ(instant::now() - t0, std::chrono::nanoseconds(50ms));
}

TAKO_TEST_PAUSED(time, advance_fires_due_timers) {
    tako::time::instant t0 = instant::now();
    bool done = false;
    auto h = tako::spawn([&]() -> tako::task<> {
        co_await tako::time::sleep(30ms);
        done = true;
    });
    co_await tako::yield_now();
    co_await tako::time::advance(20ms);
    EXPECT_FALSE(done);
    co_await tako::time::advance(10ms);
    EXPECT_TRUE(done);
    EXPECT_EQ(instant::now() - t0, std::chrono::nanoseconds(30ms));
    co_await h;
}

TAKO_TEST_PAUSED(interval, burst_catches_up_back_to_back) {
    const instant t0 = instant::now();
    tako::time::interval every(10ms);
    EXPECT_EQ(co_await every.tick(), t0); // the first tick completes at once
    co_await tako::time::advance(35ms);   // miss three ticks (10, 20, 30)
    std::vector<std::chrono::nanoseconds> at;
    for (int i = 0; i < 4; ++i) {
        at.push_back(co_await every.tick() - t0);
    }
    EXPECT_EQ(at, (std::vector<std::chrono::nanoseconds>{10ms, 20ms, 30ms, 40ms}));
    EXPECT_EQ(instant::now() - t0, std::chrono::nanoseconds(40ms));
}

TAKO_TEST_PAUSED(interval, delay_restarts_from_the_late_tick) {
    const instant t0 = instant::now();
    tako::time::interval every(10ms);
    every.set_missed_tick_behavior(tako::time::missed_tick_behavior::delay);
    (void)co_await every.tick();
    co_await tako::time::advance(35ms);
    EXPECT_EQ(co_await every.tick() - t0, std::chrono::nanoseconds(10ms)); // late, at 35
    EXPECT_EQ(co_await every.tick() - t0, std::chrono::nanoseconds(45ms));
    EXPECT_EQ(co_await every.tick() - t0, std::chrono::nanoseconds(55ms));
}

TAKO_TEST_PAUSED(interval, skip_jumps_to_the_next_multiple) {
    const instant t0 = instant::now();
    tako::time::interval every(10ms);
    every.set_missed_tick_behavior(tako::time::missed_tick_behavior::skip);
    (void)co_await every.tick();
    co_await tako::time::advance(35ms);
    EXPECT_EQ(co_await every.tick() - t0, std::chrono::nanoseconds(10ms)); // late, at 35
    EXPECT_EQ(co_await every.tick() - t0, std::chrono::nanoseconds(40ms));
    EXPECT_EQ(co_await every.tick() - t0, std::chrono::nanoseconds(50ms));
}

TAKO_TEST(time, real_clock_sleep_waits_at_least_the_duration) {
    const auto t0 = std::chrono::steady_clock::now();
    co_await tako::time::sleep(20ms);
    EXPECT_GE(std::chrono::steady_clock::now() - t0, 20ms);
}

TAKO_TEST_MT(time, sleeps_across_workers) {
    tako::join_set<int> set;
    for (int i = 0; i < 200; ++i) {
        set.spawn([i]() -> tako::task<int> {
            co_await tako::time::sleep(std::chrono::milliseconds(1 + i % 20));
            co_return 1;
        });
    }
    int n = 0;
    for (;;) {
        auto r = co_await set.join_next();
        if (!r) {
            break;
        }
        n += **r;
    }
    EXPECT_EQ(n, 200);
}

// Sleeps destroyed (aborted) on one thread while the driver fires them on another.
TAKO_TEST_MT(time, destroy_while_armed_races_firing) {
    for (int round = 0; round < 50; ++round) {
        std::vector<tako::join_handle<int>> hs;
        for (int i = 0; i < 50; ++i) {
            hs.push_back(tako::spawn([]() -> tako::task<int> {
                co_await tako::time::sleep(1ms);
                co_return 1;
            }));
        }
        std::this_thread::sleep_for(std::chrono::microseconds(500 + round * 20));
        for (auto& h : hs) {
            h.abort();
        }
        int done = 0;
        for (auto& h : hs) {
            auto r = co_await h;
            done += (r || r.error().is_cancelled()) ? 1 : 0;
        }
        EXPECT_EQ(done, 50);
    }
}

TAKO_TEST_PAUSED(time, one_million_timers) {
    std::atomic<int> fired{0};
    tako::join_set<int> set;
    constexpr int n = 1'000'000;
    std::uint64_t x = 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < n; ++i) {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        const auto ms = std::chrono::milliseconds(1 + (x * 2685821657736338717ull) % 1000);
        set.spawn([ms, &fired]() -> tako::task<int> {
            co_await tako::time::sleep(ms);
            fired.fetch_add(1, std::memory_order_relaxed);
            co_return 0;
        });
    }
    const instant t0 = instant::now();
    co_await drain(set);
    EXPECT_EQ(fired.load(), n);
    EXPECT_LE(instant::now() - t0, std::chrono::nanoseconds(1000ms));
}

TEST(time, sleep_outside_a_runtime_throws) {
    tako::time::sleep s(1ms);
    (void)s;
    EXPECT_THROW((void)tako::time::pause(), std::logic_error);
}

TEST(time, paused_clock_needs_current_thread) {
    EXPECT_THROW((void)tako::runtime::builder::multi_thread().start_paused(true).build(),
                 std::invalid_argument);
}

// While blocking-pool work runs, a paused clock does not jump ahead: that work may still
// wake someone before the next timer is due.
TAKO_TEST_PAUSED(time, auto_advance_waits_for_blocking_work) {
    std::atomic<bool> blocking_done{false};
    auto nap = [&blocking_done] {
        std::this_thread::sleep_for(std::chrono::milliseconds(30));
        blocking_done.store(true);
        return 0;
    };
    auto h = tako::spawn_blocking(nap);
    co_await tako::yield_now();
    co_await tako::time::sleep(1h); // jumps only once the blocking task is over
    EXPECT_TRUE(blocking_done.load());
    co_await h;
}

TAKO_TEST_PAUSED(time, pause_resume_and_instant_arithmetic) {
    const instant t0 = instant::now();
    EXPECT_EQ((t0 + 5ms) - t0, std::chrono::nanoseconds(5ms));
    EXPECT_EQ(t0.duration_since(t0 + 1s), std::chrono::nanoseconds(0)); // saturates
    EXPECT_FALSE(instant(instant::clock::time_point::max()).checked_add(1s).has_value());
    tako::time::resume();
    const auto real0 = std::chrono::steady_clock::now();
    co_await tako::time::sleep(5ms); // the clock runs again: a real sleep
    EXPECT_GE(std::chrono::steady_clock::now() - real0, 5ms);
    EXPECT_GE(instant::now() - t0, std::chrono::nanoseconds(5ms));
    tako::time::pause();
    bool threw = false;
    try {
        tako::time::resume();
        tako::time::resume();
    } catch (const std::logic_error&) {
        threw = true;
    }
    EXPECT_TRUE(threw);
}
