// Shutting a runtime down and destroying it: what happens to suspended, queued and
// blocking tasks, to their frames, and to handles and joiners that outlive the runtime.

#include <tako/tako.hpp>
#include <tako/testing.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using tako::runtime;
using tako_test::all_cancelled;
using tako_test::all_returned_or_cancelled;
using tako_test::ct;
using tako_test::deadline;
using tako_test::finishes_within;
using tako_test::life;
using tako_test::mt;
using tako_test::probe;
using tako_test::runtime_flavors;
using tako_test::wait_until;

tako::task<int> parked_chain(life* l, tako::sync::notify* n, int depth) {
    probe p(*l, depth);
    if (depth == 0) {
        co_await n->notified();
        co_return 0;
    }
    co_return 1 + co_await parked_chain(l, n, depth - 1);
}

} // namespace

INSTANTIATE_TEST_SUITE_P(runtime, runtime_flavors, tako_test::all_flavors, tako_test::flavor_name);

namespace {

void check_destruction_destroys_suspended_tasks(runtime::builder b) {
    life l;
    tako::sync::notify never; // outlives the runtime: parked awaiters unlink from it
    std::vector<tako::sync::oneshot::sender<int>> senders;
    std::vector<tako::join_handle<int>> parked;
    std::vector<tako::join_handle<int>> unstarted;
    std::atomic<int> started{0};
    {
        runtime rt = b.build();
        rt.block_on([&]() -> tako::task<> {
            for (int i = 0; i < 20; ++i) {
                parked.push_back(tako::spawn([&, p = probe(l)]() -> tako::task<int> {
                    probe local(l);
                    started.fetch_add(1);
                    co_await never.notified();
                    co_return p.value() + local.value();
                }));
            }
            for (int i = 0; i < 20; ++i) {
                auto [tx, rx] = tako::sync::oneshot::channel<int>();
                senders.push_back(std::move(tx));
                parked.push_back(
                    tako::spawn([&, rx = std::move(rx), p = probe(l)]() mutable -> tako::task<int> {
                        started.fetch_add(1);
                        auto v = co_await rx;
                        co_return v.value_or(0) + p.value();
                    }));
            }
            for (int i = 0; i < 5; ++i) {
                parked.push_back(tako::spawn([&]() -> tako::task<int> {
                    started.fetch_add(1);
                    co_return co_await parked_chain(&l, &never, 4);
                }));
            }
            deadline d;
            while (started.load() < 45 && !d.expired()) {
                co_await tako::yield_now();
            }
            EXPECT_EQ(started.load(), 45);
            for (int i = 0; i < 10; ++i) {
                unstarted.push_back(tako::spawn([p = probe(l)]() -> tako::task<int> {
                    co_await tako::yield_now();
                    co_return 1;
                }));
            }
        });
        EXPECT_GT(l.alive.load(), 0);
    }
    EXPECT_EQ(l.alive.load(), 0) << "frames or callables of cancelled tasks leaked";
    ASSERT_TRUE(all_cancelled(parked));
    ASSERT_TRUE(all_returned_or_cancelled(unstarted, 1));
    for (auto& tx : senders) {
        EXPECT_TRUE(tx.is_closed());
    }
}

} // namespace

TEST(runtime, destruction_destroys_suspended_tasks_current_thread) {
    check_destruction_destroys_suspended_tasks(ct());
}

TEST(runtime, destruction_destroys_suspended_tasks_multi_thread) {
    check_destruction_destroys_suspended_tasks(mt());
}

TEST_P(runtime_flavors, destruction_cancels_tasks_spawned_from_outside) {
    life l;
    std::vector<tako::join_handle<int>> hs;
    {
        runtime rt = builder().build();
        for (int i = 0; i < 10; ++i) {
            hs.push_back(rt.spawn([p = probe(l)]() -> tako::task<int> {
                tako::sync::notify n;
                co_await n.notified(); // parks forever
                co_return p.value();
            }));
        }
    }
    EXPECT_EQ(l.alive.load(), 0);
    ASSERT_TRUE(all_cancelled(hs));
}

TEST_P(runtime_flavors, spawn_after_shutdown_gives_cancelled_task) {
    runtime rt = builder().build();
    tako::runtime_handle h = rt.handle();
    std::move(rt).shutdown_background();
    life l;
    bool ran = false;
    auto jh = h.spawn([&ran, p = probe(l)]() -> tako::task<int> {
        ran = true;
        co_return 1;
    });
    EXPECT_TRUE(jh.is_finished());
    EXPECT_EQ(l.alive.load(), 0);
    auto r = jh.take_result();
    ASSERT_FALSE(r.has_value());
    EXPECT_TRUE(r.error().is_cancelled());
    EXPECT_FALSE(ran);
}

TEST(runtime, block_on_after_shutdown_throws_current_thread) {
    runtime rt = ct().build();
    tako::runtime_handle h = rt.handle();
    std::move(rt).shutdown_background();
    EXPECT_THROW((void)h.block_on([]() -> tako::task<int> { co_return 1; }), std::runtime_error);
}

// On multi_thread, block_on waits for a watcher task; after shutdown the closed registry
// cancels the watcher before it ever starts, and its destruction must still release the
// waiting thread (it once hung here). Likewise if shutdown cancels a still-queued watcher.
TEST(runtime, block_on_after_shutdown_throws_multi_thread) {
    auto outcome = std::make_shared<std::atomic<int>>(0); // 1: threw runtime_error
    const bool finished = finishes_within(
        [outcome] {
            runtime rt = mt(1).build();
            tako::runtime_handle h = rt.handle();
            std::move(rt).shutdown_background();
            try {
                (void)h.block_on([]() -> tako::task<int> { co_return 1; });
                outcome->store(2);
            } catch (const std::runtime_error&) {
                outcome->store(1);
            }
        },
        3s);
    EXPECT_TRUE(finished) << "block_on on a shut-down multi_thread runtime hangs";
    EXPECT_EQ(outcome->load(), finished ? 1 : 0);
}

TEST(runtime, shutdown_timeout_returns_while_blocking_work_runs) {
    auto release = std::make_shared<std::atomic<bool>>(false);
    auto started = std::make_shared<std::atomic<bool>>(false);
    auto finished = std::make_shared<std::atomic<bool>>(false);
    runtime rt = mt(1).build();
    auto h = rt.spawn_blocking([release, started, finished] {
        started->store(true);
        wait_until([&] { return release->load(); }, 10s);
        finished->store(true);
        return 5;
    });
    ASSERT_TRUE(wait_until([&] { return started->load(); }));
    const auto t0 = std::chrono::steady_clock::now();
    std::move(rt).shutdown_timeout(100ms);
    const auto elapsed = std::chrono::steady_clock::now() - t0;
    EXPECT_GE(elapsed, 90ms);
    EXPECT_LT(elapsed, 3s);
    EXPECT_FALSE(finished->load());
    // The blocking work still completes after the shutdown, and its handle gets the value.
    release->store(true);
    ASSERT_TRUE(wait_until([&] { return h.is_finished(); }));
    EXPECT_TRUE(finished->load());
    auto r = h.take_result();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(*r, 5);
}

TEST(runtime, shutdown_timeout_waits_for_short_blocking_work) {
    auto started = std::make_shared<std::atomic<bool>>(false);
    auto finished = std::make_shared<std::atomic<bool>>(false);
    runtime rt = ct().build();
    auto h = rt.spawn_blocking([started, finished] {
        started->store(true);
        std::this_thread::sleep_for(50ms);
        finished->store(true);
    });
    ASSERT_TRUE(wait_until([&] { return started->load(); }));
    std::move(rt).shutdown_timeout(5s);
    EXPECT_TRUE(finished->load());
    EXPECT_TRUE(h.is_finished());
}

TEST(runtime, shutdown_background_does_not_wait_for_blocking_work) {
    auto release = std::make_shared<std::atomic<bool>>(false);
    auto started = std::make_shared<std::atomic<bool>>(false);
    runtime rt = mt(1).build();
    auto h = rt.spawn_blocking([release, started] {
        started->store(true);
        wait_until([&] { return release->load(); }, 10s);
        return 1;
    });
    ASSERT_TRUE(wait_until([&] { return started->load(); }));
    const auto t0 = std::chrono::steady_clock::now();
    std::move(rt).shutdown_background();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
    EXPECT_FALSE(h.is_finished());
    release->store(true);
    ASSERT_TRUE(wait_until([&] { return h.is_finished(); }));
    EXPECT_EQ(h.take_result().value_or(0), 1);
}

TEST(runtime, destructor_waits_for_started_blocking_work) {
    auto started = std::make_shared<std::atomic<bool>>(false);
    auto finished = std::make_shared<std::atomic<bool>>(false);
    {
        runtime rt = mt(1).build();
        auto h = rt.spawn_blocking([started, finished] {
            started->store(true);
            std::this_thread::sleep_for(100ms);
            finished->store(true);
        });
        ASSERT_TRUE(wait_until([&] { return started->load(); }));
    }
    EXPECT_TRUE(finished->load());
}

// As in Tokio, blocking work that has not started when the runtime shuts down is cancelled;
// work already running finishes.
TEST(runtime, shutdown_cancels_blocking_work_not_yet_started) {
    auto started = std::make_shared<std::atomic<bool>>(false);
    auto second_ran = std::make_shared<std::atomic<bool>>(false);
    life l;
    tako::join_handle<int> first, second;
    {
        runtime rt = mt(1).max_blocking_threads(1).build();
        first = rt.spawn_blocking([started] {
            started->store(true);
            std::this_thread::sleep_for(50ms);
            return 1;
        });
        ASSERT_TRUE(wait_until([&] { return started->load(); }));
        second = rt.spawn_blocking([second_ran, p = probe(l)] {
            second_ran->store(true);
            return 2;
        });
    }
    EXPECT_FALSE(second_ran->load());
    EXPECT_EQ(l.alive.load(), 0);
    ASSERT_TRUE(first.is_finished());
    EXPECT_EQ(first.take_result().value_or(0), 1);
    ASSERT_TRUE(wait_until([&] { return second.is_finished(); }));
    auto r = second.take_result();
    ASSERT_FALSE(r.has_value());
    EXPECT_TRUE(r.error().is_cancelled());
}

// A task of one runtime joins a task of another; shutting the second runtime down wakes
// the joiner with a cancellation.
TEST(runtime, joiner_in_other_runtime_sees_cancellation_at_shutdown) {
    runtime joiner_rt = mt(1).build();
    std::optional<runtime> target_rt(ct().build());
    tako::sync::notify never;
    auto target = target_rt->spawn([&never]() -> tako::task<int> {
        co_await never.notified();
        co_return 1;
    });
    auto joiner = joiner_rt.spawn([&target]() -> tako::task<int> {
        auto r = co_await target;
        co_return r.has_value() ? 1 : (r.error().is_cancelled() ? 2 : 3);
    });
    std::this_thread::sleep_for(10ms); // the joiner parks on the target's join slot
    target_rt.reset();
    ASSERT_TRUE(wait_until([&] { return joiner.is_finished(); }));
    EXPECT_EQ(joiner.take_result().value_or(0), 2);
}

// Destructors of cancelled frames may spawn (refused: the new task is cancelled at once)
// and wake other tasks (which are being cancelled too) while the runtime shuts down.
TEST_P(runtime_flavors, frame_destructors_spawn_and_wake_during_shutdown) {
    struct spawn_on_destroy {
        std::vector<tako::join_handle<int>>* out;
        life* l;
        ~spawn_on_destroy() {
            out->push_back(
                tako::spawn([p = probe(*l, 1)]() -> tako::task<int> { co_return p.value(); }));
        }
    };
    life l;
    std::vector<tako::join_handle<int>> spawned_late;
    std::vector<tako::join_handle<int>> hs;
    {
        runtime rt = builder().build();
        rt.block_on([&]() -> tako::task<> {
            for (int i = 0; i < 10; ++i) {
                auto [tx, rx] = tako::sync::oneshot::channel<int>();
                // The sender's owner parks forever; dropping it wakes the receiver's task.
                hs.push_back(tako::spawn([&, tx = std::move(tx)]() -> tako::task<int> {
                    spawn_on_destroy guard{&spawned_late, &l};
                    tako::sync::notify never;
                    co_await never.notified();
                    co_return 0;
                }));
                hs.push_back(
                    tako::spawn([rx = std::move(rx), p = probe(l)]() mutable -> tako::task<int> {
                        auto v = co_await rx;
                        co_return v.has_value() ? 1 : 2;
                    }));
            }
            for (int i = 0; i < 5; ++i) {
                co_await tako::yield_now();
            }
            std::this_thread::sleep_for(10ms); // let a multi_thread runtime park them
        });
    }
    EXPECT_EQ(l.alive.load(), 0);
    EXPECT_EQ(spawned_late.size(), 10u);
    ASSERT_TRUE(all_cancelled(spawned_late));
    // A receiver woken by its sender's destruction may still have been cancelled first.
    ASSERT_TRUE(all_returned_or_cancelled(hs, 2));
}
