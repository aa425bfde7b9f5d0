// tako::spawn, join_handle, abort_handle, join_error, task ids and the unhandled-exception
// hook.

#include <tako/tako.hpp>
#include <tako/testing.hpp>

#include <algorithm>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace {

using tako_test::deadline;
using tako_test::life;
using tako_test::probe;

tako::task<int> add(int a, int b) {
    co_return a + b;
}

tako::task<int> throw_runtime_error(std::string what) {
    throw std::runtime_error(what);
    co_return 0;
}

/// Yields until every handle in `hs` reports finished (or 5 s pass).
template <class H>
tako::task<bool> yield_until_finished(std::vector<H>* hs) {
    deadline d;
    for (;;) {
        const bool all =
            std::all_of(hs->begin(), hs->end(), [](const H& h) { return h.is_finished(); });
        if (all) {
            co_return true;
        }
        if (d.expired()) {
            co_return false;
        }
        co_await tako::yield_now();
    }
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

// ------------------------------------------------------------------ exceptions

TAKO_TEST(spawn, join_reports_exception) {
    auto h = tako::spawn(throw_runtime_error("boom"));
    const tako::task_id id = h.id();
    auto r = co_await h;
    TAKO_CO_ASSERT(!r.has_value());
    const tako::join_error& e = r.error();
    EXPECT_TRUE(e.is_panic());
    EXPECT_FALSE(e.is_cancelled());
    EXPECT_TRUE(static_cast<bool>(e.exception()));
    EXPECT_EQ(e.id(), id);
    EXPECT_EQ(e.message(), "task " + std::to_string(id.value) + " failed: boom");
    std::string what;
    try {
        e.rethrow();
    } catch (const std::runtime_error& ex) {
        what = ex.what();
    }
    EXPECT_EQ(what, "boom");
}

TAKO_TEST(spawn, join_reports_non_standard_exception) {
    auto h = tako::spawn([]() -> tako::task<int> {
        throw 42;
        co_return 0;
    });
    const tako::task_id id = h.id();
    auto r = co_await h;
    TAKO_CO_ASSERT(!r.has_value());
    EXPECT_TRUE(r.error().is_panic());
    EXPECT_EQ(r.error().message(),
              "task " + std::to_string(id.value) + " failed with a non-standard exception");
    int thrown = 0;
    try {
        r.error().rethrow();
    } catch (int v) {
        thrown = v;
    }
    EXPECT_EQ(thrown, 42);
}

TAKO_TEST(spawn, exception_after_suspension) {
    auto h = tako::spawn([]() -> tako::task<> {
        co_await tako::yield_now();
        throw std::out_of_range("late");
    });
    auto r = co_await h;
    TAKO_CO_ASSERT(!r.has_value());
    EXPECT_TRUE(r.error().is_panic());
    bool caught = false;
    try {
        std::rethrow_exception(r.error().exception());
    } catch (const std::out_of_range& e) {
        caught = std::string(e.what()) == "late";
    }
    EXPECT_TRUE(caught);
}

TAKO_TEST_MT(spawn, join_reports_exception_mt) {
    auto h = tako::spawn(throw_runtime_error("mt boom"));
    auto r = co_await h;
    TAKO_CO_ASSERT(!r.has_value());
    EXPECT_TRUE(r.error().is_panic());
    EXPECT_NE(r.error().message().find("failed: mt boom"), std::string::npos);
}

// ------------------------------------------------------------------ abort

TAKO_TEST(spawn, abort_before_start) {
    bool ran = false;
    life l;
    auto h = tako::spawn([&ran, p = probe(l)]() -> tako::task<int> {
        ran = true;
        co_return p.value();
    });
    const tako::task_id id = h.id();
    h.abort();
    auto r = co_await h;
    TAKO_CO_ASSERT(!r.has_value());
    const tako::join_error& e = r.error();
    EXPECT_TRUE(e.is_cancelled());
    EXPECT_FALSE(e.is_panic());
    EXPECT_FALSE(static_cast<bool>(e.exception()));
    EXPECT_EQ(e.id(), id);
    EXPECT_EQ(e.message(), "task " + std::to_string(id.value) + " was cancelled");
    bool logic = false;
    try {
        e.rethrow();
    } catch (const std::logic_error&) {
        logic = true;
    }
    EXPECT_TRUE(logic);
    EXPECT_FALSE(ran);
    EXPECT_EQ(l.alive.load(), 0);
}

TAKO_TEST(spawn, abort_while_parked_on_oneshot) {
    auto [tx, rx] = tako::sync::oneshot::channel<int>();
    bool resumed = false;
    auto h = tako::spawn([rx = std::move(rx), &resumed]() mutable -> tako::task<int> {
        auto v = co_await rx;
        resumed = true;
        co_return v.value_or(-1);
    });
    co_await tako::yield_now(); // parks on the receiver
    EXPECT_FALSE(tx.is_closed());
    h.abort();
    auto r = co_await h;
    TAKO_CO_ASSERT(!r.has_value());
    EXPECT_TRUE(r.error().is_cancelled());
    EXPECT_FALSE(resumed);
    // The receiver (owned by the task's callable) is gone.
    EXPECT_TRUE(tx.is_closed());
    auto sent = tx.send(5);
    TAKO_CO_ASSERT(!sent.has_value());
    EXPECT_EQ(sent.error(), 5);
}

TAKO_TEST(spawn, abort_while_parked_on_notify_unlinks_waiter) {
    tako::sync::notify n;
    bool resumed = false;
    auto h = tako::spawn([&]() -> tako::task<> {
        co_await n.notified();
        resumed = true;
    });
    co_await tako::yield_now();
    h.abort();
    auto r = co_await h;
    TAKO_CO_ASSERT(!r.has_value());
    EXPECT_TRUE(r.error().is_cancelled());
    EXPECT_FALSE(resumed);
    // The cancelled waiter left the list: this notification becomes a permit.
    n.notify_one();
    bool ready_at_once = false;
    {
        auto aw = n.notified();
        ready_at_once = aw.await_ready();
    }
    EXPECT_TRUE(ready_at_once);
}

TAKO_TEST_MT(spawn, abort_while_parked_mt) {
    tako::sync::notify n;
    std::atomic<bool> started{false};
    life l;
    auto h = tako::spawn([&, p = probe(l)]() -> tako::task<int> {
        started = true;
        co_await n.notified();
        co_return p.value();
    });
    deadline d;
    while (!started && !d.expired()) {
        co_await tako::yield_now();
    }
    h.abort();
    auto r = co_await h;
    TAKO_CO_ASSERT(!r.has_value());
    EXPECT_TRUE(r.error().is_cancelled());
    EXPECT_EQ(l.alive.load(), 0);
}

TAKO_TEST(spawn, abort_after_completion_keeps_result) {
    std::vector<tako::join_handle<int>> hs;
    hs.push_back(tako::spawn([]() -> tako::task<int> { co_return 7; }));
    EXPECT_TRUE(co_await yield_until_finished(&hs));
    hs[0].abort();
    hs[0].get_abort_handle().abort();
    auto r = co_await hs[0];
    TAKO_CO_ASSERT(r.has_value());
    EXPECT_EQ(*r, 7);
}

TAKO_TEST(spawn, abort_twice_is_harmless) {
    tako::sync::notify n;
    auto h = tako::spawn([&]() -> tako::task<> { co_await n.notified(); });
    co_await tako::yield_now();
    h.abort();
    h.abort();
    auto r = co_await h;
    TAKO_CO_ASSERT(!r.has_value());
    EXPECT_TRUE(r.error().is_cancelled());
}

TAKO_TEST(spawn, self_abort_cancels_at_next_suspension) {
    tako::abort_handle self;
    tako::sync::notify go;
    bool after = false;
    auto h = tako::spawn([&]() -> tako::task<int> {
        co_await go.notified();
        self.abort();
        co_await tako::yield_now();
        after = true;
        co_return 1;
    });
    self = h.get_abort_handle();
    go.notify_one();
    auto r = co_await h;
    TAKO_CO_ASSERT(!r.has_value());
    EXPECT_TRUE(r.error().is_cancelled());
    EXPECT_FALSE(after);
}

// As in Tokio: an abort that arrives while the task runs to completion does not undo it.
TAKO_TEST(spawn, self_abort_without_suspension_completes) {
    tako::abort_handle self;
    tako::sync::notify go;
    auto h = tako::spawn([&]() -> tako::task<int> {
        co_await go.notified();
        self.abort();
        co_return 3;
    });
    self = h.get_abort_handle();
    go.notify_one();
    auto r = co_await h;
    TAKO_CO_ASSERT(r.has_value());
    EXPECT_EQ(*r, 3);
}

TAKO_TEST(spawn, abort_handle_cancels_and_reports) {
    tako::sync::notify n;
    life l;
    auto h = tako::spawn([&, p = probe(l)]() -> tako::task<> { co_await n.notified(); });
    tako::abort_handle a = h.get_abort_handle();
    tako::abort_handle copy = a; // copies refer to the same task
    EXPECT_EQ(a.id(), h.id());
    EXPECT_EQ(copy.id(), h.id());
    EXPECT_FALSE(a.is_finished());
    co_await tako::yield_now();
    copy.abort();
    auto r = co_await h;
    TAKO_CO_ASSERT(!r.has_value());
    EXPECT_TRUE(r.error().is_cancelled());
    EXPECT_TRUE(a.is_finished());
    EXPECT_TRUE(copy.is_finished());
    EXPECT_EQ(l.alive.load(), 0);
}

TAKO_TEST(spawn, abort_handle_outlives_join_handle) {
    tako::sync::notify n;
    life l;
    tako::abort_handle a;
    {
        auto h = tako::spawn([&, p = probe(l)]() -> tako::task<> { co_await n.notified(); });
        a = h.get_abort_handle();
    } // detached
    co_await tako::yield_now();
    EXPECT_FALSE(a.is_finished());
    EXPECT_EQ(l.alive.load(), 1);
    a.abort();
    deadline d;
    while (!a.is_finished() && !d.expired()) {
        co_await tako::yield_now();
    }
    EXPECT_TRUE(a.is_finished());
    EXPECT_EQ(l.alive.load(), 0);
}

TEST(spawn, empty_abort_handle) {
    tako::abort_handle a;
    EXPECT_TRUE(a.is_finished());
    EXPECT_EQ(a.id().value, 0u);
    a.abort(); // no effect
}

TAKO_TEST(spawn, is_finished_tracks_completion) {
    tako::sync::notify n;
    auto h = tako::spawn([&]() -> tako::task<int> {
        co_await n.notified();
        co_return 1;
    });
    EXPECT_FALSE(h.is_finished());
    co_await tako::yield_now();
    EXPECT_FALSE(h.is_finished());
    n.notify_one();
    deadline d;
    while (!h.is_finished() && !d.expired()) {
        co_await tako::yield_now();
    }
    EXPECT_TRUE(h.is_finished());
    EXPECT_TRUE(h.valid());
    auto r = co_await h;
    EXPECT_EQ(r.value_or(0), 1);
    EXPECT_TRUE(h.is_finished()); // empty handle
}

// An aborted joiner leaves the result in the handle (join is cancel-safe).
TAKO_TEST(spawn, join_is_cancel_safe) {
    tako::sync::notify n;
    auto target = tako::spawn([&]() -> tako::task<int> {
        co_await n.notified();
        co_return 77;
    });
    auto joiner = tako::spawn([&]() -> tako::task<int> {
        auto r = co_await target;
        co_return r.value_or(-1);
    });
    co_await tako::yield_now(); // both park
    joiner.abort();
    auto jr = co_await joiner;
    TAKO_CO_ASSERT(!jr.has_value());
    EXPECT_TRUE(jr.error().is_cancelled());
    n.notify_one();
    TAKO_CO_ASSERT(target.valid());
    auto r = co_await target;
    TAKO_CO_ASSERT(r.has_value());
    EXPECT_EQ(*r, 77);
}

// A task that owns a join_handle and is cancelled detaches the joined task.
TAKO_TEST(spawn, cancelled_owner_detaches_joined_task) {
    tako::sync::notify n;
    bool inner_done = false;
    auto outer = tako::spawn([&]() -> tako::task<> {
        auto inner = tako::spawn([&]() -> tako::task<> {
            co_await n.notified();
            inner_done = true;
        });
        (void)co_await inner;
    });
    co_await tako::yield_now();
    co_await tako::yield_now();
    outer.abort();
    auto r = co_await outer;
    EXPECT_FALSE(r.has_value());
    n.notify_one();
    for (int i = 0; i < 10 && !inner_done; ++i) {
        co_await tako::yield_now();
    }
    EXPECT_TRUE(inner_done);
}

// ------------------------------------------------------------------ detaching

TAKO_TEST(spawn, dropping_join_handle_detaches) {
    tako::sync::notify n;
    int steps = 0;
    {
        auto h = tako::spawn([&]() -> tako::task<> {
            ++steps;
            co_await n.notified();
            ++steps;
        });
    }
    co_await tako::yield_now();
    EXPECT_EQ(steps, 1);
    n.notify_one();
    for (int i = 0; i < 10 && steps < 2; ++i) {
        co_await tako::yield_now();
    }
    EXPECT_EQ(steps, 2);
}

TAKO_TEST(spawn, detach_empties_the_handle) {
    bool ran = false;
    auto h = tako::spawn([&]() -> tako::task<> {
        ran = true;
        co_return;
    });
    h.detach();
    EXPECT_FALSE(h.valid());
    EXPECT_TRUE(h.is_finished());
    EXPECT_EQ(h.id().value, 0u);
    co_await tako::yield_now();
    EXPECT_TRUE(ran);
}

TAKO_TEST(spawn, move_assignment_detaches_previous_task) {
    tako::sync::notify n;
    bool first_done = false;
    auto h = tako::spawn([&]() -> tako::task<int> {
        co_await n.notified();
        first_done = true;
        co_return 1;
    });
    h = tako::spawn([]() -> tako::task<int> { co_return 2; });
    auto r = co_await h;
    EXPECT_EQ(r.value_or(0), 2);
    n.notify_one();
    for (int i = 0; i < 10 && !first_done; ++i) {
        co_await tako::yield_now();
    }
    EXPECT_TRUE(first_done);
}

TAKO_TEST_MT(spawn, detached_tasks_keep_running_mt) {
    std::atomic<int> done{0};
    for (int i = 0; i < 200; ++i) {
        auto h = tako::spawn([&done]() -> tako::task<> {
            co_await tako::yield_now();
            done.fetch_add(1);
        });
    }
    deadline d;
    while (done.load() < 200 && !d.expired()) {
        co_await tako::yield_now();
    }
    EXPECT_EQ(done.load(), 200);
}

// ------------------------------------------------------------------ empty handles

TAKO_TEST(spawn, awaiting_empty_join_handle_throws) {
    tako::join_handle<int> empty;
    EXPECT_FALSE(empty.valid());
    EXPECT_TRUE(empty.is_finished());
    bool threw = false;
    try {
        (void)co_await empty;
    } catch (const std::logic_error&) {
        threw = true;
    }
    EXPECT_TRUE(threw);

    auto h = tako::spawn([]() -> tako::task<int> { co_return 1; });
    auto moved = std::move(h);
    threw = false;
    try {
        (void)co_await h;
    } catch (const std::logic_error&) {
        threw = true;
    }
    EXPECT_TRUE(threw);

    auto r = co_await moved;
    EXPECT_EQ(r.value_or(0), 1);
    threw = false;
    try {
        (void)co_await moved; // already awaited
    } catch (const std::logic_error&) {
        threw = true;
    }
    EXPECT_TRUE(threw);
}

// ------------------------------------------------------------------ outside a runtime

TEST(spawn, outside_runtime_throws_runtime_error) {
    EXPECT_THROW((void)tako::spawn([]() -> tako::task<> { co_return; }), std::runtime_error);
    EXPECT_THROW((void)tako::spawn_named("x", []() -> tako::task<> { co_return; }),
                 std::runtime_error);
    EXPECT_FALSE(tako::current_task_id().has_value());
}

// ------------------------------------------------------------------ task ids

TAKO_TEST(spawn, task_ids_unique_and_current_task_id) {
    const auto root_id = tako::current_task_id();
    EXPECT_TRUE(root_id.has_value()); // block_on's body is a task too
    std::vector<tako::join_handle<tako::task_id>> hs;
    std::set<std::uint64_t> ids;
    for (int i = 0; i < 100; ++i) {
        hs.push_back(tako::spawn([]() -> tako::task<tako::task_id> {
            const auto before = tako::current_task_id();
            co_await tako::yield_now();
            const auto after = tako::current_task_id();
            co_return (before && after && *before == *after) ? *before : tako::task_id{};
        }));
        ids.insert(hs.back().id().value);
        EXPECT_NE(hs.back().id().value, 0u);
    }
    EXPECT_EQ(ids.size(), 100u);
    EXPECT_EQ(ids.count(root_id->value), 0u);
    for (auto& h : hs) {
        const tako::task_id expected = h.id();
        auto r = co_await h;
        TAKO_CO_ASSERT(r.has_value());
        EXPECT_EQ(*r, expected);
    }
    EXPECT_EQ(tako::current_task_id(), root_id);
}

TAKO_TEST_MT(spawn, task_ids_unique_across_workers) {
    std::vector<tako::join_handle<std::vector<std::uint64_t>>> hs;
    for (int w = 0; w < 4; ++w) {
        hs.push_back(tako::spawn([]() -> tako::task<std::vector<std::uint64_t>> {
            std::vector<std::uint64_t> ids;
            for (int i = 0; i < 300; ++i) {
                auto h = tako::spawn([]() -> tako::task<> { co_return; });
                ids.push_back(h.id().value);
                if (i % 50 == 0) {
                    co_await tako::yield_now();
                }
            }
            co_return ids;
        }));
    }
    std::set<std::uint64_t> all;
    std::size_t total = 0;
    for (auto& h : hs) {
        auto r = co_await h;
        TAKO_CO_ASSERT(r.has_value());
        total += r->size();
        all.insert(r->begin(), r->end());
    }
    EXPECT_EQ(total, 1200u);
    EXPECT_EQ(all.size(), 1200u);
}

// ------------------------------------------------------------------ unhandled exceptions

namespace {

struct hook_record {
    std::mutex lock;
    int calls = 0;
    tako::task_id id;
    std::string name;
    bool name_null = false;
    std::string file;
    unsigned line = 0;
    std::string what;
};

tako::runtime::builder with_hook(tako::runtime::builder b, std::shared_ptr<hook_record> rec) {
    b.on_unhandled_exception([rec](const tako::task_info& info, std::exception_ptr e) {
        std::lock_guard g(rec->lock);
        ++rec->calls;
        rec->id = info.id;
        rec->name_null = info.name == nullptr;
        rec->name = info.name ? info.name : "";
        rec->file = info.location.file_name();
        rec->line = static_cast<unsigned>(info.location.line());
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            rec->what = ex.what();
        } catch (...) {
            rec->what = "?";
        }
    });
    return b;
}

void check_hook_for_detached_named_task(tako::runtime::builder b) {
    auto rec = std::make_shared<hook_record>();
    tako::runtime rt = with_hook(std::move(b), rec).build();
    rt.block_on([rec]() -> tako::task<> {
        tako::sync::notify go;
        auto body = [&go]() -> tako::task<> {
            co_await go.notified();
            throw std::runtime_error("detached boom");
        };
        // clang-format off
        const unsigned line = __LINE__; auto h = tako::spawn_named("boom-task", body);
        // clang-format on
        const tako::task_id id = h.id();
        co_await tako::yield_now();
        h.detach();
        go.notify_one();
        deadline d;
        for (;;) {
            {
                std::lock_guard g(rec->lock);
                if (rec->calls > 0 || d.expired()) {
                    break;
                }
            }
            co_await tako::yield_now();
        }
        std::lock_guard g(rec->lock);
        EXPECT_EQ(rec->calls, 1);
        EXPECT_EQ(rec->id, id);
        EXPECT_EQ(rec->name, "boom-task");
        EXPECT_TRUE(rec->file.ends_with("spawn_test.cpp")) << rec->file;
        EXPECT_EQ(rec->line, line);
        EXPECT_EQ(rec->what, "detached boom");
    });
}

} // namespace

TEST(spawn, unhandled_exception_hook_for_detached_named_task) {
    check_hook_for_detached_named_task(tako::runtime::builder::current_thread());
}

TEST(spawn, unhandled_exception_hook_for_detached_named_task_mt) {
    check_hook_for_detached_named_task(tako::runtime::builder::multi_thread().worker_threads(2));
}

TEST(spawn, unhandled_exception_hook_unnamed_task_detached_before_start) {
    auto rec = std::make_shared<hook_record>();
    tako::runtime rt = with_hook(tako::runtime::builder::current_thread(), rec).build();
    rt.block_on([]() -> tako::task<> {
        (void)tako::spawn(throw_runtime_error("early"));
        co_await tako::yield_now();
        co_await tako::yield_now();
    });
    std::lock_guard g(rec->lock);
    EXPECT_EQ(rec->calls, 1);
    EXPECT_TRUE(rec->name_null);
    EXPECT_EQ(rec->what, "early");
}

// BUG: an exception is silently lost when the join_handle is dropped after the task already
// failed (without the result being looked at). finish() reports only if JOIN_INTEREST is
// already clear when the task completes; drop_join_handle() never reports. So whether a
// detached task's exception reaches the hook depends on timing (seen as a flaky
// blocking.detached_blocking_exception_reaches_hook under TSan before that test was made
// deterministic), contrary to the design's rule ("never silently dropped"). Fix:
// whichever of finish()/drop_join_handle() runs second reports an unobserved exception.
TEST(spawn, handle_dropped_after_failure_reports_exception) {
    auto rec = std::make_shared<hook_record>();
    tako::runtime rt = with_hook(tako::runtime::builder::current_thread(), rec).build();
    rt.block_on([]() -> tako::task<> {
        std::vector<tako::join_handle<int>> hs;
        hs.push_back(tako::spawn(throw_runtime_error("after the fact")));
        EXPECT_TRUE(co_await yield_until_finished(&hs));
        hs.clear(); // detach a task that has already failed, unobserved
        co_await tako::yield_now();
    });
    std::lock_guard g(rec->lock);
    EXPECT_EQ(rec->calls, 1);
    EXPECT_EQ(rec->what, "after the fact");
}

TEST(spawn, hook_not_called_when_join_handle_observes_exception) {
    auto rec = std::make_shared<hook_record>();
    tako::runtime rt = with_hook(tako::runtime::builder::current_thread(), rec).build();
    const bool panic = rt.block_on([]() -> tako::task<bool> {
        auto h = tako::spawn_named("observed", throw_runtime_error("seen"));
        auto r = co_await h;
        co_return !r.has_value() && r.error().is_panic();
    });
    EXPECT_TRUE(panic);
    std::lock_guard g(rec->lock);
    EXPECT_EQ(rec->calls, 0);
}

TEST(spawn, hook_not_called_for_cancelled_detached_task) {
    auto rec = std::make_shared<hook_record>();
    tako::runtime rt = with_hook(tako::runtime::builder::current_thread(), rec).build();
    rt.block_on([]() -> tako::task<> {
        tako::sync::notify n;
        auto h = tako::spawn([&n]() -> tako::task<> {
            co_await n.notified();
            throw std::runtime_error("never");
        });
        co_await tako::yield_now();
        auto a = h.get_abort_handle();
        h.detach();
        a.abort();
        co_await tako::yield_now();
        co_await tako::yield_now();
        EXPECT_TRUE(a.is_finished());
    });
    std::lock_guard g(rec->lock);
    EXPECT_EQ(rec->calls, 0);
}

TEST(spawn, default_unhandled_report_goes_to_stderr) {
    tako::runtime rt = tako::runtime::builder::current_thread().build();
    testing::internal::CaptureStderr();
    rt.block_on([]() -> tako::task<> {
        (void)tako::spawn_named("noisy", throw_runtime_error("to stderr"));
        co_await tako::yield_now();
        co_await tako::yield_now();
    });
    const std::string err = testing::internal::GetCapturedStderr();
    EXPECT_NE(err.find("'noisy'"), std::string::npos) << err;
    EXPECT_NE(err.find("spawn_test.cpp"), std::string::npos) << err;
    EXPECT_NE(err.find("threw: to stderr"), std::string::npos) << err;
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
