// The worker run queue (src/runtime/local_queue.hpp): a 256-slot ring that its owner
// pushes and pops in FIFO order, that overflows half of itself into the inject queue, and
// that other workers steal half of.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <thread>
#include <vector>

#include "fake_tasks.hpp"
#include "runtime/inject_queue.hpp"
#include "runtime/local_queue.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using tako::detail::inject_queue;
using tako::detail::local_queue;
using tako::detail::task_header;
using tako_internal::each_taken_once;
using tako_internal::fake_tasks;
using tako_internal::pop_ids;

constexpr std::uint32_t capacity = local_queue::capacity;

/// Pushes tasks `first..last-1` of `tasks` in order.
void push_range(local_queue& q, fake_tasks& tasks, std::size_t first, std::size_t last,
                inject_queue& overflow) {
    for (std::size_t i = first; i < last; ++i) {
        q.push_back(tasks[i], overflow);
    }
}

std::vector<std::uint64_t> iota_ids(std::uint64_t first, std::uint64_t last) {
    std::vector<std::uint64_t> ids;
    for (std::uint64_t i = first; i < last; ++i) {
        ids.push_back(i);
    }
    return ids;
}

} // namespace

TEST(local_queue, new_queue_is_empty) {
    local_queue q;
    EXPECT_TRUE(q.empty());
    EXPECT_EQ(q.len(), 0u);
    EXPECT_EQ(q.remaining(), capacity);
    EXPECT_EQ(q.pop(), nullptr);
}

// The ring is FIFO for its owner; the LIFO slot lives in the worker, not here.
TEST(local_queue, owner_pops_in_push_order) {
    fake_tasks tasks(10);
    local_queue q;
    inject_queue overflow;
    push_range(q, tasks, 0, 10, overflow);
    EXPECT_EQ(q.len(), 10u);
    EXPECT_EQ(q.remaining(), capacity - 10);
    EXPECT_EQ(pop_ids(q), iota_ids(0, 10));
    EXPECT_TRUE(q.empty());
    EXPECT_EQ(q.remaining(), capacity);
    EXPECT_TRUE(overflow.empty());
}

TEST(local_queue, interleaved_pushes_and_pops_wrap_around_the_ring) {
    fake_tasks tasks(5 * capacity);
    local_queue q;
    inject_queue overflow;
    std::deque<std::uint64_t> model;
    std::vector<std::uint64_t> popped, expected;
    std::size_t next = 0;
    // 150 in, 140 out per round: the ring never holds more than 230, so nothing overflows.
    while (next < tasks.size()) {
        for (int i = 0; i < 150 && next < tasks.size(); ++i, ++next) {
            q.push_back(tasks[next], overflow);
            model.push_back(next);
        }
        for (int i = 0; i < 140 && !model.empty(); ++i) {
            expected.push_back(model.front());
            model.pop_front();
            task_header* t = q.pop();
            ASSERT_NE(t, nullptr);
            popped.push_back(t->id);
        }
        ASSERT_EQ(q.len(), model.size());
    }
    for (std::uint64_t id : pop_ids(q)) {
        popped.push_back(id);
    }
    expected.insert(expected.end(), model.begin(), model.end());
    EXPECT_EQ(popped, expected);
    EXPECT_TRUE(overflow.empty());
}

TEST(local_queue, holds_capacity_tasks_without_overflowing) {
    fake_tasks tasks(capacity);
    local_queue q;
    inject_queue overflow;
    push_range(q, tasks, 0, capacity, overflow);
    EXPECT_EQ(q.len(), capacity);
    EXPECT_EQ(q.remaining(), 0u);
    EXPECT_TRUE(overflow.empty());
    EXPECT_EQ(pop_ids(q), iota_ids(0, capacity));
}

// One push past full moves the older half plus the new task, in order, in one batch.
TEST(local_queue, full_ring_moves_its_older_half_and_the_new_task_to_overflow) {
    fake_tasks tasks(capacity + 1);
    local_queue q;
    inject_queue overflow;
    push_range(q, tasks, 0, capacity + 1, overflow);
    EXPECT_EQ(q.len(), capacity / 2);
    EXPECT_EQ(q.remaining(), capacity / 2);
    EXPECT_EQ(overflow.len(), capacity / 2 + 1);
    std::vector<std::uint64_t> expected_overflow = iota_ids(0, capacity / 2);
    expected_overflow.push_back(capacity);
    EXPECT_EQ(pop_ids(overflow), expected_overflow);
    EXPECT_EQ(pop_ids(q), iota_ids(capacity / 2, capacity));
}

TEST(local_queue, repeated_overflow_keeps_every_task_exactly_once) {
    constexpr std::size_t n = 10 * capacity + 7;
    fake_tasks tasks(n);
    local_queue q;
    inject_queue overflow;
    push_range(q, tasks, 0, n, overflow);
    EXPECT_LE(q.len(), capacity);
    EXPECT_EQ(q.len() + overflow.len(), n);
    const std::vector<std::uint64_t> ring = pop_ids(q);
    // The ring keeps its newest tasks, oldest first.
    EXPECT_TRUE(std::is_sorted(ring.begin(), ring.end()));
    EXPECT_TRUE(each_taken_once({ring, pop_ids(overflow)}, n));
}

TEST(local_queue, steal_from_an_empty_queue_returns_null) {
    local_queue src, dst;
    EXPECT_EQ(src.steal_into(dst), nullptr);
    EXPECT_TRUE(dst.empty());
}

// A thief takes the older half (rounded up), runs the last of them and queues the others.
TEST(local_queue, steal_takes_the_older_half_and_returns_the_last_stolen) {
    fake_tasks tasks(11);
    local_queue src, dst;
    inject_queue overflow;
    push_range(src, tasks, 0, 11, overflow);
    task_header* t = src.steal_into(dst);
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->id, 5u); // 6 stolen: 0..5
    EXPECT_EQ(pop_ids(dst), iota_ids(0, 5));
    EXPECT_EQ(pop_ids(src), iota_ids(6, 11));
}

TEST(local_queue, steal_of_a_single_task_returns_it_and_queues_nothing) {
    fake_tasks tasks(1);
    local_queue src, dst;
    inject_queue overflow;
    src.push_back(tasks[0], overflow);
    EXPECT_EQ(src.steal_into(dst), tasks[0]);
    EXPECT_TRUE(src.empty());
    EXPECT_TRUE(dst.empty());
    EXPECT_EQ(src.remaining(), capacity); // the thief released the slots it claimed
}

TEST(local_queue, thief_more_than_half_full_does_not_steal) {
    fake_tasks tasks(capacity / 2 + 1 + 10);
    local_queue src, dst;
    inject_queue overflow;
    push_range(dst, tasks, 0, capacity / 2 + 1, overflow);
    push_range(src, tasks, capacity / 2 + 1, tasks.size(), overflow);
    EXPECT_EQ(src.steal_into(dst), nullptr);
    EXPECT_EQ(src.len(), 10u);
    EXPECT_EQ(dst.len(), capacity / 2 + 1);
    // Exactly half full is still allowed.
    ASSERT_NE(dst.pop(), nullptr);
    EXPECT_NE(src.steal_into(dst), nullptr);
    EXPECT_EQ(src.len(), 5u);
    EXPECT_EQ(dst.len(), capacity / 2 + 4);
}

TEST(local_queue, stealing_half_of_a_full_ring_fills_the_thief_without_overflow) {
    fake_tasks tasks(capacity + capacity / 2);
    local_queue src, dst;
    inject_queue overflow;
    push_range(src, tasks, 0, capacity, overflow);
    push_range(dst, tasks, capacity, tasks.size(), overflow);
    task_header* t = src.steal_into(dst);
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->id, capacity / 2 - 1);
    EXPECT_EQ(src.len(), capacity / 2);
    EXPECT_EQ(dst.len(), capacity - 1);
    EXPECT_TRUE(overflow.empty());
    std::vector<std::uint64_t> expected = iota_ids(capacity, capacity + capacity / 2);
    for (std::uint64_t id : iota_ids(0, capacity / 2 - 1)) {
        expected.push_back(id);
    }
    EXPECT_EQ(pop_ids(dst), expected);
}

// One producer pushes (popping now and then, overflowing into the inject queue) while
// every thread, the producer included once it is done, pops its own ring, steals from the
// others and takes from the inject queue. Every task must be taken exactly once.
TEST(local_queue, concurrent_steals_lose_and_duplicate_nothing) {
    constexpr std::size_t n = 30000;
    constexpr std::size_t threads = 3;
    fake_tasks tasks(n);
    std::vector<local_queue> queues(threads);
    inject_queue overflow;
    std::atomic<std::size_t> taken_total{0};
    std::vector<std::vector<std::uint64_t>> taken(threads);
    std::atomic<bool> go{false};

    auto take = [&](std::size_t self, task_header* t) {
        taken[self].push_back(t->id);
        taken_total.fetch_add(1, std::memory_order_relaxed);
    };
    auto consume = [&](std::size_t self) {
        tako_test::deadline d(60s);
        while (taken_total.load(std::memory_order_relaxed) < n && !d.expired()) {
            if (task_header* t = queues[self].pop()) {
                take(self, t);
                continue;
            }
            bool found = false;
            for (std::size_t k = 1; k < threads && !found; ++k) {
                if (task_header* t = queues[(self + k) % threads].steal_into(queues[self])) {
                    take(self, t);
                    found = true;
                }
            }
            if (!found) {
                if (task_header* t = overflow.pop()) {
                    take(self, t);
                } else {
                    std::this_thread::yield();
                }
            }
        }
    };

    std::vector<std::thread> thieves;
    for (std::size_t self = 1; self < threads; ++self) {
        thieves.emplace_back([&, self] {
            while (!go.load(std::memory_order_acquire)) {
                std::this_thread::yield();
            }
            consume(self);
        });
    }
    go.store(true, std::memory_order_release);
    for (std::size_t i = 0; i < n; ++i) {
        queues[0].push_back(tasks[i], overflow);
        if (i % 3 == 0) {
            if (task_header* t = queues[0].pop()) {
                take(0, t);
            }
        }
    }
    consume(0);
    for (auto& th : thieves) {
        th.join();
    }
    EXPECT_EQ(taken_total.load(), n);
    EXPECT_TRUE(each_taken_once(taken, n));
    for (auto& q : queues) {
        EXPECT_TRUE(q.empty());
    }
    EXPECT_TRUE(overflow.empty());
}
