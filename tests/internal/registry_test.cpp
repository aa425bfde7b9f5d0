// The registry of live tasks (src/runtime/registry.cpp): sharded intrusive lists that
// runtime shutdown empties with pop_any. Tasks are spread over shards by id.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <set>
#include <thread>
#include <vector>

#include "fake_tasks.hpp"
#include "runtime/registry.hpp"

namespace {

using tako::detail::task_header;
using tako::detail::task_registry;
using tako_internal::each_taken_once;
using tako_internal::fake_tasks;
namespace task_state = tako::detail::task_state;

/// Pops every task; returns their ids and checks each came with a new reference.
std::vector<std::uint64_t> pop_all(task_registry& r) {
    std::vector<std::uint64_t> ids;
    while (task_header* t = r.pop_any()) {
        EXPECT_EQ(t->state.load(), task_state::ref_one) << "task " << t->id;
        ids.push_back(t->id);
    }
    return ids;
}

std::set<std::uint64_t> as_set(const std::vector<std::uint64_t>& ids) {
    return {ids.begin(), ids.end()};
}

} // namespace

TEST(task_registry, empty_registry) {
    task_registry r(4);
    EXPECT_EQ(r.size(), 0u);
    EXPECT_EQ(r.inserted(), 0u);
    EXPECT_EQ(r.pop_any(), nullptr);
}

// Any shard count works, rounded up to a power of two (0 and 1 give one shard).
TEST(task_registry, insert_counts_tasks_over_every_shard_count) {
    for (const std::size_t shards : std::vector<std::size_t>{0, 1, 3, 4, 16}) {
        fake_tasks tasks(50);
        task_registry r(shards);
        for (std::size_t i = 0; i < tasks.size(); ++i) {
            EXPECT_TRUE(r.insert(tasks[i]));
        }
        EXPECT_EQ(r.size(), 50u) << shards << " shards";
        EXPECT_EQ(r.inserted(), 50u) << shards << " shards";
        EXPECT_TRUE(each_taken_once({pop_all(r)}, tasks.size())) << shards << " shards";
        EXPECT_EQ(r.size(), 0u);
        EXPECT_EQ(r.inserted(), 50u); // a running total
    }
}

// Removing heads, middles and tails of the shard lists leaves exactly the others.
TEST(task_registry, remove_unlinks_only_that_task) {
    fake_tasks tasks(40);
    task_registry r(4);
    for (std::size_t i = 0; i < tasks.size(); ++i) {
        ASSERT_TRUE(r.insert(tasks[i]));
    }
    std::set<std::uint64_t> kept;
    for (std::size_t i = 0; i < tasks.size(); ++i) {
        if (i % 3 == 0 || i >= 36) { // 36..39 are the shard heads (inserted last)
            r.remove(tasks[i]);
        } else {
            kept.insert(i);
        }
    }
    EXPECT_EQ(r.size(), kept.size());
    EXPECT_EQ(as_set(pop_all(r)), kept);
}

TEST(task_registry, removing_twice_is_harmless) {
    fake_tasks tasks(3);
    task_registry r(1);
    for (std::size_t i = 0; i < 3; ++i) {
        ASSERT_TRUE(r.insert(tasks[i]));
    }
    r.remove(tasks[1]);
    r.remove(tasks[1]);
    EXPECT_EQ(r.size(), 2u);
    EXPECT_EQ(as_set(pop_all(r)), (std::set<std::uint64_t>{0, 2}));
}

// Shutdown pops a task while the task may finish concurrently: the finishing remove() of
// a popped task must not touch the lists.
TEST(task_registry, remove_after_pop_any_is_a_no_op) {
    fake_tasks tasks(4);
    task_registry r(1);
    for (std::size_t i = 0; i < 4; ++i) {
        ASSERT_TRUE(r.insert(tasks[i]));
    }
    task_header* t = r.pop_any();
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(r.size(), 3u);
    r.remove(t);
    EXPECT_EQ(r.size(), 3u);
    EXPECT_EQ(pop_all(r).size(), 3u);
}

TEST(task_registry, closed_registry_refuses_inserts_and_keeps_its_tasks) {
    fake_tasks tasks(6);
    task_registry r(2);
    for (std::size_t i = 0; i < 4; ++i) {
        ASSERT_TRUE(r.insert(tasks[i]));
    }
    r.close();
    EXPECT_FALSE(r.insert(tasks[4]));
    EXPECT_FALSE(r.insert(tasks[5]));
    EXPECT_EQ(r.size(), 4u);
    EXPECT_EQ(r.inserted(), 4u);
    r.remove(tasks[0]); // tasks still finish after close
    EXPECT_EQ(as_set(pop_all(r)), (std::set<std::uint64_t>{1, 2, 3}));
}

// Threads insert and remove their own tasks concurrently while another reads the size and
// pops; every task ends up either removed by its owner or popped, never both.
TEST(task_registry, concurrent_insert_remove_and_pop) {
    constexpr std::size_t threads = 3, per_thread = 3000;
    constexpr std::size_t n = threads * per_thread;
    fake_tasks tasks(n);
    task_registry r(4);
    std::atomic<bool> done{false};
    std::vector<std::vector<std::uint64_t>> gone(threads + 1);
    std::vector<std::thread> workers;
    for (std::size_t w = 0; w < threads; ++w) {
        workers.emplace_back([&, w] {
            for (std::size_t i = w * per_thread; i < (w + 1) * per_thread; ++i) {
                EXPECT_TRUE(r.insert(tasks[i]));
                if (i % 2 == 0) {
                    // Removed by its owner unless the popper took it first: a popped task
                    // points to itself, which remove() recognizes.
                    r.remove(tasks[i]);
                }
            }
        });
    }
    std::thread popper([&] {
        while (!done.load(std::memory_order_acquire)) {
            EXPECT_LE(r.size(), n);
            if (task_header* t = r.pop_any()) {
                gone[threads].push_back(t->id);
            }
            std::this_thread::yield();
        }
    });
    for (auto& t : workers) {
        t.join();
    }
    done.store(true, std::memory_order_release);
    popper.join();
    EXPECT_EQ(r.inserted(), n);
    const std::set<std::uint64_t> popped_early = as_set(gone[threads]);
    for (std::uint64_t id : pop_all(r)) {
        gone[threads].push_back(id);
    }
    // What was not popped and is odd stayed listed; even ones were removed if not popped.
    for (std::size_t i = 0; i < n; i += 2) {
        if (popped_early.count(i) == 0) {
            gone[0].push_back(i);
        }
    }
    EXPECT_TRUE(each_taken_once(gone, n));
    EXPECT_EQ(r.size(), 0u);
}
