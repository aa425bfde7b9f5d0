// The global injection queue (src/runtime/inject_queue.hpp): a locked intrusive FIFO
// with a lock-free length, fed by single pushes and by batches (ring overflow). It has no
// close operation: runtime shutdown drains it through the registry instead.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include "fake_tasks.hpp"
#include "runtime/inject_queue.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using tako::detail::inject_queue;
using tako::detail::task_header;
using tako_internal::each_taken_once;
using tako_internal::fake_tasks;
using tako_internal::pop_ids;

/// Links tasks `first..last-1` through queue_next and pushes them as one batch.
void push_chain(inject_queue& q, fake_tasks& tasks, std::size_t first, std::size_t last) {
    for (std::size_t i = first; i + 1 < last; ++i) {
        tasks[i]->queue_next = tasks[i + 1];
    }
    q.push_batch(tasks[first], tasks[last - 1], last - first);
}

} // namespace

TEST(inject_queue, empty_queue_pops_nothing) {
    inject_queue q;
    EXPECT_TRUE(q.empty());
    EXPECT_EQ(q.len(), 0u);
    EXPECT_EQ(q.pop(), nullptr);
    int calls = 0;
    EXPECT_EQ(q.pop_n(10, [&](task_header*) { ++calls; }), 0u);
    EXPECT_EQ(calls, 0);
}

TEST(inject_queue, pops_in_push_order) {
    fake_tasks tasks(5);
    inject_queue q;
    for (std::size_t i = 0; i < 5; ++i) {
        q.push(tasks[i]);
        EXPECT_EQ(q.len(), i + 1);
    }
    EXPECT_FALSE(q.empty());
    EXPECT_EQ(pop_ids(q), (std::vector<std::uint64_t>{0, 1, 2, 3, 4}));
    EXPECT_TRUE(q.empty());
}

TEST(inject_queue, batch_joins_the_back_in_chain_order) {
    fake_tasks tasks(8);
    inject_queue q;
    q.push(tasks[0]);
    push_chain(q, tasks, 1, 6);
    q.push(tasks[6]);
    push_chain(q, tasks, 7, 8); // a batch of one
    EXPECT_EQ(q.len(), 8u);
    EXPECT_EQ(pop_ids(q), (std::vector<std::uint64_t>{0, 1, 2, 3, 4, 5, 6, 7}));
}

TEST(inject_queue, pop_n_takes_at_most_max_from_the_front) {
    fake_tasks tasks(10);
    inject_queue q;
    push_chain(q, tasks, 0, 10);
    std::vector<std::uint64_t> got;
    auto sink = [&](task_header* t) { got.push_back(t->id); };
    EXPECT_EQ(q.pop_n(4, sink), 4u);
    EXPECT_EQ(got, (std::vector<std::uint64_t>{0, 1, 2, 3}));
    EXPECT_EQ(q.len(), 6u);
    EXPECT_EQ(q.pop_n(0, sink), 0u);
    EXPECT_EQ(q.len(), 6u);
    EXPECT_EQ(q.pop_n(100, sink), 6u);
    EXPECT_EQ(got.size(), 10u);
    EXPECT_EQ(got.back(), 9u);
    EXPECT_TRUE(q.empty());
}

// A task goes back in after it was popped (a re-scheduled task): its stale link is reset.
TEST(inject_queue, popped_task_can_be_pushed_again) {
    fake_tasks tasks(3);
    inject_queue q;
    q.push(tasks[0]);
    q.push(tasks[1]);
    q.push(tasks[2]);
    task_header* first = q.pop();
    ASSERT_EQ(first, tasks[0]);
    q.push(first);
    EXPECT_EQ(pop_ids(q), (std::vector<std::uint64_t>{1, 2, 0}));
}

// Producers push (singly and in batches) while consumers pop (singly and with pop_n).
// Every task is taken once, and each consumer sees each producer's tasks in push order.
TEST(inject_queue, concurrent_producers_and_consumers) {
    constexpr std::size_t producers = 2, consumers = 2, per_producer = 8000, batch = 8;
    constexpr std::size_t n = producers * per_producer;
    fake_tasks tasks(n);
    inject_queue q;
    std::atomic<std::size_t> taken_total{0};
    std::vector<std::vector<std::uint64_t>> taken(consumers);
    std::vector<std::thread> threads;
    for (std::size_t p = 0; p < producers; ++p) {
        threads.emplace_back([&, p] {
            const std::size_t base = p * per_producer;
            for (std::size_t i = 0; i < per_producer;) {
                if (i % 3 == 0 && i + batch <= per_producer) {
                    push_chain(q, tasks, base + i, base + i + batch);
                    i += batch;
                } else {
                    q.push(tasks[base + i]);
                    ++i;
                }
            }
        });
    }
    for (std::size_t c = 0; c < consumers; ++c) {
        threads.emplace_back([&, c] {
            tako_test::deadline d(60s);
            auto take = [&](task_header* t) {
                taken[c].push_back(t->id);
                taken_total.fetch_add(1, std::memory_order_relaxed);
            };
            while (taken_total.load(std::memory_order_relaxed) < n && !d.expired()) {
                if (c == 0) {
                    if (task_header* t = q.pop()) {
                        take(t);
                        continue;
                    }
                } else if (q.pop_n(5, take) > 0) {
                    continue;
                }
                std::this_thread::yield();
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    EXPECT_TRUE(q.empty());
    EXPECT_TRUE(each_taken_once(taken, n));
    for (const auto& ids : taken) {
        std::vector<std::uint64_t> last(producers, 0);
        std::vector<bool> seen(producers, false);
        for (std::uint64_t id : ids) {
            const std::size_t p = id / per_producer;
            EXPECT_TRUE(!seen[p] || id > last[p]) << "task " << id << " after " << last[p];
            seen[p] = true;
            last[p] = id;
        }
    }
}
