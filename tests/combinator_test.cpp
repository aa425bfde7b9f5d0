#include <tako/tako.hpp>
#include <tako/testing.hpp>

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

struct counted {
    static inline int live = 0;
    static inline int destroyed = 0;
    counted() { ++live; }
    counted(const counted&) = delete;
    ~counted() {
        --live;
        ++destroyed;
    }
};

tako::task<int> value(int v) {
    co_return v;
}

tako::task<int> after_yields(int v, int yields) {
    for (int i = 0; i < yields; ++i) {
        co_await tako::yield_now();
    }
    co_return v;
}

tako::task<int> wait_forever(tako::sync::notify& never) {
    counted c;
    co_await never.notified();
    co_return -1;
}

tako::task<int> fail_after(int yields) {
    for (int i = 0; i < yields; ++i) {
        co_await tako::yield_now();
    }
    throw std::runtime_error("branch failed");
}

} // namespace

TAKO_TEST(join, returns_all_results_in_argument_order) {
    auto [a, b, c] = co_await tako::join(after_yields(1, 3), value(2), after_yields(3, 1));
    EXPECT_EQ(a, 1);
    EXPECT_EQ(b, 2);
    EXPECT_EQ(c, 3);
}

TAKO_TEST(join, branches_interleave_inside_one_task) {
    std::vector<std::string> log;
    auto branch = [&](std::string name) -> tako::task<> {
        for (int i = 0; i < 2; ++i) {
            log.push_back(name + std::to_string(i));
            co_await tako::yield_now();
        }
    };
    auto id_before = tako::current_task_id();
    auto a = branch("a");
    auto b = branch("b");
    co_await tako::join(std::move(a), std::move(b));
    EXPECT_EQ(tako::current_task_id(), id_before);
    EXPECT_EQ(log, (std::vector<std::string>{"a0", "b0", "a1", "b1"}));
}

TAKO_TEST(join, join_handles_and_void) {
    auto h1 = tako::spawn([]() -> tako::task<int> { co_return 42; });
    auto h2 = tako::spawn([]() -> tako::task<std::string> { co_return "hello"; });
    auto v = []() -> tako::task<> { co_return; };
    auto [r1, r2, none] = co_await tako::join(std::move(h1), std::move(h2), v());
    EXPECT_EQ(*r1, 42);
    EXPECT_EQ(*r2, "hello");
    (void)none;
}

TAKO_TEST(join, exception_rethrown_after_all_finish) {
    bool other_finished = false;
    auto other = [&]() -> tako::task<int> {
        co_await after_yields(0, 5);
        other_finished = true;
        co_return 1;
    };
    bool threw = false;
    try {
        co_await tako::join(fail_after(1), other());
    } catch (const std::runtime_error&) {
        threw = true;
    }
    EXPECT_TRUE(threw);
    EXPECT_TRUE(other_finished);
}

TAKO_TEST(join, nested_joins_wake_the_right_branches) {
    tako::sync::notify n1, n2;
    auto waiter = [](tako::sync::notify& n, int v) -> tako::task<int> {
        co_await n.notified();
        co_return v;
    };
    auto notifier = [&]() -> tako::task<int> {
        co_await tako::yield_now();
        n2.notify_one();
        co_await tako::yield_now();
        n1.notify_one();
        co_return 0;
    };
    auto inner = tako::join(waiter(n1, 1), waiter(n2, 2));
    auto [pair, z] = co_await tako::join(std::move(inner), notifier());
    EXPECT_EQ(std::get<0>(pair), 1);
    EXPECT_EQ(std::get<1>(pair), 2);
    EXPECT_EQ(z, 0);
}

TAKO_TEST_MT(join, branches_woken_from_other_threads) {
    for (int round = 0; round < 200; ++round) {
        tako::sync::notify a, b;
        auto wait = [](tako::sync::notify& n) -> tako::task<int> {
            co_await n.notified();
            co_return 1;
        };
        auto ha = tako::spawn([&]() -> tako::task<> {
            a.notify_one();
            co_return;
        });
        auto hb = tako::spawn([&]() -> tako::task<> {
            b.notify_one();
            co_return;
        });
        auto [x, y] = co_await tako::join(wait(a), wait(b));
        EXPECT_EQ(x + y, 2);
        co_await ha;
        co_await hb;
    }
}

TAKO_TEST(try_join, all_values) {
    auto ok = [](int v) -> tako::task<std::expected<int, std::string>> { co_return v; };
    auto r = co_await tako::try_join(ok(1), ok(2));
    TAKO_CO_ASSERT(r.has_value());
    EXPECT_EQ(std::get<0>(*r), 1);
    EXPECT_EQ(std::get<1>(*r), 2);
}

TAKO_TEST(try_join, first_error_cancels_the_rest) {
    counted::destroyed = 0;
    tako::sync::notify never;
    auto slow = [&]() -> tako::task<std::expected<int, std::string>> {
        counted c;
        co_await never.notified();
        co_return 1;
    };
    auto bad = []() -> tako::task<std::expected<int, std::string>> {
        co_await tako::yield_now();
        co_return std::unexpected(std::string("bad input"));
    };
    auto r = co_await tako::try_join(slow(), bad());
    TAKO_CO_ASSERT(!r.has_value());
    EXPECT_EQ(r.error(), "bad input");
    EXPECT_EQ(counted::destroyed, 1);
    EXPECT_EQ(counted::live, 0);
}

TAKO_TEST(select, first_to_finish_wins_and_losers_are_destroyed) {
    counted::destroyed = 0;
    tako::sync::notify never;
    auto r = co_await tako::select(wait_forever(never), after_yields(7, 2), wait_forever(never));
    EXPECT_EQ(r.index(), 1u);
    EXPECT_EQ(std::get<1>(r), 7);
    // Both losers' frames (and their locals) are gone before select returns.
    EXPECT_EQ(counted::destroyed, 2);
    EXPECT_EQ(counted::live, 0);
}

TAKO_TEST(select, winner_exception_is_rethrown) {
    tako::sync::notify never;
    bool threw = false;
    try {
        co_await tako::select(wait_forever(never), fail_after(1));
    } catch (const std::runtime_error&) {
        threw = true;
    }
    EXPECT_TRUE(threw);
    EXPECT_EQ(counted::live, 0);
}

TAKO_TEST(select, biased_prefers_earlier_ready_branch) {
    for (int i = 0; i < 20; ++i) {
        auto r = co_await tako::select_biased(value(1), value(2));
        EXPECT_EQ(r.index(), 0u);
    }
}

TAKO_TEST(select, unbiased_start_varies) {
    int first = 0, second = 0;
    for (int i = 0; i < 200; ++i) {
        auto r = co_await tako::select(value(1), value(2));
        (r.index() == 0 ? first : second)++;
    }
    EXPECT_GT(first, 0);
    EXPECT_GT(second, 0);
}

TAKO_TEST(select, over_oneshot_and_notify) {
    auto [tx, rx] = tako::sync::oneshot::channel<int>();
    tako::sync::notify never;
    auto sender = tako::spawn([tx = std::move(tx)]() mutable -> tako::task<> {
        co_await tako::yield_now();
        (void)tx.send(5);
    });
    auto r = co_await tako::select(std::move(rx), never.notified());
    TAKO_CO_ASSERT(r.index() == 0);
    EXPECT_EQ(*std::get<0>(r), 5);
    co_await sender;
}

TAKO_TEST(select, cancelled_when_enclosing_task_is_aborted) {
    counted::destroyed = 0;
    auto h = tako::spawn([]() -> tako::task<> {
        tako::sync::notify never;
        co_await tako::select(wait_forever(never), wait_forever(never));
    });
    co_await tako::yield_now();
    h.abort();
    auto r = co_await h;
    EXPECT_TRUE(!r && r.error().is_cancelled());
    EXPECT_EQ(counted::destroyed, 2);
}

// ---------------------------------------------------------------- join_set

TAKO_TEST(join_set, joins_in_completion_order) {
    tako::join_set<int> set;
    set.spawn(after_yields(3, 6));
    set.spawn(after_yields(1, 0));
    set.spawn([]() -> tako::task<int> { return after_yields(2, 3); });
    EXPECT_EQ(set.size(), 3u);
    std::vector<int> order;
    while (auto r = co_await set.join_next()) {
        order.push_back(**r);
    }
    EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
    EXPECT_TRUE(set.empty());
}

TAKO_TEST(join_set, try_join_next_does_not_wait) {
    tako::join_set<int> set;
    EXPECT_FALSE(set.try_join_next().has_value());
    set.spawn(value(4));
    EXPECT_FALSE(set.try_join_next().has_value()); // not run yet
    co_await tako::yield_now();
    co_await tako::yield_now();
    auto r = set.try_join_next();
    TAKO_CO_ASSERT(r.has_value());
    EXPECT_EQ(**r, 4);
}

TAKO_TEST(join_set, abort_all_and_shutdown) {
    counted::destroyed = 0;
    tako::sync::notify never;
    tako::join_set<int> set;
    for (int i = 0; i < 5; ++i) {
        set.spawn(wait_forever(never));
    }
    co_await tako::yield_now();
    set.abort_all();
    int cancelled = 0;
    while (auto r = co_await set.join_next()) {
        cancelled += (!*r && r->error().is_cancelled()) ? 1 : 0;
    }
    EXPECT_EQ(cancelled, 5);
    EXPECT_EQ(counted::destroyed, 5);

    for (int i = 0; i < 3; ++i) {
        set.spawn(wait_forever(never));
    }
    co_await set.shutdown();
    EXPECT_TRUE(set.empty());
    EXPECT_EQ(counted::live, 0);
}

TAKO_TEST(join_set, destroying_the_set_aborts_its_tasks) {
    counted::destroyed = 0;
    tako::sync::notify never;
    {
        tako::join_set<int> set;
        for (int i = 0; i < 4; ++i) {
            set.spawn(wait_forever(never));
        }
        co_await tako::yield_now();
        EXPECT_EQ(counted::live, 4);
    }
    for (int i = 0; i < 3; ++i) {
        co_await tako::yield_now();
    }
    EXPECT_EQ(counted::live, 0);
    EXPECT_EQ(counted::destroyed, 4);
}

TAKO_TEST_MT(join_set, many_tasks_across_workers) {
    tako::join_set<int> set;
    for (int i = 0; i < 1000; ++i) {
        set.spawn(after_yields(i, i % 3));
    }
    long sum = 0;
    int n = 0;
    while (auto r = co_await set.join_next()) {
        sum += **r;
        ++n;
    }
    EXPECT_EQ(n, 1000);
    EXPECT_EQ(sum, 999L * 1000 / 2);
}

// ---------------------------------------------------------------- task_local

namespace {
tako::task_local<int> request_id;
tako::task<int> read_request_id() {
    co_await tako::yield_now();
    co_return request_id.get();
}
} // namespace

TAKO_TEST(task_local, scope_sets_value_for_the_wrapped_work) {
    EXPECT_EQ(request_id.try_get(), nullptr);
    int v = co_await request_id.scope(7, read_request_id());
    EXPECT_EQ(v, 7);
    EXPECT_EQ(request_id.try_get(), nullptr);
    bool threw = false;
    try {
        (void)request_id.get();
    } catch (const std::logic_error&) {
        threw = true;
    }
    EXPECT_TRUE(threw);
}

TAKO_TEST(task_local, nested_scopes_and_sibling_branches) {
    auto outer = [&]() -> tako::task<int> {
        int inner = co_await request_id.scope(2, read_request_id());
        co_return inner * 10 + request_id.get();
    };
    EXPECT_EQ(co_await request_id.scope(1, outer()), 21);
    auto [a, b] = co_await tako::join(request_id.scope(3, read_request_id()),
                                      request_id.scope(4, read_request_id()));
    EXPECT_EQ(a, 3);
    EXPECT_EQ(b, 4);
}

TAKO_TEST(task_local, not_inherited_by_spawned_tasks) {
    auto probe = []() -> tako::task<bool> {
        auto h =
            tako::spawn([]() -> tako::task<bool> { co_return request_id.try_get() != nullptr; });
        co_return *co_await h;
    };
    EXPECT_FALSE(co_await request_id.scope(9, probe()));
}

// ---------------------------------------------------------------- local_set

TAKO_TEST(local_set, runs_local_tasks_on_this_thread) {
    tako::local_set local;
    const auto me = std::this_thread::get_id();
    int r = co_await local.run_until([&]() -> tako::task<int> {
        auto h = tako::spawn_local([&]() -> tako::task<int> {
            co_await tako::yield_now();
            co_return std::this_thread::get_id() == me ? 20 : -1;
        });
        auto h2 = tako::spawn_local(value(1));
        co_return *co_await h + *co_await h2;
    });
    EXPECT_EQ(r, 21);
}

TAKO_TEST(local_set, woken_from_another_thread) {
    tako::local_set local;
    auto [tx, rx] = tako::sync::oneshot::channel<int>();
    std::thread sender([tx = std::move(tx)]() mutable {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        (void)tx.send(3);
    });
    int r = co_await local.run_until([&]() -> tako::task<int> { co_return *co_await rx; });
    sender.join();
    EXPECT_EQ(r, 3);
}

TAKO_TEST(local_set, destroying_the_set_cancels_its_tasks) {
    counted::destroyed = 0;
    tako::sync::notify never;
    {
        tako::local_set local;
        auto h = local.spawn_local(wait_forever(never));
        co_await local.run_until(value(0));
        EXPECT_EQ(counted::live, 1);
    }
    EXPECT_EQ(counted::live, 0);
}

TEST(local_set, spawn_local_outside_a_set_throws) {
    auto rt = tako::runtime::builder::current_thread().build();
    bool threw = rt.block_on([]() -> tako::task<bool> {
        try {
            auto h = tako::spawn_local(value(1));
        } catch (const std::runtime_error&) {
            co_return true;
        }
        co_return false;
    });
    EXPECT_TRUE(threw);
}

// A multi_thread runtime runs everything else while the plain thread in block_on runs the
// local tasks: they stay on that thread, use its non-thread-safe state, spawn onto the
// workers, sleep on the runtime's timers and are woken from the workers.
TEST(local_set, block_on_drives_local_tasks_beside_a_multi_thread_runtime) {
    auto rt = tako::runtime::builder::multi_thread().worker_threads(2).build();
    const auto entered = rt.enter();
    tako::local_set local;
    const auto me = std::this_thread::get_id();
    std::vector<int> log; // touched by local tasks only: no lock
    const int r = local.block_on(rt, [&]() -> tako::task<int> {
        auto a = tako::spawn_local([&]() -> tako::task<int> {
            co_await tako::time::sleep(std::chrono::milliseconds(2));
            log.push_back(1);
            co_return std::this_thread::get_id() == me ? 10 : -100;
        });
        // Runs on a worker; its completion wakes this thread.
        auto on_worker = tako::spawn([me]() -> tako::task<bool> {
            co_return std::this_thread::get_id() != me;
        });
        log.push_back(0);
        const bool elsewhere = *co_await on_worker;
        const int from_a = *co_await a;
        co_return from_a + (elsewhere ? 1 : -1000);
    });
    EXPECT_EQ(r, 11);
    EXPECT_EQ(log, (std::vector<int>{0, 1}));
}

TEST(local_set, block_on_rethrows_and_refuses_runtime_threads) {
    auto rt = tako::runtime::builder::multi_thread().worker_threads(1).build();
    const auto entered = rt.enter();
    tako::local_set local;
    EXPECT_THROW(local.block_on(rt,
                                []() -> tako::task<> {
                                    throw std::runtime_error("boom");
                                    co_return;
                                }),
                 std::runtime_error);
    // From inside a task (a runtime thread) block_on would stall the runtime.
    const bool refused = rt.block_on([&local, &rt]() -> tako::task<bool> {
        try {
            local.block_on(rt, value(1));
        } catch (const std::logic_error&) {
            co_return true;
        }
        co_return false;
    });
    EXPECT_TRUE(refused);
}

// ---------------------------------------------------------------- budget

TAKO_TEST(budget, ready_awaits_yield_after_the_budget) {
    // A task that loops on always-ready notify permits must let another task run.
    tako::sync::notify n;
    bool other_ran = false;
    auto other = tako::spawn([&]() -> tako::task<> {
        other_ran = true;
        co_return;
    });
    int loops = 0;
    while (!other_ran && loops < 10'000) {
        n.notify_one();
        co_await n.notified();
        ++loops;
    }
    EXPECT_TRUE(other_ran);
    EXPECT_LE(loops, 129);
    co_await other;
}

TAKO_TEST(budget, unconstrained_never_forces_a_yield) {
    tako::sync::notify n;
    bool other_ran = false;
    auto other = tako::spawn([&]() -> tako::task<> {
        other_ran = true;
        co_return;
    });
    auto spin = [&]() -> tako::task<int> {
        int loops = 0;
        for (; loops < 1000; ++loops) {
            n.notify_one();
            co_await n.notified();
        }
        co_return other_ran ? -1 : loops;
    };
    EXPECT_EQ(co_await tako::unconstrained(spin()), 1000);
    co_await other;
}

// join_next is cancel-safe: destroyed while it waits, it loses no result.
TAKO_TEST(join_set, join_next_cancelled_while_waiting_loses_nothing) {
    tako::sync::notify go;
    tako::join_set<int> set;
    set.spawn([&go]() -> tako::task<int> {
        co_await go.notified();
        co_return 9;
    });
    auto r = co_await tako::select_biased(set.join_next(), value(0));
    EXPECT_EQ(r.index(), 1u); // join_next was waiting when it lost, and was destroyed
    go.notify_one();
    auto next = co_await set.join_next();
    TAKO_CO_ASSERT(next.has_value());
    EXPECT_EQ(**next, 9);
}

// Cancelling run_until while it waits for local work leaves the local tasks in the set.
TAKO_TEST_PAUSED(local_set, run_until_cancelled_while_waiting_keeps_tasks) {
    using namespace std::chrono_literals;
    tako::local_set local;
    tako::sync::notify go;
    bool ran = false;
    auto waiter = [&]() -> tako::task<int> {
        co_await go.notified();
        ran = true;
        co_return 1;
    };
    auto r = co_await tako::time::timeout(10ms, local.run_until(waiter));
    EXPECT_FALSE(r.has_value());
    EXPECT_FALSE(ran);
    go.notify_one();
    EXPECT_EQ(co_await local.run_until(value(2)), 2); // the woken waiter runs in this turn
    EXPECT_TRUE(ran);
}
