// tako::sync::mpsc: bounded and unbounded channels.

#include <tako/sync/mpsc.hpp>
#include <tako/tako.hpp>
#include <tako/testing.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <numeric>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "test_support.hpp"

namespace {

namespace mpsc = tako::sync::mpsc;
using namespace std::chrono_literals;
using tako_test::life;
using tako_test::probe;

/// Lets every queued task run (current_thread) a few times over.
tako::task<> settle(int rounds = 5) {
    for (int i = 0; i < rounds; ++i) {
        co_await tako::yield_now();
    }
}

/// Sends `value` on `tx` and reports whether it was sent.
tako::task<bool> send_one(mpsc::sender<int>* tx, int value) {
    co_return (co_await tx->send(value)).has_value();
}

/// Sends `value` and appends `value` to `*log` once the send completed.
tako::task<> send_and_log(mpsc::sender<int>* tx, int value, std::vector<int>* log) {
    // Not `if (co_await …)`: g++ 12 miscompiles a co_await in a plain if/while condition
    // (the coroutine never runs); a declaration or a separate statement is fine.
    auto r = co_await tx->send(value);
    if (r) {
        log->push_back(value);
    }
}

/// Receives everything until the stream ends.
template <class Rx>
tako::task<std::vector<int>> drain(Rx* rx) {
    std::vector<int> got;
    while (auto v = co_await rx->recv()) {
        got.push_back(*v);
    }
    co_return got;
}

/// A value whose move constructor may throw (as far as the type system knows): the
/// channel then never moves it under another task's feet (no hand-off on grant).
struct throwing_move {
    int v = 0;
    explicit throwing_move(int x) : v(x) {}
    throwing_move(throwing_move&& o) noexcept(false) : v(o.v) {}
    throwing_move(const throwing_move&) = default;
};

tako::task<> echo_doubled(mpsc::receiver<int> rx_param, mpsc::unbounded_sender<int> out_param) {
    auto rx = std::move(rx_param); // locals: gone when the body returns
    auto out = std::move(out_param);
    while (auto v = co_await rx.recv()) {
        (void)out.send(*v * 2);
    }
}

tako::task<> send_probe(mpsc::sender<probe> tx, life* l, int i) {
    (void)co_await tx.send(probe(*l, i));
}

tako::task<> reserve_one(mpsc::sender<probe> tx) {
    (void)co_await tx.reserve();
}

tako::task<> recv_one(mpsc::receiver<probe> rx) {
    (void)co_await rx.recv();
}

tako::task<> wait_closed(mpsc::sender<probe> tx) {
    co_await tx.closed();
}

} // namespace

// ------------------------------------------------------------------ basics

TAKO_TEST(mpsc, send_then_recv_in_order) {
    auto [tx, rx] = mpsc::channel<int>(8);
    for (int i = 0; i < 5; ++i) {
        TAKO_CO_ASSERT((co_await tx.send(i)).has_value());
    }
    EXPECT_EQ(rx.len(), 5u);
    for (int i = 0; i < 5; ++i) {
        auto v = co_await rx.recv();
        TAKO_CO_ASSERT(v.has_value());
        EXPECT_EQ(*v, i);
    }
    EXPECT_TRUE(rx.is_empty());
}

TAKO_TEST(mpsc, zero_capacity_throws) {
    EXPECT_THROW((void)mpsc::channel<int>(0), std::invalid_argument);
    co_return;
}

TAKO_TEST(mpsc, capacity_accessors) {
    auto [tx, rx] = mpsc::channel<int>(3);
    EXPECT_EQ(tx.max_capacity(), 3u);
    EXPECT_EQ(tx.capacity(), 3u);
    EXPECT_EQ(rx.max_capacity(), 3u);
    (void)tx.try_send(1);
    EXPECT_EQ(tx.capacity(), 2u);
    EXPECT_EQ(rx.capacity(), 2u);
    auto p = co_await tx.reserve();
    TAKO_CO_ASSERT(p.has_value());
    EXPECT_EQ(tx.capacity(), 1u);
    EXPECT_EQ(rx.len(), 1u); // a reserved slot holds no value yet
    (void)co_await rx.recv();
    EXPECT_EQ(tx.capacity(), 2u);
    EXPECT_FALSE(tx.is_closed());
    EXPECT_FALSE(rx.is_closed());
}

TAKO_TEST(mpsc, fifo_per_sender_with_many_senders) {
    auto [tx, rx] = mpsc::channel<int>(4);
    std::vector<tako::join_handle<void>> hs;
    for (int p = 0; p < 3; ++p) {
        hs.push_back(tako::spawn(
            [](mpsc::sender<int> tx_param, int p) -> tako::task<> {
                // A by-value parameter lives until the task is joined; a local dies with
                // the body, so the stream ends when the last producer returns.
                auto tx = std::move(tx_param);
                for (int i = 0; i < 100; ++i) {
                    (void)co_await tx.send(p * 1000 + i);
                }
            },
            tx, p));
    }
    { auto drop = std::move(tx); }
    std::vector<int> next(3, 0);
    int total = 0;
    while (auto v = co_await rx.recv()) {
        const int p = *v / 1000;
        EXPECT_EQ(*v % 1000, next[p]) << "producer " << p << " out of order";
        next[p] = *v % 1000 + 1;
        ++total;
    }
    EXPECT_EQ(total, 300);
    for (auto& h : hs) {
        EXPECT_TRUE((co_await h).has_value());
    }
}

TAKO_TEST(mpsc, values_cross_block_boundaries) {
    auto [tx, rx] = mpsc::channel<std::string>(100);
    int sent = 0, received = 0;
    for (int i = 0; i < 30; ++i) {
        TAKO_CO_ASSERT(tx.try_send(std::to_string(sent++)).has_value());
    }
    for (int round = 0; round < 20; ++round) {
        for (int i = 0; i < 61; ++i) {
            TAKO_CO_ASSERT(tx.try_send(std::to_string(sent++)).has_value());
        }
        for (int i = 0; i < 61; ++i) {
            auto v = co_await rx.recv();
            TAKO_CO_ASSERT(v.has_value());
            TAKO_CO_ASSERT_EQ(*v, std::to_string(received++));
        }
    }
    while (auto v = rx.try_recv()) {
        EXPECT_EQ(*v, std::to_string(received++));
    }
    EXPECT_EQ(received, sent);
}

TAKO_TEST(mpsc, buffered_values_destroyed_with_channel) {
    life l;
    {
        auto [tx, rx] = mpsc::channel<probe>(8);
        for (int i = 0; i < 5; ++i) {
            (void)tx.try_send(probe(l, i));
        }
        EXPECT_EQ(l.alive.load(), 5);
        auto v = co_await rx.recv();
        EXPECT_EQ(v->value(), 0);
    }
    EXPECT_EQ(l.alive.load(), 0);
}

TAKO_TEST(mpsc, receiver_drop_destroys_buffer_and_fails_senders) {
    life l;
    auto [tx, rx] = mpsc::channel<probe>(8);
    (void)tx.try_send(probe(l, 1));
    (void)tx.try_send(probe(l, 2));
    { auto drop = std::move(rx); }
    EXPECT_EQ(l.alive.load(), 0); // buffered values went with the receiver
    EXPECT_TRUE(tx.is_closed());
    auto r = co_await tx.send(probe(l, 3));
    TAKO_CO_ASSERT(!r.has_value());
    EXPECT_EQ(r.error().value.value(), 3);
}

TAKO_TEST(mpsc, move_only_values) {
    auto [tx, rx] = mpsc::channel<std::unique_ptr<int>>(2);
    TAKO_CO_ASSERT((co_await tx.send(std::make_unique<int>(7))).has_value());
    auto v = co_await rx.recv();
    TAKO_CO_ASSERT(v.has_value() && *v != nullptr);
    EXPECT_EQ(**v, 7);
}

// ------------------------------------------------------------------ back-pressure, fairness

TAKO_TEST(mpsc, send_blocks_when_full_until_recv) {
    auto [tx, rx] = mpsc::channel<int>(2);
    (void)co_await tx.send(1);
    (void)co_await tx.send(2);
    auto h = tako::spawn(send_one, &tx, 3);
    co_await settle();
    EXPECT_FALSE(h.is_finished()) << "a send into a full channel must wait";
    EXPECT_EQ(rx.len(), 2u);
    EXPECT_EQ((co_await rx.recv()).value_or(-1), 1);
    auto ok = co_await h;
    EXPECT_TRUE(ok.value_or(false));
    EXPECT_EQ((co_await rx.recv()).value_or(-1), 2);
    EXPECT_EQ((co_await rx.recv()).value_or(-1), 3);
}

TAKO_TEST(mpsc, waiting_senders_are_served_in_order) {
    auto [tx, rx] = mpsc::channel<int>(1);
    (void)tx.try_send(0);
    std::vector<int> log;
    std::vector<tako::join_handle<void>> hs;
    for (int i = 1; i <= 4; ++i) {
        hs.push_back(tako::spawn(send_and_log, &tx, i, &log));
        co_await settle(); // each parks before the next arrives
    }
    EXPECT_TRUE(log.empty());
    // A slot freed by recv goes to the oldest waiter, not to a newcomer's try_send.
    EXPECT_EQ((co_await rx.recv()).value_or(-1), 0);
    auto barging = tx.try_send(99);
    TAKO_CO_ASSERT(!barging.has_value());
    EXPECT_TRUE(barging.error().is_full());
    EXPECT_EQ(barging.error().value, 99);
    std::vector<int> got;
    for (int i = 1; i <= 4; ++i) {
        got.push_back((co_await rx.recv()).value_or(-1));
    }
    EXPECT_EQ(got, (std::vector<int>{1, 2, 3, 4}));
    for (auto& h : hs) {
        (void)co_await h;
    }
    EXPECT_EQ(log, (std::vector<int>{1, 2, 3, 4}));
}

TAKO_TEST(mpsc, values_with_throwing_move_go_through_granted_slots) {
    auto [tx, rx] = mpsc::channel<throwing_move>(1);
    (void)tx.try_send(throwing_move(0));
    auto h = tako::spawn(
        [](mpsc::sender<throwing_move>* tx) -> tako::task<bool> {
            co_return (co_await tx->send(throwing_move(1))).has_value();
        },
        &tx);
    co_await settle();
    EXPECT_FALSE(h.is_finished());
    EXPECT_EQ((co_await rx.recv())->v, 0);
    EXPECT_TRUE((co_await h).value_or(false));
    EXPECT_EQ((co_await rx.recv())->v, 1);
    std::vector<throwing_move> many;
    (void)tx.try_send(throwing_move(2));
    EXPECT_EQ(co_await rx.recv_many(many, 5), 1u);
    EXPECT_EQ(many.at(0).v, 2);
}

// ------------------------------------------------------------------ try_ variants

TAKO_TEST(mpsc, try_send_full_and_closed) {
    auto [tx, rx] = mpsc::channel<int>(1);
    EXPECT_TRUE(tx.try_send(1).has_value());
    auto full = tx.try_send(2);
    TAKO_CO_ASSERT(!full.has_value());
    EXPECT_TRUE(full.error().is_full());
    EXPECT_EQ(full.error().value, 2);
    rx.close();
    auto closed = tx.try_send(3);
    TAKO_CO_ASSERT(!closed.has_value());
    EXPECT_TRUE(closed.error().is_closed());
    EXPECT_EQ(closed.error().value, 3);
    co_return;
}

TAKO_TEST(mpsc, try_recv_empty_then_value_then_disconnected) {
    auto [tx, rx] = mpsc::channel<int>(4);
    auto r = rx.try_recv();
    TAKO_CO_ASSERT(!r.has_value());
    EXPECT_EQ(r.error(), mpsc::try_recv_error::empty);
    (void)tx.try_send(5);
    r = rx.try_recv();
    TAKO_CO_ASSERT(r.has_value());
    EXPECT_EQ(*r, 5);
    (void)tx.try_send(6);
    { auto drop = std::move(tx); }
    EXPECT_TRUE(rx.is_closed()); // closed, though a value is still buffered
    r = rx.try_recv();
    EXPECT_EQ(r.value_or(-1), 6);
    r = rx.try_recv();
    TAKO_CO_ASSERT(!r.has_value());
    EXPECT_EQ(r.error(), mpsc::try_recv_error::disconnected);
    co_return;
}

// ------------------------------------------------------------------ closing

TAKO_TEST(mpsc, receiver_close_keeps_buffered_values) {
    auto [tx, rx] = mpsc::channel<int>(4);
    (void)tx.try_send(1);
    (void)tx.try_send(2);
    rx.close();
    EXPECT_TRUE(tx.is_closed());
    EXPECT_TRUE(rx.is_closed());
    auto failed = co_await tx.send(3);
    TAKO_CO_ASSERT(!failed.has_value());
    EXPECT_EQ(failed.error().value, 3);
    EXPECT_EQ((co_await rx.recv()).value_or(-1), 1);
    EXPECT_EQ((co_await rx.recv()).value_or(-1), 2);
    EXPECT_FALSE((co_await rx.recv()).has_value()); // senders still exist, but closed
}

TAKO_TEST(mpsc, receiver_close_fails_waiting_senders_and_wakes_closed) {
    auto [tx, rx] = mpsc::channel<int>(1);
    (void)tx.try_send(1);
    auto waiting = tako::spawn(
        [](mpsc::sender<int>* tx) -> tako::task<int> {
            auto r = co_await tx->send(2);
            co_return r.has_value() ? -1 : r.error().value;
        },
        &tx);
    auto watcher =
        tako::spawn([](mpsc::sender<int> tx) -> tako::task<> { co_await tx.closed(); }, tx);
    co_await settle();
    EXPECT_FALSE(waiting.is_finished());
    EXPECT_FALSE(watcher.is_finished());
    rx.close();
    EXPECT_EQ((co_await waiting).value_or(0), 2); // the value came back
    EXPECT_TRUE((co_await watcher).has_value());
    EXPECT_EQ((co_await rx.recv()).value_or(-1), 1);
    EXPECT_FALSE((co_await rx.recv()).has_value());
}

TAKO_TEST(mpsc, closed_completes_at_once_when_already_closed) {
    auto [tx, rx] = mpsc::channel<int>(1);
    { auto drop = std::move(rx); }
    co_await tx.closed();
    EXPECT_TRUE(tx.is_closed());
}

TAKO_TEST(mpsc, last_sender_dropped_ends_stream_after_drain) {
    auto [tx, rx] = mpsc::channel<int>(4);
    auto tx2 = tx;
    (void)tx.try_send(1);
    (void)tx2.try_send(2);
    { auto drop = std::move(tx); }
    EXPECT_FALSE(rx.is_closed()); // tx2 still sends
    (void)tx2.try_send(3);
    { auto drop = std::move(tx2); }
    const std::vector<int> got = co_await drain(&rx);
    EXPECT_EQ(got, (std::vector<int>{1, 2, 3}));
    EXPECT_FALSE((co_await rx.recv()).has_value()); // and stays ended
}

TAKO_TEST(mpsc, last_sender_dropped_wakes_waiting_receiver) {
    auto [tx, rx] = mpsc::channel<int>(4);
    auto h = tako::spawn([](mpsc::receiver<int>* rx) { return drain(rx); }, &rx);
    co_await settle();
    (void)tx.try_send(1);
    co_await settle();
    EXPECT_FALSE(h.is_finished());
    { auto drop = std::move(tx); }
    auto got = co_await h;
    TAKO_CO_ASSERT(got.has_value());
    EXPECT_EQ(*got, std::vector<int>{1});
}

TAKO_TEST(mpsc, sender_copy_assignment_counts) {
    auto [tx, rx] = mpsc::channel<int>(4);
    auto [other_tx, other_rx] = mpsc::channel<int>(4);
    auto copy = other_tx;
    copy = tx; // leaves other channel with one sender, this one with two
    EXPECT_TRUE(copy.same_channel(tx));
    EXPECT_FALSE(copy.same_channel(other_tx));
    { auto drop = std::move(tx); }
    EXPECT_FALSE(rx.is_closed());
    { auto drop = std::move(copy); }
    EXPECT_TRUE(rx.is_closed());
    EXPECT_FALSE(other_rx.is_closed());
    co_return;
}

// ------------------------------------------------------------------ reserve / permits

TAKO_TEST(mpsc, permit_sends_and_dropped_permit_returns_slot) {
    auto [tx, rx] = mpsc::channel<int>(2);
    auto p1 = co_await tx.reserve();
    auto p2 = co_await tx.reserve();
    TAKO_CO_ASSERT(p1.has_value() && p2.has_value());
    EXPECT_EQ(tx.capacity(), 0u);
    EXPECT_TRUE(tx.try_send(0).error().is_full());
    // A third sender waits for a slot; dropping p2 gives it that slot.
    auto h = tako::spawn(send_one, &tx, 3);
    co_await settle();
    EXPECT_FALSE(h.is_finished());
    { auto drop = std::move(*p2); }
    EXPECT_TRUE((co_await h).value_or(false));
    p1->send(1);
    EXPECT_FALSE(static_cast<bool>(*p1));
    EXPECT_THROW(p1->send(9), std::logic_error);
    EXPECT_EQ((co_await rx.recv()).value_or(-1), 3);
    EXPECT_EQ((co_await rx.recv()).value_or(-1), 1);
    EXPECT_EQ(tx.capacity(), 2u);
}

TAKO_TEST(mpsc, dropped_permit_frees_capacity) {
    auto [tx, rx] = mpsc::channel<int>(1);
    {
        auto p = co_await tx.reserve();
        TAKO_CO_ASSERT(p.has_value());
        EXPECT_EQ(tx.capacity(), 0u);
    }
    EXPECT_EQ(tx.capacity(), 1u);
    EXPECT_TRUE(tx.try_send(1).has_value());
}

TAKO_TEST(mpsc, outstanding_permit_keeps_stream_open) {
    auto [tx, rx] = mpsc::channel<int>(2);
    auto p = co_await tx.reserve();
    TAKO_CO_ASSERT(p.has_value());
    { auto drop = std::move(tx); }
    auto h = tako::spawn([](mpsc::receiver<int>* rx) { return drain(rx); }, &rx);
    co_await settle();
    EXPECT_FALSE(h.is_finished()) << "a permit can still send";
    p->send(8);
    auto got = co_await h;
    EXPECT_EQ(got.value_or(std::vector<int>{}), std::vector<int>{8});
}

TAKO_TEST(mpsc, closed_receiver_waits_for_outstanding_permits) {
    auto [tx, rx] = mpsc::channel<int>(2);
    auto p = co_await tx.reserve();
    TAKO_CO_ASSERT(p.has_value());
    rx.close();
    EXPECT_TRUE(tx.try_send(1).error().is_closed());
    auto r = rx.try_recv();
    EXPECT_EQ(r.error(), mpsc::try_recv_error::empty); // the permit may still send
    p->send(2);
    EXPECT_EQ((co_await rx.recv()).value_or(-1), 2);
    EXPECT_FALSE((co_await rx.recv()).has_value());
}

TAKO_TEST(mpsc, reserve_fails_when_closed) {
    auto [tx, rx] = mpsc::channel<int>(1);
    rx.close();
    auto p = co_await tx.reserve();
    TAKO_CO_ASSERT(!p.has_value());
    EXPECT_EQ(p.error(), mpsc::closed_error{});
    auto t = tx.try_reserve();
    TAKO_CO_ASSERT(!t.has_value());
    EXPECT_EQ(t.error(), mpsc::try_reserve_error::closed);
}

TAKO_TEST(mpsc, reserve_many_and_try_reserve) {
    auto [tx, rx] = mpsc::channel<int>(4);
    EXPECT_THROW((void)tx.reserve_many(5), std::invalid_argument);
    auto many = co_await tx.reserve_many(3);
    TAKO_CO_ASSERT(many.has_value());
    EXPECT_EQ(many->size(), 3u);
    EXPECT_EQ(tx.capacity(), 1u);
    auto one = tx.try_reserve();
    TAKO_CO_ASSERT(one.has_value());
    auto none = tx.try_reserve();
    TAKO_CO_ASSERT(!none.has_value());
    EXPECT_EQ(none.error(), mpsc::try_reserve_error::full);
    many->send(10);
    auto split = many->next();
    TAKO_CO_ASSERT(split.has_value());
    EXPECT_EQ(many->size(), 1u);
    split->send(11);
    one->send(12);
    { auto drop = std::move(*many); } // the last unused slot comes back
    EXPECT_EQ(tx.capacity(), 1u);
    std::vector<int> got;
    EXPECT_EQ(co_await rx.recv_many(got, 10), 3u);
    EXPECT_EQ(got, (std::vector<int>{10, 11, 12}));
    auto zero = co_await tx.reserve_many(0);
    TAKO_CO_ASSERT(zero.has_value());
    EXPECT_TRUE(zero->empty());
}

TAKO_TEST(mpsc, reserve_many_waits_in_line_and_collects_slots) {
    auto [tx, rx] = mpsc::channel<int>(3);
    (void)tx.try_send(1);
    (void)tx.try_send(2);
    (void)tx.try_send(3);
    auto big = tako::spawn(
        [](mpsc::sender<int>* tx) -> tako::task<std::size_t> {
            auto p = co_await tx->reserve_many(2);
            co_return p ? p->size() : 0;
        },
        &tx);
    co_await settle();
    auto small = tako::spawn(send_one, &tx, 4); // behind the big one: FIFO
    co_await settle();
    (void)co_await rx.recv();
    co_await settle();
    EXPECT_FALSE(big.is_finished());
    EXPECT_FALSE(small.is_finished()) << "a later sender must not overtake";
    (void)co_await rx.recv();
    EXPECT_EQ((co_await big).value_or(0), 2u); // its permits are dropped unused
    EXPECT_TRUE((co_await small).value_or(false));
    EXPECT_EQ((co_await rx.recv()).value_or(-1), 3);
    EXPECT_EQ((co_await rx.recv()).value_or(-1), 4);
}

// ------------------------------------------------------------------ cancellation

TAKO_TEST(mpsc, aborted_waiting_send_drops_only_its_value) {
    life l;
    auto [tx, rx] = mpsc::channel<probe>(1);
    (void)tx.try_send(probe(l, 0));
    auto doomed =
        tako::spawn([](mpsc::sender<probe>* tx,
                       life* l) -> tako::task<> { (void)co_await tx->send(probe(*l, 1)); },
                    &tx, &l);
    co_await settle();
    auto next = tako::spawn(
        [](mpsc::sender<probe>* tx, life* l) -> tako::task<bool> {
            co_return (co_await tx->send(probe(*l, 2))).has_value();
        },
        &tx, &l);
    co_await settle();
    const int alive_before = l.alive.load();
    doomed.abort();
    auto jr = co_await doomed;
    EXPECT_TRUE(!jr.has_value() && jr.error().is_cancelled());
    EXPECT_LT(l.alive.load(), alive_before); // value 1 was dropped with the cancelled send
    EXPECT_EQ((co_await rx.recv())->value(), 0);
    EXPECT_TRUE((co_await next).value_or(false)); // the slot went to the next sender
    EXPECT_EQ((co_await rx.recv())->value(), 2);
    EXPECT_EQ(tx.capacity(), 1u);
    EXPECT_FALSE(rx.try_recv().has_value()); // value 1 never arrives
}

TAKO_TEST(mpsc, send_cancelled_after_its_slot_was_granted_still_delivers) {
    auto [tx, rx] = mpsc::channel<int>(1);
    (void)tx.try_send(0);
    auto h = tako::spawn(send_one, &tx, 1);
    co_await settle();
    EXPECT_EQ((co_await rx.recv()).value_or(-1), 0); // grants the slot to h (and its value)
    h.abort();                                       // before h runs again
    (void)co_await h;
    EXPECT_EQ((co_await rx.recv()).value_or(-1), 1); // nothing lost
    EXPECT_EQ(tx.capacity(), 1u);
}

TAKO_TEST(mpsc, reserve_cancelled_after_grant_passes_slot_on) {
    auto [tx, rx] = mpsc::channel<int>(1);
    (void)tx.try_send(0);
    auto first = tako::spawn(
        [](mpsc::sender<int>* tx) -> tako::task<> {
            auto p = co_await tx->reserve();
            if (p) {
                p->send(100);
            }
        },
        &tx);
    co_await settle();
    auto second = tako::spawn(send_one, &tx, 2);
    co_await settle();
    EXPECT_EQ((co_await rx.recv()).value_or(-1), 0); // the slot is granted to `first`
    first.abort();                                   // which is cancelled before it runs
    (void)co_await first;
    EXPECT_TRUE((co_await second).value_or(false)); // the slot passed on
    EXPECT_EQ((co_await rx.recv()).value_or(-1), 2);
    EXPECT_EQ(tx.capacity(), 1u);
}

TAKO_TEST(mpsc, aborted_waiting_reserve_loses_nothing) {
    auto [tx, rx] = mpsc::channel<int>(1);
    (void)tx.try_send(0);
    auto r = tako::spawn(
        [](mpsc::sender<int>* tx) -> tako::task<> { (void)co_await tx->reserve(); }, &tx);
    co_await settle();
    r.abort();
    (void)co_await r;
    EXPECT_EQ((co_await rx.recv()).value_or(-1), 0);
    EXPECT_EQ(tx.capacity(), 1u);
}

TAKO_TEST(mpsc, aborted_waiting_recv_loses_nothing) {
    auto [tx, rx] = mpsc::channel<int>(2);
    auto h = tako::spawn(
        [](mpsc::receiver<int>* rx) -> tako::task<int> {
            co_return (co_await rx->recv()).value_or(-1);
        },
        &rx);
    co_await settle();
    (void)tx.try_send(1); // claimed for h, which is queued but has not run
    h.abort();
    auto jr = co_await h;
    EXPECT_FALSE(jr.has_value());
    EXPECT_EQ((co_await rx.recv()).value_or(-1), 1);
    // A receive cancelled while still waiting does not eat a later value either.
    auto h2 = tako::spawn(
        [](mpsc::receiver<int>* rx) -> tako::task<int> {
            co_return (co_await rx->recv()).value_or(-1);
        },
        &rx);
    co_await settle();
    h2.abort();
    (void)co_await h2;
    (void)tx.try_send(2);
    EXPECT_EQ((co_await rx.recv()).value_or(-1), 2);
}

TAKO_TEST_PAUSED(mpsc, send_losing_select_against_sleep) {
    auto [tx, rx] = mpsc::channel<int>(1);
    (void)tx.try_send(0);
    auto r = co_await tako::select(tx.send(1), tako::time::sleep(10ms));
    EXPECT_EQ(r.index(), 1u);
    auto p = co_await tako::select(tx.reserve(), tako::time::sleep(10ms));
    EXPECT_EQ(p.index(), 1u);
    auto v = co_await tako::select(rx.recv(), tako::time::sleep(10ms));
    TAKO_CO_ASSERT_EQ(v.index(), 0u);
    EXPECT_EQ(std::get<0>(v).value_or(-1), 0);
    auto empty = co_await tako::select(rx.recv(), tako::time::sleep(10ms));
    EXPECT_EQ(empty.index(), 1u);
    EXPECT_EQ(tx.capacity(), 1u); // nothing held by the losers
    (void)tx.try_send(5);
    EXPECT_EQ((co_await rx.recv()).value_or(-1), 5);
}

TAKO_TEST_PAUSED(mpsc, send_timeout_returns_value) {
    auto [tx, rx] = mpsc::channel<std::string>(1);
    (void)tx.try_send("a");
    auto r = co_await tx.send_timeout("b", 50ms);
    TAKO_CO_ASSERT(!r.has_value());
    EXPECT_TRUE(r.error().is_timeout());
    EXPECT_EQ(r.error().value, "b");
    EXPECT_EQ(tx.capacity(), 0u);
    (void)co_await rx.recv();
    auto ok = co_await tx.send_timeout("c", 50ms);
    EXPECT_TRUE(ok.has_value());
    EXPECT_EQ((co_await rx.recv()).value_or(""), "c");
    rx.close();
    auto closed = co_await tx.send_timeout("d", 50ms);
    TAKO_CO_ASSERT(!closed.has_value());
    EXPECT_TRUE(closed.error().is_closed());
    EXPECT_EQ(closed.error().value, "d");
}

// ------------------------------------------------------------------ select loop

TAKO_TEST(mpsc, select_loop_over_recv_and_stop_loses_nothing) {
    auto [tx, rx] = mpsc::channel<int>(4);
    tako::sync::notify stop;
    constexpr int n = 500;
    auto producer = tako::spawn(
        [](mpsc::sender<int> tx_param, tako::sync::notify* stop) -> tako::task<> {
            auto tx = std::move(tx_param); // dies with the body: ends the stream
            for (int i = 0; i < n; ++i) {
                (void)co_await tx.send(i);
                if (i % 7 == 0) {
                    stop->notify_one(); // a spurious stop: the loop goes on
                }
            }
        },
        std::move(tx), &stop);
    std::vector<int> got;
    int stops = 0;
    for (;;) {
        auto r = co_await tako::select(rx.recv(), stop.notified());
        if (r.index() == 1) {
            ++stops;
            continue;
        }
        auto v = std::get<0>(std::move(r));
        if (!v) {
            break;
        }
        got.push_back(*v);
    }
    (void)co_await producer;
    std::vector<int> want(n);
    std::iota(want.begin(), want.end(), 0);
    EXPECT_EQ(got, want);
    EXPECT_GT(stops, 0);
}

// ------------------------------------------------------------------ recv_many

TAKO_TEST(mpsc, recv_many_takes_up_to_limit) {
    auto [tx, rx] = mpsc::channel<int>(16);
    for (int i = 0; i < 10; ++i) {
        (void)tx.try_send(i);
    }
    std::vector<int> out{-1};
    EXPECT_EQ(co_await rx.recv_many(out, 4), 4u);
    EXPECT_EQ(out, (std::vector<int>{-1, 0, 1, 2, 3}));
    EXPECT_EQ(co_await rx.recv_many(out, 0), 0u);
    EXPECT_EQ(co_await rx.recv_many(out, 100), 6u);
    EXPECT_EQ(out.size(), 11u);
    EXPECT_EQ(out.back(), 9);
    EXPECT_EQ(tx.capacity(), 16u);
    // Waits for at least one value.
    std::vector<int> later;
    auto h = tako::spawn(
        [](mpsc::receiver<int>* rx, std::vector<int>* out) -> tako::task<std::size_t> {
            co_return co_await rx->recv_many(*out, 8);
        },
        &rx, &later);
    co_await settle();
    EXPECT_FALSE(h.is_finished());
    (void)tx.try_send(42);
    (void)tx.try_send(43);
    const auto n = (co_await h).value_or(0);
    EXPECT_GE(n, 1u);
    EXPECT_EQ(later.front(), 42);
    { auto drop = std::move(tx); }
    for (;;) {
        const std::size_t n2 = co_await rx.recv_many(later, 8);
        if (n2 == 0) {
            break;
        }
    }
    EXPECT_EQ(later, (std::vector<int>{42, 43}));
}

TAKO_TEST(mpsc, recv_many_wakes_waiting_senders) {
    auto [tx, rx] = mpsc::channel<int>(2);
    std::vector<tako::join_handle<bool>> hs;
    for (int i = 0; i < 6; ++i) {
        hs.push_back(tako::spawn(send_one, &tx, i));
    }
    co_await settle();
    std::vector<int> got;
    while (got.size() < 6) {
        (void)co_await rx.recv_many(got, 6);
    }
    EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 3, 4, 5}));
    for (auto& h : hs) {
        EXPECT_TRUE((co_await h).value_or(false));
    }
}

// ------------------------------------------------------------------ weak senders

TAKO_TEST(mpsc, weak_sender_upgrade_and_does_not_keep_open) {
    auto [tx, rx] = mpsc::channel<int>(2);
    auto weak = tx.downgrade();
    auto weak2 = weak;
    {
        auto up = weak.upgrade();
        TAKO_CO_ASSERT(up.has_value());
        (void)up->try_send(1);
    }
    EXPECT_FALSE(rx.is_closed());
    { auto drop = std::move(tx); }
    EXPECT_TRUE(rx.is_closed()); // only weak senders left
    EXPECT_FALSE(weak2.upgrade().has_value());
    EXPECT_EQ((co_await rx.recv()).value_or(-1), 1);
    EXPECT_FALSE((co_await rx.recv()).has_value());
}

// ------------------------------------------------------------------ blocking

TAKO_TEST(mpsc, blocking_calls_refused_on_runtime_thread) {
    auto [tx, rx] = mpsc::channel<int>(1);
    EXPECT_THROW((void)tx.blocking_send(1), std::logic_error);
    EXPECT_THROW((void)rx.blocking_recv(), std::logic_error);
    co_return;
}

TEST(mpsc_blocking, plain_threads_send_and_receive) {
    auto [tx, rx] = mpsc::channel<int>(2);
    constexpr int n = 2000;
    std::thread producer([tx = std::move(tx)]() mutable {
        for (int i = 0; i < n; ++i) {
            EXPECT_TRUE(tx.blocking_send(i).has_value());
        }
    });
    std::vector<int> got;
    while (auto v = rx.blocking_recv()) {
        got.push_back(*v);
    }
    producer.join();
    ASSERT_EQ(got.size(), static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
        ASSERT_EQ(got[i], i);
    }
}

TEST(mpsc_blocking, blocking_send_to_async_receiver_and_back) {
    auto rt = tako_test::mt().build();
    auto [tx, rx] = mpsc::channel<int>(1);
    auto [back_tx, back_rx] = mpsc::unbounded_channel<int>();
    auto echo = rt.spawn(echo_doubled(std::move(rx), std::move(back_tx)));
    std::thread t([tx = std::move(tx)]() mutable {
        for (int i = 0; i < 500; ++i) {
            EXPECT_TRUE(tx.blocking_send(i).has_value());
        }
    });
    for (int i = 0; i < 500; ++i) {
        EXPECT_EQ(back_rx.blocking_recv().value_or(-1), 2 * i);
    }
    t.join();
    EXPECT_FALSE(back_rx.blocking_recv().has_value()); // the echo ended with its input
    rt.block_on([&echo]() -> tako::task<> { (void)co_await echo; });
}

TEST(mpsc_blocking, blocking_send_fails_when_receiver_dropped_while_waiting) {
    auto [tx, rx] = mpsc::channel<std::string>(1);
    (void)tx.try_send("first");
    std::atomic<bool> returned{false};
    std::string back;
    std::thread t([&, tx = std::move(tx)]() mutable {
        auto r = tx.blocking_send("second");
        if (!r) {
            back = std::move(r.error().value);
        }
        returned = true;
    });
    std::this_thread::sleep_for(20ms);
    EXPECT_FALSE(returned.load());
    { auto drop = std::move(rx); }
    t.join();
    EXPECT_EQ(back, "second");
}

// ------------------------------------------------------------------ unbounded

TAKO_TEST(mpsc, unbounded_channel_never_waits) {
    auto [tx, rx] = mpsc::unbounded_channel<int>();
    for (int i = 0; i < 1000; ++i) {
        TAKO_CO_ASSERT(tx.send(i).has_value());
    }
    EXPECT_EQ(rx.len(), 1000u);
    auto weak = tx.downgrade();
    auto tx2 = weak.upgrade();
    TAKO_CO_ASSERT(tx2.has_value());
    { auto drop = std::move(tx); }
    (void)tx2->send(1000);
    { auto drop = std::move(*tx2); }
    auto got = co_await drain(&rx);
    TAKO_CO_ASSERT_EQ(got.size(), 1001u);
    for (int i = 0; i <= 1000; ++i) {
        EXPECT_EQ(got[i], i);
    }
    EXPECT_FALSE(weak.upgrade().has_value());
}

TAKO_TEST(mpsc, unbounded_send_after_receiver_gone_returns_value) {
    auto [tx, rx] = mpsc::unbounded_channel<std::unique_ptr<int>>();
    auto watcher = tako::spawn(
        [](mpsc::unbounded_sender<std::unique_ptr<int>> tx) -> tako::task<> {
            co_await tx.closed();
        },
        tx);
    co_await settle();
    EXPECT_FALSE(watcher.is_finished());
    { auto drop = std::move(rx); }
    EXPECT_TRUE((co_await watcher).has_value());
    auto r = tx.send(std::make_unique<int>(3));
    TAKO_CO_ASSERT(!r.has_value());
    EXPECT_EQ(*r.error().value, 3);
}

TAKO_TEST(mpsc, unbounded_receiver_waits_then_gets_value) {
    auto [tx, rx] = mpsc::unbounded_channel<int>();
    auto h = tako::spawn(
        [](mpsc::unbounded_receiver<int>* rx) -> tako::task<int> {
            co_return (co_await rx->recv()).value_or(-1);
        },
        &rx);
    co_await settle();
    EXPECT_FALSE(h.is_finished());
    (void)tx.send(11);
    EXPECT_EQ((co_await h).value_or(0), 11);
}

// ------------------------------------------------------------------ budget

TAKO_TEST(mpsc, ready_recv_loop_yields_to_other_tasks) {
    auto [tx, rx] = mpsc::unbounded_channel<int>();
    for (int i = 0; i < 1000; ++i) {
        (void)tx.send(i);
    }
    bool other_ran = false;
    auto other = tako::spawn([&other_ran]() -> tako::task<> {
        other_ran = true;
        co_return;
    });
    int received = 0;
    while (!other_ran && received < 1000) {
        (void)co_await rx.recv();
        ++received;
    }
    EXPECT_TRUE(other_ran);
    EXPECT_LE(received, 200);
    (void)co_await other;
    // Nothing was lost to the yields.
    while (rx.try_recv()) {
        ++received;
    }
    EXPECT_EQ(received, 1000);
}

// ------------------------------------------------------------------ destruction

TAKO_TEST(mpsc, receiver_dropped_with_senders_waiting) {
    life l;
    auto [tx, rx] = mpsc::channel<probe>(1);
    (void)tx.try_send(probe(l, 0));
    std::vector<tako::join_handle<int>> hs;
    for (int i = 1; i <= 3; ++i) {
        hs.push_back(tako::spawn(
            [](mpsc::sender<probe>* tx, life* l, int i) -> tako::task<int> {
                auto r = co_await tx->send(probe(*l, i));
                co_return r.has_value() ? -1 : r.error().value.value();
            },
            &tx, &l, i));
    }
    co_await settle();
    { auto drop = std::move(rx); }
    for (int i = 1; i <= 3; ++i) {
        EXPECT_EQ((co_await hs[i - 1]).value_or(0), i); // each got its own value back
    }
    EXPECT_EQ(l.alive.load(), 0);
}

TEST(mpsc_shutdown, runtime_destroyed_with_waiters_suspended) {
    life l;
    for (auto flavor : {0, 1}) {
        auto rt = flavor == 0 ? tako_test::ct().build() : tako_test::mt().build();
        auto [tx, rx] = mpsc::channel<probe>(1);
        auto rx2_pair = mpsc::channel<probe>(1);
        (void)tx.try_send(probe(l, 0));
        for (int i = 1; i <= 3; ++i) {
            rt.spawn(send_probe(tx, &l, i)).detach();
            rt.spawn(reserve_one(tx)).detach();
        }
        // A receiver waiting on an empty channel whose sender is kept by another task.
        rt.spawn(recv_one(std::move(rx2_pair.second))).detach();
        rt.spawn(wait_closed(std::move(rx2_pair.first))).detach();
        rt.block_on([]() -> tako::task<> {
            for (int i = 0; i < 20; ++i) {
                co_await tako::yield_now();
            }
        });
        EXPECT_EQ(rx.len(), 1u);
        { auto drop = std::move(rt); } // cancels every suspended task
        { auto drop = std::move(tx); }
        EXPECT_EQ((rx.try_recv()).value().value(), 0);
        EXPECT_FALSE(rx.try_recv().has_value());
    }
    EXPECT_EQ(l.alive.load(), 0);
}

// ------------------------------------------------------------------ many producers

TAKO_TEST_MT(mpsc, many_producers_one_consumer_across_workers) {
    constexpr int producers = 4;
    constexpr int per = 50'000;
    auto [tx, rx] = mpsc::channel<std::uint64_t>(64);
    std::vector<tako::join_handle<void>> hs;
    for (int p = 0; p < producers; ++p) {
        hs.push_back(tako::spawn(
            [](mpsc::sender<std::uint64_t> tx_param, int p) -> tako::task<> {
                auto tx = std::move(tx_param); // dies with the body: ends the stream
                for (std::uint64_t i = 0; i < per; ++i) {
                    auto r = co_await tx.send((static_cast<std::uint64_t>(p) << 32) | i);
                    if (!r) {
                        co_return;
                    }
                }
            },
            tx, p));
    }
    { auto drop = std::move(tx); }
    auto consumer = tako::spawn(
        [](mpsc::receiver<std::uint64_t> rx) -> tako::task<bool> {
            std::vector<std::uint64_t> next(producers, 0);
            std::uint64_t total = 0;
            bool ok = true;
            std::vector<std::uint64_t> batch;
            for (;;) {
                // Mix both ways of receiving.
                if (total % 3 == 0) {
                    batch.clear();
                    const std::size_t n = co_await rx.recv_many(batch, 100);
                    if (n == 0) {
                        break;
                    }
                } else {
                    auto v = co_await rx.recv();
                    if (!v) {
                        break;
                    }
                    batch.assign(1, *v);
                }
                for (std::uint64_t v : batch) {
                    const auto p = static_cast<std::size_t>(v >> 32);
                    const std::uint64_t i = v & 0xffff'ffffu;
                    if (p >= next.size() || next[p] != i) {
                        ok = false;
                    } else {
                        ++next[p];
                    }
                    ++total;
                }
            }
            co_return ok&& total == static_cast<std::uint64_t>(producers) * per;
        },
        std::move(rx));
    for (auto& h : hs) {
        EXPECT_TRUE((co_await h).has_value());
    }
    EXPECT_TRUE((co_await consumer).value_or(false));
}

TAKO_TEST_MT(mpsc, many_producers_with_permits_and_cancellations) {
    // Producers mix send, reserve+permit and try_send, and some sends lose a select
    // against a short sleep; every value that was reported sent arrives exactly once.
    constexpr int producers = 4;
    constexpr int per = 5'000;
    auto [tx, rx] = mpsc::channel<std::uint64_t>(8);
    std::vector<tako::join_handle<std::uint64_t>> hs;
    for (int p = 0; p < producers; ++p) {
        hs.push_back(tako::spawn(
            [](mpsc::sender<std::uint64_t> tx_param, int p) -> tako::task<std::uint64_t> {
                auto tx = std::move(tx_param); // dies with the body: ends the stream
                std::uint64_t sent = 0;
                for (std::uint64_t i = 0; i < per; ++i) {
                    const std::uint64_t v = (static_cast<std::uint64_t>(p) << 32) | i;
                    switch (i % 4) {
                    case 0: {
                        auto r = co_await tx.send(v);
                        if (r) {
                            ++sent;
                        }
                        break;
                    }
                    case 1:
                        if (auto permit = co_await tx.reserve()) {
                            permit->send(v);
                            ++sent;
                        }
                        break;
                    case 2:
                        if (tx.try_send(v)) {
                            ++sent;
                        }
                        break;
                    default: {
                        auto r = co_await tako::select(tx.reserve(), tako::yield_now());
                        if (r.index() == 0 && std::get<0>(r)) {
                            std::get<0>(r)->send(v);
                            ++sent;
                        }
                    }
                    }
                }
                co_return sent;
            },
            tx, p));
    }
    { auto drop = std::move(tx); }
    std::vector<std::uint64_t> last(producers, 0);
    std::vector<bool> seen_any(producers, false);
    std::uint64_t total = 0;
    bool ordered = true;
    for (std::uint64_t k = 0;; ++k) {
        std::optional<std::uint64_t> v;
        if (k % 2 == 0) {
            v = co_await rx.recv();
        } else {
            // A receive that may lose to the yield after a sender already handed it a
            // value: the value must stay in the channel.
            auto r = co_await tako::select(rx.recv(), tako::yield_now());
            if (r.index() == 1) {
                continue;
            }
            v = std::get<0>(std::move(r));
        }
        if (!v) {
            break;
        }
        const auto p = static_cast<std::size_t>(*v >> 32);
        const std::uint64_t i = *v & 0xffff'ffffu;
        if (seen_any[p] && i <= last[p]) {
            ordered = false;
        }
        seen_any[p] = true;
        last[p] = i;
        ++total;
    }
    std::uint64_t reported = 0;
    for (auto& h : hs) {
        reported += (co_await h).value_or(0);
    }
    EXPECT_TRUE(ordered);
    EXPECT_EQ(total, reported);
}

TAKO_TEST_MT(mpsc, plain_threads_and_tasks_send_together) {
    constexpr int per = 10'000;
    auto [tx, rx] = mpsc::channel<std::uint64_t>(16);
    std::vector<std::thread> threads;
    for (int p = 0; p < 2; ++p) {
        threads.emplace_back([tx, p]() mutable {
            for (std::uint64_t i = 0; i < per; ++i) {
                (void)tx.blocking_send((static_cast<std::uint64_t>(p) << 32) | i);
            }
        });
    }
    std::vector<tako::join_handle<void>> hs;
    for (int p = 2; p < 4; ++p) {
        hs.push_back(tako::spawn(
            [](mpsc::sender<std::uint64_t> tx_param, int p) -> tako::task<> {
                auto tx = std::move(tx_param);
                for (std::uint64_t i = 0; i < per; ++i) {
                    (void)co_await tx.send((static_cast<std::uint64_t>(p) << 32) | i);
                }
            },
            tx, p));
    }
    { auto drop = std::move(tx); }
    std::vector<std::uint64_t> next(4, 0);
    bool ordered = true;
    std::uint64_t total = 0;
    while (auto v = co_await rx.recv()) {
        const auto p = static_cast<std::size_t>(*v >> 32);
        if (p >= next.size() || next[p] != (*v & 0xffff'ffffu)) {
            ordered = false;
        } else {
            ++next[p];
        }
        ++total;
    }
    for (auto& t : threads) {
        t.join();
    }
    for (auto& h : hs) {
        (void)co_await h;
    }
    EXPECT_TRUE(ordered);
    EXPECT_EQ(total, 4u * per);
}

TEST(mpsc_blocking, plain_thread_receives_from_tasks) {
    auto rt = tako_test::mt().build();
    auto [tx, rx] = mpsc::channel<int>(4);
    for (int p = 0; p < 3; ++p) {
        rt.spawn([](mpsc::sender<int> tx, int p) -> tako::task<> {
              for (int i = 0; i < 1000; ++i) {
                  (void)co_await tx.send(p * 10'000 + i);
              }
          }(tx, p))
            .detach();
    }
    { auto drop = std::move(tx); }
    std::vector<int> next(3, 0);
    int total = 0;
    while (auto v = rx.blocking_recv()) { // detached tasks free their frames (and senders)
        const int p = *v / 10'000;
        EXPECT_EQ(*v % 10'000, next[p]);
        next[p] = *v % 10'000 + 1;
        ++total;
    }
    EXPECT_EQ(total, 3000);
}
