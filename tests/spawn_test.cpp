// tako::spawn: spawning callables and coroutine objects, joining their results, the
// lifetime of the spawned callable, spawning outside a runtime, and the order tasks run in.
// Related files: join_handle_test.cpp, abort_test.cpp, join_error_test.cpp,
// task_id_test.cpp, unhandled_exception_test.cpp.

#include <tako/tako.hpp>
#include <tako/testing.hpp>

#include <atomic>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace {

using tako_test::deadline;
using tako_test::life;
using tako_test::probe;
using tako_test::yield_until_finished;

tako::task<int> add(int a, int b) {
    co_return a + b;
}

} // namespace

// ------------------------------------------------------------------ spawn and join

TAKO_TEST(spawn, join_returns_value) {
    auto h = tako::spawn([]() -> tako::task<int> { co_return 5; });
    auto r = co_await h;
    EXPECT_TRUE(r.has_value());
    EXPECT_EQ(*r, 5);
}

TAKO_TEST(spawn, spawns_a_coroutine_object) {
    auto h = tako::spawn(add(2, 3));
    EXPECT_TRUE(h.valid());
    auto r = co_await h;
    TAKO_CO_ASSERT(r.has_value());
    EXPECT_EQ(*r, 5);
    EXPECT_FALSE(h.valid()); // awaiting consumed the result
}

TAKO_TEST(spawn, void_task_joins_with_empty_value) {
    bool ran = false;
    auto h = tako::spawn([&ran]() -> tako::task<> {
        ran = true;
        co_return;
    });
    auto r = co_await h;
    EXPECT_TRUE(r.has_value());
    EXPECT_TRUE(ran);
}

TAKO_TEST(spawn, move_only_result) {
    auto h = tako::spawn(
        []() -> tako::task<std::unique_ptr<int>> { co_return std::make_unique<int>(11); });
    auto r = co_await h;
    TAKO_CO_ASSERT(r.has_value());
    TAKO_CO_ASSERT(*r != nullptr);
    EXPECT_EQ(**r, 11);
}

TAKO_TEST(spawn, spawning_an_empty_task_throws_logic_error) {
    tako::task<int> t = add(1, 1);
    tako::task<int> moved = std::move(t);
    bool threw = false;
    try {
        auto h = tako::spawn(std::move(t));
        (void)h;
    } catch (const std::logic_error&) {
        threw = true;
    }
    EXPECT_TRUE(threw);
    EXPECT_EQ(co_await moved, 2);
}

TAKO_TEST(spawn, nested_spawns) {
    auto outer = tako::spawn([]() -> tako::task<int> {
        auto inner = tako::spawn([]() -> tako::task<int> { co_return 20; });
        auto r = co_await inner;
        co_return r.value() + 1;
    });
    auto r = co_await outer;
    TAKO_CO_ASSERT(r.has_value());
    EXPECT_EQ(*r, 21);
}

TAKO_TEST_MT(spawn, many_tasks_on_multi_thread) {
    std::vector<tako::join_handle<int>> hs;
    for (int i = 0; i < 1000; ++i) {
        hs.push_back(tako::spawn([i]() -> tako::task<int> {
            co_await tako::yield_now();
            co_return i;
        }));
    }
    long sum = 0;
    for (auto& h : hs) {
        auto r = co_await h;
        TAKO_CO_ASSERT(r.has_value());
        sum += *r;
    }
    EXPECT_EQ(sum, 999L * 1000 / 2);
}

// Awaiting many already finished handles in a row goes through the budget path.
TAKO_TEST(spawn, awaiting_many_finished_handles) {
    std::vector<tako::join_handle<int>> hs;
    for (int i = 0; i < 400; ++i) {
        hs.push_back(tako::spawn([i]() -> tako::task<int> { co_return i; }));
    }
    EXPECT_TRUE(co_await yield_until_finished(&hs));
    long sum = 0;
    for (auto& h : hs) {
        auto r = co_await h;
        TAKO_CO_ASSERT(r.has_value());
        sum += *r;
    }
    EXPECT_EQ(sum, 399L * 400 / 2);
}

TAKO_TEST(spawn, take_result_of_finished_task) {
    std::vector<tako::join_handle<int>> hs;
    hs.push_back(tako::spawn([]() -> tako::task<int> { co_return 9; }));
    EXPECT_TRUE(co_await yield_until_finished(&hs));
    auto r = hs[0].take_result();
    TAKO_CO_ASSERT(r.has_value());
    EXPECT_EQ(*r, 9);
    EXPECT_FALSE(hs[0].valid());
}

namespace {
struct throws_on_copy {
    throws_on_copy() = default;
    throws_on_copy(const throws_on_copy&) { throw std::runtime_error("copy"); }
    tako::task<int> operator()() const { co_return 1; }
};
struct throws_on_call {
    probe p;
    tako::task<int> operator()() const { throw std::runtime_error("call"); }
};
} // namespace

TAKO_TEST(spawn, callable_copy_that_throws_propagates) {
    const auto before = tako::runtime_handle::current().metrics();
    const throws_on_copy f;
    bool threw = false;
    try {
        auto h = tako::spawn(f);
        (void)h;
    } catch (const std::runtime_error&) {
        threw = true;
    }
    EXPECT_TRUE(threw);
    const auto after = tako::runtime_handle::current().metrics();
    EXPECT_EQ(after.num_alive_tasks, before.num_alive_tasks);
    EXPECT_EQ(after.spawned_tasks_count, before.spawned_tasks_count);
    co_return;
}

TAKO_TEST(spawn, callable_that_throws_instead_of_returning_a_task) {
    life l;
    bool threw = false;
    try {
        auto h = tako::spawn(throws_on_call{probe(l)});
        (void)h;
    } catch (const std::runtime_error&) {
        threw = true;
    }
    EXPECT_TRUE(threw);
    EXPECT_EQ(l.alive.load(), 0);
    co_return;
}

// ------------------------------------------------------------------ callable lifetime

TAKO_TEST(spawn, callable_captures_live_until_task_ends) {
    life l;
    tako::sync::notify go;
    auto h = tako::spawn([p = probe(l, 42), &go]() -> tako::task<int> {
        co_await go.notified();
        co_await tako::yield_now();
        co_return p.value(); // the capture is still valid after two suspensions
    });
    co_await tako::yield_now(); // the task starts and parks
    EXPECT_FALSE(h.is_finished());
    EXPECT_EQ(l.alive.load(), 1);
    go.notify_one();
    deadline d;
    while (!h.is_finished() && !d.expired()) {
        co_await tako::yield_now();
    }
    // Finished and not yet joined: the callable is already destroyed.
    EXPECT_TRUE(h.is_finished());
    EXPECT_EQ(l.alive.load(), 0);
    auto r = co_await h;
    TAKO_CO_ASSERT(r.has_value());
    EXPECT_EQ(*r, 42);
}

TAKO_TEST_MT(spawn, callable_captures_live_until_task_ends_mt) {
    life l;
    tako::sync::notify go;
    std::atomic<bool> started{false};
    auto h = tako::spawn([p = probe(l, 7), &go, &started]() -> tako::task<int> {
        started = true;
        co_await go.notified();
        co_return p.value();
    });
    deadline d;
    while (!started && !d.expired()) {
        co_await tako::yield_now();
    }
    EXPECT_EQ(l.alive.load(), 1);
    go.notify_one();
    auto r = co_await h;
    TAKO_CO_ASSERT(r.has_value());
    EXPECT_EQ(*r, 7);
    EXPECT_EQ(l.alive.load(), 0);
}

TAKO_TEST(spawn, frame_locals_and_captures_destroyed_on_abort) {
    life l;
    tako::sync::notify never;
    auto h = tako::spawn([p = probe(l), &never, &l]() -> tako::task<int> {
        probe local(l);
        co_await never.notified();
        co_return p.value() + local.value();
    });
    co_await tako::yield_now();
    EXPECT_EQ(l.alive.load(), 2);
    h.abort();
    auto r = co_await h;
    TAKO_CO_ASSERT(!r.has_value());
    EXPECT_TRUE(r.error().is_cancelled());
    EXPECT_EQ(l.alive.load(), 0);
}

// ------------------------------------------------------------------ outside a runtime

TEST(spawn, outside_runtime_throws_runtime_error) {
    EXPECT_THROW((void)tako::spawn([]() -> tako::task<> { co_return; }), std::runtime_error);
    EXPECT_THROW((void)tako::spawn_named("x", []() -> tako::task<> { co_return; }),
                 std::runtime_error);
    EXPECT_FALSE(tako::current_task_id().has_value());
}

// ------------------------------------------------------------------ ordering

TAKO_TEST(spawn, fifo_order_on_current_thread) {
    std::vector<int> order;
    std::vector<tako::join_handle<void>> hs;
    for (int i = 0; i < 10; ++i) {
        hs.push_back(tako::spawn([&order, i]() -> tako::task<> {
            order.push_back(i);
            co_return;
        }));
    }
    for (auto& h : hs) {
        (void)co_await h;
    }
    std::vector<int> expected(10);
    std::iota(expected.begin(), expected.end(), 0);
    EXPECT_EQ(order, expected);
}

TAKO_TEST(spawn, yield_now_interleaves_tasks) {
    std::vector<std::string> order;
    auto worker = [&order](std::string name) {
        return [&order, name]() -> tako::task<> {
            for (int i = 0; i < 3; ++i) {
                order.push_back(name + std::to_string(i));
                co_await tako::yield_now();
            }
        };
    };
    auto a = tako::spawn(worker("a"));
    auto b = tako::spawn(worker("b"));
    auto c = tako::spawn(worker("c"));
    (void)co_await a;
    (void)co_await b;
    (void)co_await c;
    const std::vector<std::string> expected{"a0", "b0", "c0", "a1", "b1", "c1", "a2", "b2", "c2"};
    EXPECT_EQ(order, expected);
}

TAKO_TEST(spawn, spawned_task_does_not_run_until_spawner_suspends) {
    bool ran = false;
    auto h = tako::spawn([&ran]() -> tako::task<> {
        ran = true;
        co_return;
    });
    EXPECT_FALSE(ran); // spawning never runs the task inline
    co_await tako::yield_now();
    EXPECT_TRUE(ran);
    (void)co_await h;
}
