// join_handle: is_finished, cancel-safe joins, detaching (dropping, detach(), move
// assignment) and empty handles.

#include <tako/tako.hpp>
#include <tako/testing.hpp>

#include <atomic>
#include <stdexcept>
#include <utility>

#include "test_support.hpp"

namespace {

using tako_test::deadline;

} // namespace

// ------------------------------------------------------------------ completion and joins

TAKO_TEST(join_handle, is_finished_tracks_completion) {
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
TAKO_TEST(join_handle, join_is_cancel_safe) {
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
TAKO_TEST(join_handle, cancelled_owner_detaches_joined_task) {
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

TAKO_TEST(join_handle, dropping_join_handle_detaches) {
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

TAKO_TEST(join_handle, detach_empties_the_handle) {
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

TAKO_TEST(join_handle, move_assignment_detaches_previous_task) {
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

TAKO_TEST_MT(join_handle, detached_tasks_keep_running_mt) {
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

TAKO_TEST(join_handle, awaiting_empty_join_handle_throws) {
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
