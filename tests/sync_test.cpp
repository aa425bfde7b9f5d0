// tako::sync::oneshot (values, void signals, sender::closed) and tako::sync::notify.

#include <tako/tako.hpp>
#include <tako/testing.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using tako::sync::oneshot::recv_error;
using tako_test::deadline;
using tako_test::life;
using tako_test::probe;

/// Lets every queued task run (current_thread) a few times over.
tako::task<> settle(int rounds = 5) {
    for (int i = 0; i < rounds; ++i) {
        co_await tako::yield_now();
    }
}

/// True if awaiting `n` now would complete without waiting (consumes the permit if so).
bool permit_available(tako::sync::notify& n) {
    auto aw = n.notified();
    return aw.await_ready();
}

/// Spawns a new waiter on `*n` and lets it run; then wakes it with `notify_one` and joins
/// it. True if the waiter was still parked before that `notify_one` (no permit was stored).
tako::task<bool> new_waiter_parks_until_notify_one(tako::sync::notify* n) {
    auto h = tako::spawn([n]() -> tako::task<> { co_await n->notified(); });
    co_await settle();
    const bool parked = !h.is_finished();
    n->notify_one();
    (void)co_await h;
    co_return parked;
}

/// What `loop_until_another_task_runs` saw.
struct budget_loop {
    bool other_ran; ///< the other task ran while the loop was still going
    int iterations; ///< how many steps the loop took
};

/// Spawns a task, then awaits `step()` in a loop until that task has run (at most 100'000
/// times); joins it. The cooperative budget should make a loop of always-ready steps give
/// way within a few hundred steps.
template <class Step>
tako::task<budget_loop> loop_until_another_task_runs(Step step) {
    bool other_ran = false;
    auto other = tako::spawn([&other_ran]() -> tako::task<> {
        other_ran = true;
        co_return;
    });
    int iterations = 0;
    while (!other_ran && iterations < 100'000) {
        ++iterations;
        co_await step();
    }
    const budget_loop seen{other_ran, iterations}; // before the join, which lets it run
    (void)co_await other;
    co_return seen;
}

} // namespace

// ------------------------------------------------------------------ oneshot

TAKO_TEST(oneshot, send_then_receive) {
    auto [tx, rx] = tako::sync::oneshot::channel<int>();
    EXPECT_FALSE(tx.is_closed());
    auto sent = tx.send(5);
    EXPECT_TRUE(sent.has_value());
    auto v = co_await rx;
    TAKO_CO_ASSERT(v.has_value());
    EXPECT_EQ(*v, 5);
}

TAKO_TEST(oneshot, receiver_waits_for_sender_task) {
    auto [tx, rx] = tako::sync::oneshot::channel<std::string>();
    auto h = tako::spawn([tx = std::move(tx)]() mutable -> tako::task<bool> {
        co_await tako::yield_now();
        co_await tako::yield_now();
        co_return tx.send("hello").has_value();
    });
    auto v = co_await rx;
    TAKO_CO_ASSERT(v.has_value());
    EXPECT_EQ(*v, "hello");
    EXPECT_TRUE((co_await h).value_or(false));
}

TAKO_TEST_MT(oneshot, send_from_other_thread_wakes_receiver) {
    auto [tx, rx] = tako::sync::oneshot::channel<int>();
    std::thread sender([tx = std::move(tx)]() mutable {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        (void)tx.send(123);
    });
    auto v = co_await rx;
    sender.join();
    TAKO_CO_ASSERT(v.has_value());
    EXPECT_EQ(*v, 123);
}

TAKO_TEST(oneshot, move_only_value) {
    auto [tx, rx] = tako::sync::oneshot::channel<std::unique_ptr<int>>();
    (void)tx.send(std::make_unique<int>(8));
    auto v = co_await rx;
    TAKO_CO_ASSERT(v.has_value() && *v != nullptr);
    EXPECT_EQ(**v, 8);
}

TAKO_TEST(oneshot, sender_dropped_while_waiting_gives_closed) {
    auto [tx, rx] = tako::sync::oneshot::channel<int>();
    auto h = tako::spawn([tx = std::move(tx)]() mutable -> tako::task<> {
        co_await tako::yield_now();
        auto dropped = std::move(tx); // destroyed at the end of this scope, unsent
        co_return;
    });
    auto v = co_await rx;
    TAKO_CO_ASSERT(!v.has_value());
    EXPECT_EQ(v.error(), recv_error::closed);
    (void)co_await h;
}

TAKO_TEST(oneshot, sender_dropped_before_await_gives_closed) {
    auto [tx, rx] = tako::sync::oneshot::channel<int>();
    { auto dropped = std::move(tx); }
    auto v = co_await rx;
    TAKO_CO_ASSERT(!v.has_value());
    EXPECT_EQ(v.error(), recv_error::closed);
}

TAKO_TEST(oneshot, receiver_dropped_send_returns_value) {
    auto [tx, rx] = tako::sync::oneshot::channel<std::unique_ptr<int>>();
    { auto dropped = std::move(rx); }
    EXPECT_TRUE(tx.is_closed());
    auto p = std::make_unique<int>(4);
    int* raw = p.get();
    auto sent = tx.send(std::move(p));
    TAKO_CO_ASSERT(!sent.has_value());
    EXPECT_EQ(sent.error().get(), raw); // the very same value comes back
    co_return;
}

TAKO_TEST(oneshot, value_destroyed_with_channel) {
    life l;
    {
        auto [tx, rx] = tako::sync::oneshot::channel<probe>();
        (void)tx.send(probe(l));
        EXPECT_EQ(l.alive.load(), 1);
    }
    EXPECT_EQ(l.alive.load(), 0);
    co_return;
}

TAKO_TEST(oneshot, try_recv_empty_value_closed) {
    auto [tx, rx] = tako::sync::oneshot::channel<int>();
    auto r = rx.try_recv();
    TAKO_CO_ASSERT(!r.has_value());
    EXPECT_EQ(r.error(), recv_error::empty);
    (void)tx.send(3);
    r = rx.try_recv();
    TAKO_CO_ASSERT(r.has_value());
    EXPECT_EQ(*r, 3);
    // The value was taken and the sender is gone.
    r = rx.try_recv();
    TAKO_CO_ASSERT(!r.has_value());
    EXPECT_EQ(r.error(), recv_error::closed);

    auto [tx2, rx2] = tako::sync::oneshot::channel<int>();
    { auto dropped = std::move(tx2); }
    r = rx2.try_recv();
    TAKO_CO_ASSERT(!r.has_value());
    EXPECT_EQ(r.error(), recv_error::closed);
    co_return;
}

TAKO_TEST(oneshot, second_receive_after_value_is_closed) {
    auto [tx, rx] = tako::sync::oneshot::channel<int>();
    (void)tx.send(1);
    EXPECT_EQ((co_await rx).value_or(0), 1);
    auto again = co_await rx;
    TAKO_CO_ASSERT(!again.has_value());
    EXPECT_EQ(again.error(), recv_error::closed);
}

TAKO_TEST(oneshot, moved_from_halves) {
    auto [tx, rx] = tako::sync::oneshot::channel<int>();
    auto tx2 = std::move(tx);
    auto rx2 = std::move(rx);
    EXPECT_TRUE(tx.is_closed()); // a moved-from sender has no channel
    auto failed = tx.send(9);
    TAKO_CO_ASSERT(!failed.has_value());
    EXPECT_EQ(failed.error(), 9);
    auto r = rx.try_recv();
    TAKO_CO_ASSERT(!r.has_value());
    EXPECT_EQ(r.error(), recv_error::closed);
    auto v = co_await rx; // awaiting a moved-from receiver completes with closed
    EXPECT_FALSE(v.has_value());
    (void)tx2.send(2);
    EXPECT_EQ((co_await rx2).value_or(0), 2);
}

TAKO_TEST(oneshot, sender_move_assignment_closes_previous_channel) {
    auto [tx1, rx1] = tako::sync::oneshot::channel<int>();
    auto [tx2, rx2] = tako::sync::oneshot::channel<int>();
    tx1 = std::move(tx2);
    auto r1 = co_await rx1;
    TAKO_CO_ASSERT(!r1.has_value());
    EXPECT_EQ(r1.error(), recv_error::closed);
    (void)tx1.send(6);
    EXPECT_EQ((co_await rx2).value_or(0), 6);
}

TAKO_TEST(oneshot, receiver_close_makes_send_fail) {
    auto [tx, rx] = tako::sync::oneshot::channel<int>();
    rx.close();
    EXPECT_TRUE(tx.is_closed());
    auto sent = tx.send(4);
    TAKO_CO_ASSERT(!sent.has_value());
    EXPECT_EQ(sent.error(), 4);
    auto r = co_await rx; // the sender is consumed: nothing will come
    TAKO_CO_ASSERT(!r.has_value());
    EXPECT_EQ(r.error(), recv_error::closed);
}

TAKO_TEST(oneshot, value_sent_before_close_is_still_received) {
    auto [tx, rx] = tako::sync::oneshot::channel<int>();
    (void)tx.send(12);
    rx.close();
    auto r = rx.try_recv();
    TAKO_CO_ASSERT(r.has_value());
    EXPECT_EQ(*r, 12);
}

// Regression: after receiver::close(), a receiver already waiting must still be woken by a
// send() that fails (the sender is consumed and has no state left to close later); it
// completes with recv_error::closed, as Tokio's recv does once the sender is gone.
TAKO_TEST(oneshot, close_then_send_wakes_waiting_receiver) {
    auto [tx, rx] = tako::sync::oneshot::channel<int>();
    auto receiving = tako::spawn([&rx]() -> tako::task<bool> {
        auto r = co_await rx;
        co_return !r.has_value() && r.error() == recv_error::closed;
    });
    co_await settle(); // the receiver waits
    rx.close();
    auto sent = tx.send(1);
    EXPECT_FALSE(sent.has_value());
    co_await settle();
    EXPECT_TRUE(receiving.is_finished()) << "the waiting receiver was never woken";
    if (!receiving.is_finished()) {
        receiving.abort(); // do not hang the test
    }
    auto r = co_await receiving;
    EXPECT_TRUE(r.value_or(false));
}

// Receiving is cancel-safe: a value sent after the awaiting task was cancelled stays in the
// channel.
TAKO_TEST(oneshot, cancelled_receive_keeps_later_value) {
    auto [tx, rx] = tako::sync::oneshot::channel<int>();
    auto waiting = tako::spawn([&rx]() -> tako::task<int> {
        auto r = co_await rx;
        co_return r.value_or(-1);
    });
    co_await settle();
    waiting.abort();
    auto jr = co_await waiting;
    TAKO_CO_ASSERT(!jr.has_value());
    EXPECT_TRUE(jr.error().is_cancelled());
    EXPECT_FALSE(tx.is_closed());
    EXPECT_TRUE(tx.send(31).has_value());
    auto v = rx.try_recv();
    TAKO_CO_ASSERT(v.has_value());
    EXPECT_EQ(*v, 31);
}

TAKO_TEST(oneshot, many_ready_receives_use_budget) {
    // Each receive is ready at once; past the budget the task yields instead of looping.
    int sum = 0;
    for (int i = 0; i < 1000; ++i) {
        auto [tx, rx] = tako::sync::oneshot::channel<int>();
        (void)tx.send(1);
        sum += (co_await rx).value_or(0);
    }
    EXPECT_EQ(sum, 1000);
}

// A lost select branch leaves the borrowed receiver intact, round after round.
TAKO_TEST(oneshot, select_loop_borrows_the_receiver) {
    auto [tx, rx] = tako::sync::oneshot::channel<int>();
    int rounds = 0;
    std::optional<int> got;
    while (!got) {
        auto r = co_await tako::select(rx, tako::yield_now());
        if (r.index() == 0) {
            TAKO_CO_ASSERT(std::get<0>(r).has_value());
            got = *std::get<0>(r);
        } else if (++rounds == 10) {
            (void)tx.send(77);
        }
    }
    EXPECT_EQ(*got, 77);
    EXPECT_EQ(rounds, 10);
    // Taken: the receiver is still usable and now reports the channel done.
    auto again = rx.try_recv();
    TAKO_CO_ASSERT(!again.has_value());
    EXPECT_EQ(again.error(), recv_error::closed);
}

// ---------------------------------------------------------- oneshot<void>

TAKO_TEST(oneshot_void, send_then_receive) {
    auto [tx, rx] = tako::sync::oneshot::channel<void>();
    auto waiting = tako::spawn(
        [](tako::sync::oneshot::receiver<void> r) -> tako::task<bool> {
            auto got = co_await r;
            co_return got.has_value();
        },
        std::move(rx));
    co_await settle(); // the receiver waits
    std::expected<void, tako::sync::oneshot::send_error> sent = tx.send();
    EXPECT_TRUE(sent.has_value());
    EXPECT_TRUE((co_await waiting).value_or(false));
}

TAKO_TEST(oneshot_void, try_recv_empty_then_signal_then_closed) {
    auto [tx, rx] = tako::sync::oneshot::channel<void>();
    auto r = rx.try_recv();
    TAKO_CO_ASSERT(!r.has_value());
    EXPECT_EQ(r.error(), recv_error::empty);
    EXPECT_TRUE(tx.send().has_value());
    EXPECT_TRUE(rx.try_recv().has_value());
    r = rx.try_recv(); // taken once; the sender is gone
    TAKO_CO_ASSERT(!r.has_value());
    EXPECT_EQ(r.error(), recv_error::closed);
}

TAKO_TEST(oneshot_void, sender_dropped_while_waiting_gives_closed) {
    auto [tx, rx] = tako::sync::oneshot::channel<void>();
    auto h = tako::spawn(
        [](tako::sync::oneshot::sender<void> s) -> tako::task<> {
            co_await tako::yield_now();
            auto dropped = std::move(s); // destroyed unsent at the end of the body
        },
        std::move(tx));
    auto v = co_await rx;
    TAKO_CO_ASSERT(!v.has_value());
    EXPECT_EQ(v.error(), recv_error::closed);
    (void)co_await h;
}

TAKO_TEST(oneshot_void, send_to_a_dropped_receiver_fails) {
    auto [tx, rx] = tako::sync::oneshot::channel<void>();
    { auto dropped = std::move(rx); }
    EXPECT_TRUE(tx.is_closed());
    auto sent = tx.send();
    TAKO_CO_ASSERT(!sent.has_value());
    EXPECT_EQ(sent.error(), tako::sync::oneshot::send_error::closed);
    auto again = tx.send(); // the sender was consumed by the first send
    EXPECT_FALSE(again.has_value());
    co_return;
}

// ------------------------------------------------------------ sender::closed

TAKO_TEST(oneshot_closed, completes_when_receiver_dropped) {
    auto [tx, rx] = tako::sync::oneshot::channel<int>();
    auto watcher = tako::spawn(
        [](tako::sync::oneshot::sender<int> s) -> tako::task<bool> {
            co_await s.closed();
            co_return s.is_closed();
        },
        std::move(tx));
    co_await settle();
    EXPECT_FALSE(watcher.is_finished());
    { auto dropped = std::move(rx); }
    EXPECT_TRUE((co_await watcher).value_or(false));
}

TAKO_TEST(oneshot_closed, completes_on_receiver_close_and_keeps_earlier_value) {
    auto [tx, rx] = tako::sync::oneshot::channel<void>();
    auto watcher = tako::spawn(
        [](tako::sync::oneshot::sender<void> s) -> tako::task<bool> {
            co_await s.closed();
            co_return !s.send().has_value(); // closed: the signal cannot be sent
        },
        std::move(tx));
    co_await settle();
    EXPECT_FALSE(watcher.is_finished());
    rx.close();
    EXPECT_TRUE((co_await watcher).value_or(false));
    auto r = co_await rx;
    TAKO_CO_ASSERT(!r.has_value());
    EXPECT_EQ(r.error(), recv_error::closed);
}

TAKO_TEST(oneshot_closed, completes_at_once_when_already_closed) {
    auto [tx, rx] = tako::sync::oneshot::channel<int>();
    rx.close();
    co_await tx.closed();
    auto [tx2, rx2] = tako::sync::oneshot::channel<int>();
    auto moved = std::move(tx2);
    co_await tx2.closed(); // a moved-from sender has no channel: closed
    EXPECT_FALSE(moved.is_closed());
}

TAKO_TEST(oneshot_closed, select_against_work) {
    auto [tx, rx] = tako::sync::oneshot::channel<int>();
    auto gate = std::make_shared<tako::sync::notify>();
    auto worker = tako::spawn(
        [](tako::sync::oneshot::sender<int> out,
           std::shared_ptr<tako::sync::notify> never) -> tako::task<int> {
            auto r = co_await tako::select(out.closed(), never->notified());
            co_return static_cast<int>(r.index());
        },
        std::move(tx), gate);
    co_await settle();
    { auto dropped = std::move(rx); }
    EXPECT_EQ((co_await worker).value_or(-1), 0);
}

// A closed() wait that lost a select (its awaiter destroyed while registered) must have
// unregistered: dropping the receiver afterwards fires nothing. Run under ASan.
TAKO_TEST(oneshot_closed, lost_select_then_receiver_dropped) {
    auto [tx, rx] = tako::sync::oneshot::channel<int>();
    for (int i = 0; i < 3; ++i) {
        auto r = co_await tako::select(tx.closed(), tako::yield_now());
        EXPECT_EQ(r.index(), 1u);
    }
    { auto dropped = std::move(rx); }
    co_await settle();
    EXPECT_TRUE(tx.is_closed());
    auto r = co_await tako::select(tx.closed(), tako::time::sleep(5s));
    EXPECT_EQ(r.index(), 0u);
}

// The task waiting in closed() is aborted while suspended; the receiver goes afterwards.
TAKO_TEST(oneshot_closed, aborted_while_waiting_then_receiver_dropped) {
    auto [tx, rx] = tako::sync::oneshot::channel<int>();
    auto watcher =
        tako::spawn([](tako::sync::oneshot::sender<int> s) -> tako::task<> { co_await s.closed(); },
                    std::move(tx));
    co_await settle();
    watcher.abort();
    auto jr = co_await watcher;
    TAKO_CO_ASSERT(!jr.has_value());
    EXPECT_TRUE(jr.error().is_cancelled());
    rx.close();
    { auto dropped = std::move(rx); }
    co_await settle();
}

TAKO_TEST_MT(oneshot_closed, receiver_dropped_on_another_thread) {
    auto [tx, rx] = tako::sync::oneshot::channel<std::string>();
    std::thread dropper([rx = std::move(rx)]() mutable {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        auto gone = std::move(rx);
    });
    co_await tx.closed();
    dropper.join();
    EXPECT_TRUE(tx.is_closed());
    auto sent = tx.send("late");
    TAKO_CO_ASSERT(!sent.has_value());
    EXPECT_EQ(sent.error(), "late");
}

// Closing and dropping the receiver race a select whose closed() branch may be losing.
TAKO_TEST_MT(oneshot_closed, receiver_drop_races_losing_select) {
    for (int i = 0; i < 200; ++i) {
        auto [tx, rx] = tako::sync::oneshot::channel<int>();
        auto watcher = tako::spawn(
            [](tako::sync::oneshot::sender<int> s) -> tako::task<int> {
                int lost = 0;
                for (;;) {
                    auto r = co_await tako::select(s.closed(), tako::yield_now());
                    if (r.index() == 0) {
                        co_return lost;
                    }
                    ++lost;
                }
            },
            std::move(tx));
        auto dropper = tako::spawn(
            [](tako::sync::oneshot::receiver<int> r) -> tako::task<> {
                co_await tako::yield_now();
                auto gone = std::move(r);
            },
            std::move(rx));
        co_await dropper;
        EXPECT_TRUE((co_await watcher).has_value());
    }
}

// ------------------------------------------------------------------ notify

TAKO_TEST(notify, notify_one_without_waiter_stores_permit) {
    tako::sync::notify n;
    n.notify_one();
    bool other_ran = false;
    auto other = tako::spawn([&other_ran]() -> tako::task<> {
        other_ran = true;
        co_return;
    });
    co_await n.notified(); // completes at once: no other task gets to run
    EXPECT_FALSE(other_ran);
    (void)co_await other;
    EXPECT_TRUE(other_ran);
}

TAKO_TEST(notify, at_most_one_permit) {
    tako::sync::notify n;
    n.notify_one();
    n.notify_one();
    co_await n.notified(); // takes the single permit
    EXPECT_TRUE(co_await new_waiter_parks_until_notify_one(&n));
}

TAKO_TEST(notify, notify_one_wakes_in_fifo_order) {
    tako::sync::notify n;
    std::vector<char> woken;
    std::vector<tako::join_handle<void>> hs;
    for (char c : {'a', 'b', 'c', 'd'}) {
        hs.push_back(tako::spawn([&n, &woken, c]() -> tako::task<> {
            co_await n.notified();
            woken.push_back(c);
        }));
        co_await tako::yield_now(); // park in spawn order
    }
    for (std::size_t i = 1; i <= 4; ++i) {
        n.notify_one();
        co_await settle();
        EXPECT_EQ(woken.size(), i);
    }
    EXPECT_EQ(woken, (std::vector<char>{'a', 'b', 'c', 'd'}));
    for (auto& h : hs) {
        (void)co_await h;
    }
    EXPECT_FALSE(permit_available(n));
}

TAKO_TEST(notify, notify_waiters_wakes_all_and_stores_no_permit) {
    tako::sync::notify n;
    int woken = 0;
    std::vector<tako::join_handle<void>> hs;
    for (int i = 0; i < 5; ++i) {
        hs.push_back(tako::spawn([&]() -> tako::task<> {
            co_await n.notified();
            ++woken;
        }));
    }
    co_await settle();
    n.notify_waiters();
    co_await settle();
    EXPECT_EQ(woken, 5);
    for (auto& h : hs) {
        EXPECT_TRUE((co_await h).has_value());
    }
    // No permit: a new waiter waits.
    EXPECT_TRUE(co_await new_waiter_parks_until_notify_one(&n));
}

TAKO_TEST(notify, notify_waiters_without_waiters_stores_no_permit) {
    tako::sync::notify n;
    n.notify_waiters();
    EXPECT_FALSE(permit_available(n));
    co_return;
}

TAKO_TEST(notify, notify_waiters_ignores_later_waiters) {
    tako::sync::notify n;
    auto early = tako::spawn([&n]() -> tako::task<> { co_await n.notified(); });
    co_await settle();
    n.notify_waiters();
    auto late = tako::spawn([&n]() -> tako::task<> { co_await n.notified(); });
    co_await settle();
    EXPECT_TRUE(early.is_finished());
    EXPECT_FALSE(late.is_finished());
    n.notify_one();
    (void)co_await late;
}

TAKO_TEST(notify, cancelled_notified_waiter_passes_notification_on) {
    tako::sync::notify n;
    bool a_resumed = false, b_resumed = false;
    auto a = tako::spawn([&]() -> tako::task<> {
        co_await n.notified();
        a_resumed = true;
    });
    co_await tako::yield_now();
    auto b = tako::spawn([&]() -> tako::task<> {
        co_await n.notified();
        b_resumed = true;
    });
    co_await tako::yield_now();
    n.notify_one(); // fires a (queued, not yet run) ...
    a.abort();      // ... which is cancelled before it resumes
    co_await settle();
    EXPECT_FALSE(a_resumed);
    EXPECT_TRUE(b_resumed);
    auto ra = co_await a;
    EXPECT_TRUE(!ra.has_value() && ra.error().is_cancelled());
    EXPECT_TRUE((co_await b).has_value());
    EXPECT_FALSE(permit_available(n)); // the one notification was used once
}

TAKO_TEST(notify, cancelled_notified_sole_waiter_leaves_permit) {
    tako::sync::notify n;
    auto a = tako::spawn([&n]() -> tako::task<> { co_await n.notified(); });
    co_await tako::yield_now();
    n.notify_one();
    a.abort();
    auto ra = co_await a;
    EXPECT_FALSE(ra.has_value());
    EXPECT_TRUE(permit_available(n));
}

TAKO_TEST(notify, cancelled_waiting_awaiter_unlinks) {
    tako::sync::notify n;
    bool b_resumed = false;
    auto a = tako::spawn([&n]() -> tako::task<> { co_await n.notified(); });
    co_await tako::yield_now();
    auto b = tako::spawn([&]() -> tako::task<> {
        co_await n.notified();
        b_resumed = true;
    });
    co_await tako::yield_now();
    a.abort(); // still waiting: it just leaves the list
    (void)co_await a;
    n.notify_one();
    co_await settle();
    EXPECT_TRUE(b_resumed);
    (void)co_await b;
}

TAKO_TEST(notify, cancelled_notify_waiters_awaiter_does_not_pass_on) {
    tako::sync::notify n;
    auto a = tako::spawn([&n]() -> tako::task<> { co_await n.notified(); });
    co_await tako::yield_now();
    n.notify_waiters();
    a.abort();
    (void)co_await a;
    EXPECT_FALSE(permit_available(n));
}

TAKO_TEST(notify, unawaited_awaiter_has_no_effect) {
    tako::sync::notify n;
    { auto aw = n.notified(); }
    n.notify_one();
    EXPECT_TRUE(permit_available(n));
    co_return;
}

TAKO_TEST(notify, ready_loop_uses_budget) {
    tako::sync::notify n;
    for (int i = 0; i < 1000; ++i) {
        n.notify_one();
        co_await n.notified();
    }
    EXPECT_FALSE(permit_available(n));
}

// A loop of always-ready waits spends the cooperative budget and then lets others run.
TAKO_TEST(notify, ready_loop_yields_to_other_tasks) {
    tako::sync::notify n;
    const auto ready_wait = [&n] {
        n.notify_one();
        return n.notified();
    };
    const budget_loop seen = co_await loop_until_another_task_runs(ready_wait);
    EXPECT_TRUE(seen.other_ran);
    EXPECT_LE(seen.iterations, 200); // the budget is 128 per scheduling
}

TAKO_TEST(notify, consume_budget_yields_when_exhausted) {
    const auto budget_step = [] { return tako::consume_budget(); };
    const budget_loop seen = co_await loop_until_another_task_runs(budget_step);
    EXPECT_TRUE(seen.other_ran);
    EXPECT_LE(seen.iterations, 200);
}

TAKO_TEST_MT(notify, notify_from_other_thread) {
    tako::sync::notify n;
    std::atomic<bool> started{false};
    auto h = tako::spawn([&]() -> tako::task<int> {
        started = true;
        co_await n.notified();
        co_return 1;
    });
    std::thread t([&] {
        while (!started.load()) {
            std::this_thread::yield();
        }
        n.notify_one(); // a permit if the task has not parked yet: never lost
    });
    auto r = co_await h;
    t.join();
    EXPECT_EQ(r.value_or(0), 1);
}

TAKO_TEST_MT(notify, ping_pong_between_workers) {
    tako::sync::notify ping, pong;
    constexpr int rounds = 2000;
    auto player = tako::spawn([&]() -> tako::task<int> {
        int n = 0;
        for (int i = 0; i < rounds; ++i) {
            co_await ping.notified();
            ++n;
            pong.notify_one();
        }
        co_return n;
    });
    for (int i = 0; i < rounds; ++i) {
        ping.notify_one();
        co_await pong.notified();
    }
    EXPECT_EQ((co_await player).value_or(0), rounds);
}
