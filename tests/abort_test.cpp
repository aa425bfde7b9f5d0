// Cancelling a spawned task: join_handle::abort and abort_handle, before the task starts,
// while it waits, after it finished, and from inside the task itself.

#include <tako/tako.hpp>
#include <tako/testing.hpp>

#include <atomic>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace {

using tako_test::deadline;
using tako_test::life;
using tako_test::probe;
using tako_test::yield_until_finished;

} // namespace

// ------------------------------------------------------------------ abort

TAKO_TEST(abort, abort_before_start) {
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

TAKO_TEST(abort, abort_while_parked_on_oneshot) {
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

TAKO_TEST(abort, abort_while_parked_on_notify_unlinks_waiter) {
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

TAKO_TEST_MT(abort, abort_while_parked_mt) {
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

TAKO_TEST(abort, abort_after_completion_keeps_result) {
    std::vector<tako::join_handle<int>> hs;
    hs.push_back(tako::spawn([]() -> tako::task<int> { co_return 7; }));
    EXPECT_TRUE(co_await yield_until_finished(&hs));
    hs[0].abort();
    hs[0].get_abort_handle().abort();
    auto r = co_await hs[0];
    TAKO_CO_ASSERT(r.has_value());
    EXPECT_EQ(*r, 7);
}

TAKO_TEST(abort, abort_twice_is_harmless) {
    tako::sync::notify n;
    auto h = tako::spawn([&]() -> tako::task<> { co_await n.notified(); });
    co_await tako::yield_now();
    h.abort();
    h.abort();
    auto r = co_await h;
    TAKO_CO_ASSERT(!r.has_value());
    EXPECT_TRUE(r.error().is_cancelled());
}

TAKO_TEST(abort, self_abort_cancels_at_next_suspension) {
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
TAKO_TEST(abort, self_abort_without_suspension_completes) {
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

TAKO_TEST(abort, abort_handle_cancels_and_reports) {
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

TAKO_TEST(abort, abort_handle_outlives_join_handle) {
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

TEST(abort, empty_abort_handle) {
    tako::abort_handle a;
    EXPECT_TRUE(a.is_finished());
    EXPECT_EQ(a.id().value, 0u);
    a.abort(); // no effect
}
