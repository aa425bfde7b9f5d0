// Idle tracking (src/runtime/idle.hpp): how many workers search, which ones sleep, and
// whom to wake when work arrives.

#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <optional>
#include <thread>
#include <vector>

#include "runtime/idle.hpp"

namespace {

using tako::detail::idle;

/// Lets workers start searching until refused; returns how many were let in.
std::size_t admit_searchers(idle& s, std::size_t attempts) {
    std::size_t admitted = 0;
    for (std::size_t i = 0; i < attempts; ++i) {
        admitted += s.transition_to_searching() ? 1 : 0;
    }
    return admitted;
}

} // namespace

TEST(idle, at_most_half_the_workers_search) {
    idle four(4);
    EXPECT_EQ(admit_searchers(four, 10), 2u);
    idle three(3); // admitted while fewer than half search: 0 and 1 of 3
    EXPECT_EQ(admit_searchers(three, 10), 2u);
    idle one(1);
    EXPECT_EQ(admit_searchers(one, 10), 1u);
}

TEST(idle, the_last_searcher_to_leave_is_told_so) {
    idle s(4);
    ASSERT_EQ(admit_searchers(s, 2), 2u);
    EXPECT_FALSE(s.transition_from_searching());
    EXPECT_TRUE(s.transition_from_searching());
    // Leaving made room again.
    EXPECT_EQ(admit_searchers(s, 10), 2u);
}

TEST(idle, nobody_to_notify_while_every_worker_is_awake) {
    idle s(2);
    EXPECT_EQ(s.worker_to_notify(), std::nullopt);
    EXPECT_FALSE(s.is_parked(0));
    EXPECT_FALSE(s.is_parked(1));
}

// A notification wakes the most recent sleeper and counts it as searching, so a second
// notification waits until that searcher finds work or parks again.
TEST(idle, notify_picks_a_sleeper_and_counts_it_as_searching) {
    idle s(3);
    EXPECT_FALSE(s.transition_to_parked(0, false));
    EXPECT_FALSE(s.transition_to_parked(2, false));
    EXPECT_TRUE(s.is_parked(0));
    EXPECT_TRUE(s.is_parked(2));
    EXPECT_FALSE(s.is_parked(1));

    EXPECT_EQ(s.worker_to_notify(), std::optional<std::size_t>(2));
    EXPECT_FALSE(s.is_parked(2));
    EXPECT_EQ(s.worker_to_notify(), std::nullopt); // worker 2 is searching

    // Worker 2 finds work: it was the last searcher, so another may be woken now.
    EXPECT_TRUE(s.transition_from_searching());
    EXPECT_EQ(s.worker_to_notify(), std::optional<std::size_t>(0));
    EXPECT_FALSE(s.is_parked(0));
    EXPECT_EQ(s.worker_to_notify(), std::nullopt);
}

TEST(idle, no_notification_while_someone_searches) {
    idle s(4);
    EXPECT_FALSE(s.transition_to_parked(3, false));
    ASSERT_TRUE(s.transition_to_searching());
    EXPECT_EQ(s.worker_to_notify(), std::nullopt);
    EXPECT_TRUE(s.is_parked(3));
    EXPECT_TRUE(s.transition_from_searching());
    EXPECT_EQ(s.worker_to_notify(), std::optional<std::size_t>(3));
}

TEST(idle, parking_searcher_reports_whether_it_was_the_last) {
    idle s(4);
    ASSERT_EQ(admit_searchers(s, 2), 2u);
    EXPECT_FALSE(s.transition_to_parked(0, true));
    EXPECT_TRUE(s.transition_to_parked(1, true));
    // A worker that was not searching is never the last searcher.
    EXPECT_FALSE(s.transition_to_parked(2, false));
    // Both searchers left: searching is possible again, and a notification wakes someone.
    EXPECT_EQ(s.worker_to_notify(), std::optional<std::size_t>(2));
}

TEST(idle, a_worker_that_wakes_by_itself_leaves_the_sleepers) {
    idle s(2);
    EXPECT_FALSE(s.transition_to_parked(1, false));
    EXPECT_TRUE(s.unpark_worker_by_id(1));
    EXPECT_FALSE(s.is_parked(1));
    EXPECT_EQ(s.worker_to_notify(), std::nullopt); // nobody sleeps
    EXPECT_FALSE(s.unpark_worker_by_id(1));
}

// A worker that a notifier already took out of the sleepers gets false and must act as
// a searcher: leaving searching then lets the next notification through.
TEST(idle, a_worker_woken_by_a_notifier_inherits_the_search) {
    idle s(2);
    EXPECT_FALSE(s.transition_to_parked(0, false));
    EXPECT_FALSE(s.transition_to_parked(1, false));
    ASSERT_EQ(s.worker_to_notify(), std::optional<std::size_t>(1));
    EXPECT_FALSE(s.unpark_worker_by_id(1));
    EXPECT_EQ(s.worker_to_notify(), std::nullopt);
    EXPECT_TRUE(s.transition_from_searching());
    EXPECT_EQ(s.worker_to_notify(), std::optional<std::size_t>(0));
}

TEST(idle, every_worker_parks_and_is_woken_once) {
    constexpr std::size_t workers = 8;
    idle s(workers);
    for (std::size_t i = 0; i < workers; ++i) {
        EXPECT_FALSE(s.transition_to_parked(i, false));
    }
    std::vector<bool> woken(workers, false);
    for (std::size_t round = 0; round < workers; ++round) {
        auto index = s.worker_to_notify();
        ASSERT_TRUE(index.has_value());
        ASSERT_LT(*index, workers);
        EXPECT_FALSE(woken[*index]);
        woken[*index] = true;
        EXPECT_TRUE(s.transition_from_searching()); // it found work at once
    }
    EXPECT_EQ(s.worker_to_notify(), std::nullopt);
}

// Threads that start and stop searching concurrently leave the counters balanced: once
// they are done, nobody counts as searching, so a sleeper can be notified.
TEST(idle, concurrent_search_transitions_stay_balanced) {
    constexpr std::size_t workers = 4, rounds = 20000;
    idle s(workers);
    std::atomic<std::size_t> last_searcher_exits{0};
    std::vector<std::thread> threads;
    for (std::size_t w = 0; w + 1 < workers; ++w) {
        threads.emplace_back([&] {
            for (std::size_t i = 0; i < rounds; ++i) {
                if (s.transition_to_searching() && s.transition_from_searching()) {
                    last_searcher_exits.fetch_add(1, std::memory_order_relaxed);
                }
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    EXPECT_GT(last_searcher_exits.load(), 0u);
    EXPECT_FALSE(s.transition_to_parked(workers - 1, false));
    EXPECT_EQ(s.worker_to_notify(), std::optional<std::size_t>(workers - 1));
}
