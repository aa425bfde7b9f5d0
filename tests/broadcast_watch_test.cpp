// tako::sync::broadcast and tako::sync::watch.

#include <tako/sync/broadcast.hpp>
#include <tako/sync/watch.hpp>
#include <tako/tako.hpp>
#include <tako/testing.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace {

namespace broadcast = tako::sync::broadcast;
namespace watch = tako::sync::watch;
using tako_test::life;
using tako_test::probe;

/// Lets every queued task run (current_thread) a few times over.
tako::task<> settle(int rounds = 5) {
    for (int i = 0; i < rounds; ++i) {
        co_await tako::yield_now();
    }
}

/// True if the join handle's task was cancelled.
template <class T>
tako::task<bool> was_cancelled(tako::join_handle<T>& h) {
    auto r = co_await h;
    co_return !r.has_value() && r.error().is_cancelled();
}

/// Receives until the channel is closed; every value, in order. A lag is recorded as -1.
tako::task<std::vector<int>> drain(broadcast::receiver<int>* rx) {
    std::vector<int> got;
    for (;;) {
        auto r = co_await rx->recv();
        if (r) {
            got.push_back(*r);
        } else if (r.error().is_lagged()) {
            got.push_back(-1);
        } else {
            co_return got;
        }
    }
}

std::vector<int> iota_vec(int from, int to) {
    std::vector<int> v;
    for (int i = from; i < to; ++i) {
        v.push_back(i);
    }
    return v;
}

} // namespace

// ================================================================== broadcast

TAKO_TEST(broadcast, fan_out_to_every_receiver_in_order) {
    auto [tx, rx0] = broadcast::channel<int>(16);
    std::vector<broadcast::receiver<int>> rxs;
    rxs.push_back(std::move(rx0));
    for (int i = 0; i < 4; ++i) {
        rxs.push_back(tx.subscribe());
    }
    EXPECT_EQ(tx.receiver_count(), 5u);
    for (int v = 0; v < 10; ++v) {
        auto sent = tx.send(v);
        TAKO_CO_ASSERT(sent.has_value());
        EXPECT_EQ(*sent, 5u); // the number of receivers
    }
    for (auto& rx : rxs) {
        EXPECT_EQ(rx.len(), 10u);
        for (int v = 0; v < 10; ++v) {
            auto r = co_await rx.recv();
            TAKO_CO_ASSERT(r.has_value());
            EXPECT_EQ(*r, v);
        }
        EXPECT_TRUE(rx.is_empty());
        EXPECT_TRUE(rx.try_recv().error().is_empty());
    }
}

TAKO_TEST(broadcast, waiting_receivers_all_woken_in_order_then_closed) {
    auto [tx, rx0] = broadcast::channel<int>(8);
    std::vector<broadcast::receiver<int>> rxs;
    rxs.push_back(std::move(rx0));
    for (int i = 0; i < 40; ++i) { // more than one wake batch (32)
        rxs.push_back(tx.subscribe());
    }
    std::vector<tako::join_handle<std::vector<int>>> hs;
    for (auto& rx : rxs) {
        hs.push_back(tako::spawn(drain(&rx)));
    }
    co_await settle(); // everyone parks on the empty channel
    for (int v = 0; v < 20; ++v) {
        (void)tx.send(v);
        if (v % 4 == 3) {
            co_await settle(); // never more than 8 unread: nobody lags
        }
    }
    { auto dropped = std::move(tx); } // the last sender: closed after the buffered values
    for (auto& h : hs) {
        auto got = co_await h;
        TAKO_CO_ASSERT(got.has_value());
        EXPECT_EQ(*got, iota_vec(0, 20));
    }
}

TAKO_TEST(broadcast, lagging_receiver_gets_exact_count_then_oldest_retained) {
    auto [tx, slow] = broadcast::channel<int>(4);
    auto fast = tx.subscribe();
    for (int v = 0; v < 10; ++v) {
        (void)tx.send(v);
        EXPECT_EQ((co_await fast.recv()).value_or(-1), v); // keeps up: never lags
    }
    EXPECT_EQ(slow.len(), 10u);
    auto r = co_await slow.recv();
    TAKO_CO_ASSERT(!r.has_value());
    EXPECT_EQ(r.error(), broadcast::recv_error::lagged(6)); // 0..5 were overwritten
    EXPECT_EQ(r.error().skipped(), 6u);
    for (int v = 6; v < 10; ++v) { // continues from the oldest retained value
        auto next = co_await slow.recv();
        TAKO_CO_ASSERT(next.has_value());
        EXPECT_EQ(*next, v);
    }
    EXPECT_TRUE(slow.try_recv().error().is_empty());
    EXPECT_TRUE(fast.try_recv().error().is_empty());
}

// Tokio's documentation example: capacity 2, three sends, one lag.
TAKO_TEST(broadcast, tokio_lag_example) {
    auto [tx, rx] = broadcast::channel<int>(2);
    (void)tx.send(10);
    (void)tx.send(20);
    (void)tx.send(30);
    auto r = co_await rx.recv();
    TAKO_CO_ASSERT(!r.has_value());
    EXPECT_EQ(r.error(), broadcast::recv_error::lagged(1));
    EXPECT_EQ((co_await rx.recv()).value_or(0), 20);
    EXPECT_EQ((co_await rx.recv()).value_or(0), 30);
}

// The ring is the capacity rounded up to a power of two, and that is where lag starts
// (Tokio: "if the capacity of the channel is 10, recv will start to return Lagged once len
// returns values larger than 16").
TAKO_TEST(broadcast, capacity_rounds_up_to_a_power_of_two) {
    {
        auto [tx, rx] = broadcast::channel<int>(3); // 4 slots
        for (int v = 0; v < 4; ++v) {
            (void)tx.send(v);
        }
        EXPECT_EQ(tx.len(), 4u);
        EXPECT_EQ((co_await rx.recv()).value_or(-1), 0); // 4 unread: no lag
        for (int v = 4; v < 6; ++v) {
            (void)tx.send(v); // 1..5 sent, only 2..5 fit
        }
        auto r = rx.try_recv();
        TAKO_CO_ASSERT(!r.has_value());
        EXPECT_EQ(r.error(), broadcast::try_recv_error::lagged(1));
        EXPECT_EQ(rx.try_recv().value_or(-1), 2);
    }
    {
        auto [tx, rx] = broadcast::channel<int>(10); // 16 slots
        for (int v = 0; v < 16; ++v) {
            (void)tx.send(v);
        }
        EXPECT_EQ(rx.len(), 16u);
        EXPECT_EQ(rx.try_recv().value_or(-1), 0);
        auto [tx2, rx2] = broadcast::channel<int>(10);
        for (int v = 0; v < 17; ++v) {
            (void)tx2.send(v);
        }
        EXPECT_EQ(rx2.len(), 17u);
        EXPECT_EQ(rx2.try_recv().error(), broadcast::try_recv_error::lagged(1));
        EXPECT_EQ(rx2.try_recv().value_or(-1), 1);
    }
}

TAKO_TEST(broadcast, lag_by_several_laps) {
    auto [tx, rx] = broadcast::channel<int>(4);
    for (int v = 0; v < 103; ++v) {
        (void)tx.send(v);
    }
    auto r = co_await rx.recv();
    TAKO_CO_ASSERT(!r.has_value());
    EXPECT_EQ(r.error().skipped(), 99u);
    EXPECT_EQ(rx.try_recv().value_or(-1), 99);
    // Lagging again after having caught up.
    for (int v = 103; v < 110; ++v) {
        (void)tx.send(v);
    }
    // Unread: 100..109 (10); 4 retained: 106..109.
    EXPECT_EQ(rx.try_recv().error(), broadcast::try_recv_error::lagged(6));
    EXPECT_EQ(rx.try_recv().value_or(-1), 106);
}

TAKO_TEST(broadcast, closed_after_last_sender_drops_buffered_values_first) {
    auto [tx, rx] = broadcast::channel<std::string>(4);
    auto tx2 = tx;
    (void)tx.send("a");
    (void)tx2.send("b");
    { auto dropped = std::move(tx); }
    EXPECT_EQ((co_await rx.recv()).value_or(""), "a");
    EXPECT_EQ((co_await rx.recv()).value_or(""), "b");
    EXPECT_TRUE(rx.try_recv().error().is_empty()); // one sender left: still open
    (void)tx2.send("c");
    (void)tx2.send("d");
    { auto dropped = std::move(tx2); } // the last: closed, after "c" and "d"
    EXPECT_EQ((co_await rx.recv()).value_or(""), "c");
    EXPECT_EQ(rx.try_recv().value_or(""), "d");
    auto r = co_await rx.recv();
    TAKO_CO_ASSERT(!r.has_value());
    EXPECT_EQ(r.error(), broadcast::recv_error::closed());
    EXPECT_TRUE((co_await rx.recv()).error().is_closed()); // and stays so
    EXPECT_TRUE(rx.try_recv().error().is_closed());
}

TAKO_TEST(broadcast, last_sender_drop_wakes_waiting_receiver) {
    auto [tx, rx] = broadcast::channel<int>(4);
    auto h = tako::spawn(drain(&rx));
    co_await settle();
    EXPECT_FALSE(h.is_finished());
    (void)tx.send(1);
    { auto dropped = std::move(tx); }
    auto got = co_await h;
    TAKO_CO_ASSERT(got.has_value());
    EXPECT_EQ(*got, std::vector<int>{1});
}

TAKO_TEST(broadcast, send_without_receivers_returns_the_value) {
    auto [tx, rx] = broadcast::channel<int>(4);
    { auto dropped = std::move(rx); }
    EXPECT_EQ(tx.receiver_count(), 0u);
    auto sent = tx.send(42);
    TAKO_CO_ASSERT(!sent.has_value());
    EXPECT_EQ(sent.error().value, 42);
    EXPECT_TRUE(tx.is_empty()); // nothing was stored

    // Strings: the very same value comes back.
    auto [stx, srx] = broadcast::channel<std::string>(2);
    { auto dropped = std::move(srx); }
    auto failed = stx.send(std::string(100, 'x'));
    TAKO_CO_ASSERT(!failed.has_value());
    EXPECT_EQ(failed.error().value, std::string(100, 'x'));
    // A new subscriber opens the channel again.
    auto again = stx.subscribe();
    EXPECT_EQ(stx.send("y").value_or(0), 1u);
    EXPECT_EQ(again.try_recv().value_or(""), "y");
}

TAKO_TEST(broadcast, resubscribe_starts_at_the_tail) {
    auto [tx, rx] = broadcast::channel<int>(2);
    (void)tx.send(1);
    auto rx2 = rx.resubscribe();
    EXPECT_TRUE(rx2.same_channel(rx));
    EXPECT_EQ(tx.receiver_count(), 2u);
    (void)tx.send(2);
    EXPECT_EQ((co_await rx2.recv()).value_or(0), 2);
    EXPECT_EQ((co_await rx.recv()).value_or(0), 1);
    EXPECT_EQ((co_await rx.recv()).value_or(0), 2);
    auto [other_tx, other_rx] = broadcast::channel<int>(2);
    EXPECT_FALSE(other_rx.same_channel(rx));
    EXPECT_FALSE(other_tx.same_channel(tx));
    EXPECT_TRUE(tx.same_channel(broadcast::sender<int>(tx)));
}

// Tokio's len / is_empty examples.
TAKO_TEST(broadcast, len_and_is_empty) {
    auto [tx, rx1] = broadcast::channel<int>(16);
    auto rx2 = tx.subscribe();
    EXPECT_TRUE(tx.is_empty());
    EXPECT_EQ(tx.len(), 0u);
    (void)tx.send(10);
    (void)tx.send(20);
    (void)tx.send(30);
    EXPECT_EQ(tx.len(), 3u);
    EXPECT_EQ(rx1.len(), 3u);
    (void)co_await rx1.recv();
    EXPECT_EQ(tx.len(), 3u); // rx2 has not read the first value
    EXPECT_EQ(rx1.len(), 2u);
    (void)co_await rx2.recv();
    EXPECT_EQ(tx.len(), 2u);
    EXPECT_FALSE(tx.is_empty());
    (void)co_await rx1.recv();
    (void)co_await rx1.recv();
    (void)co_await rx2.recv();
    (void)co_await rx2.recv();
    EXPECT_TRUE(tx.is_empty());
    EXPECT_TRUE(rx1.is_empty());
}

TAKO_TEST(broadcast, capacity_zero_throws) {
    EXPECT_THROW((void)broadcast::channel<int>(0), std::invalid_argument);
    co_return;
}

TAKO_TEST(broadcast, value_released_when_every_receiver_read_it_or_it_is_overwritten) {
    life l;
    {
        auto [tx, rx1] = broadcast::channel<probe>(2);
        auto rx2 = tx.subscribe();
        (void)tx.send(probe(l, 1));
        EXPECT_EQ(l.alive.load(), 1); // stored once
        {
            auto a = rx1.try_recv();
            EXPECT_EQ(l.alive.load(), 2); // plus rx1's copy
        }
        EXPECT_EQ(l.alive.load(), 1); // rx2 has yet to read it
        {
            auto b = rx2.try_recv();
            TAKO_CO_ASSERT(b.has_value());
            EXPECT_EQ(b->value(), 1);
        }
        EXPECT_EQ(l.alive.load(), 0); // read by all: released

        // Overwritten before anyone read it.
        (void)tx.send(probe(l, 2));
        (void)tx.send(probe(l, 3));
        EXPECT_EQ(l.alive.load(), 2);
        (void)tx.send(probe(l, 4)); // overwrites 2
        EXPECT_EQ(l.alive.load(), 2);

        // A receiver destroyed with unread values: it counts as having read them.
        (void)rx1.try_recv();         // lagged
        (void)rx1.try_recv();         // 3
        (void)rx1.try_recv();         // 4
        EXPECT_EQ(l.alive.load(), 2); // rx2 still has 3 and 4 to read
        { auto dropped = std::move(rx2); }
        EXPECT_EQ(l.alive.load(), 0);
    }
    EXPECT_EQ(l.alive.load(), 0);
}

namespace {
/// A value whose copy or move throws on demand.
struct fragile {
    static inline bool fail_copy = false;
    static inline bool fail_move = false;
    int v;
    explicit fragile(int x) : v(x) {}
    fragile(const fragile& o) : v(o.v) {
        if (fail_copy) {
            throw std::runtime_error("copy");
        }
    }
    fragile(fragile&& o) : v(o.v) { // not noexcept
        if (fail_move) {
            throw std::runtime_error("move");
        }
    }
    fragile& operator=(const fragile&) = default;
    fragile& operator=(fragile&&) = default;
};
} // namespace

// A copy that throws while receiving takes nothing; a move that throws while sending
// leaves a position that receivers skip.
TAKO_TEST(broadcast, throwing_copy_or_move_loses_nothing_else) {
    auto [tx, rx] = broadcast::channel<fragile>(4);
    (void)tx.send(fragile(1));
    fragile::fail_copy = true;
    bool threw = false;
    try {
        (void)co_await rx.recv();
    } catch (const std::runtime_error&) {
        threw = true;
    }
    EXPECT_TRUE(threw);
    EXPECT_THROW((void)rx.try_recv(), std::runtime_error);
    fragile::fail_copy = false;
    EXPECT_EQ(rx.len(), 1u);
    auto first = co_await rx.recv(); // still there
    TAKO_CO_ASSERT(first.has_value());
    EXPECT_EQ(first->v, 1);

    fragile::fail_move = true;
    EXPECT_THROW((void)tx.send(fragile(2)), std::runtime_error);
    fragile::fail_move = false;
    (void)tx.send(fragile(3));
    auto next = co_await rx.recv(); // position of 2 skipped
    TAKO_CO_ASSERT(next.has_value());
    EXPECT_EQ(next->v, 3);
    EXPECT_TRUE(rx.try_recv().error().is_empty());
    EXPECT_EQ(tx.len(), 0u);
}

// A recv whose task is cancelled while parked takes nothing.
TAKO_TEST(broadcast, cancelled_recv_while_suspended_loses_nothing) {
    auto [tx, rx] = broadcast::channel<int>(4);
    auto waiting = tako::spawn([&rx]() -> tako::task<int> {
        auto r = co_await rx.recv();
        co_return r.value_or(-1);
    });
    co_await settle();
    EXPECT_FALSE(waiting.is_finished());
    waiting.abort();
    EXPECT_TRUE(co_await was_cancelled(waiting));
    (void)tx.send(7);
    EXPECT_EQ(rx.try_recv().value_or(-1), 7);

    // Fired by a send, then cancelled before it ran: the value is still there.
    auto fired = tako::spawn([&rx]() -> tako::task<int> {
        auto r = co_await rx.recv();
        co_return r.value_or(-1);
    });
    co_await settle();
    (void)tx.send(8); // fires the parked recv (its task is queued, not yet run) ...
    fired.abort();    // ... and cancels it before it resumes
    EXPECT_TRUE(co_await was_cancelled(fired));
    EXPECT_EQ(rx.try_recv().value_or(-1), 8);
    EXPECT_TRUE(rx.try_recv().error().is_empty());
}

// recv in a select loop: a losing recv takes nothing, the receiver survives each round.
TAKO_TEST(broadcast, select_loop_over_recv_and_stop_loses_nothing) {
    auto [tx, rx] = broadcast::channel<int>(64);
    tako::sync::notify stop;
    std::vector<int> got;
    auto loop = tako::spawn([&]() -> tako::task<int> {
        int rounds = 0;
        for (;;) {
            ++rounds;
            auto r = co_await tako::select(rx.recv(), stop.notified());
            if (r.index() == 1) {
                co_return rounds;
            }
            auto& v = std::get<0>(r);
            got.push_back(v.value_or(-1));
        }
    });
    for (int v = 0; v < 30; ++v) {
        (void)tx.send(v);
        if (v % 3 == 0) {
            co_await settle(2);
        }
    }
    co_await settle();
    EXPECT_EQ(got, iota_vec(0, 30));
    (void)tx.send(30);
    stop.notify_one(); // both ready at once: whichever wins, nothing is lost
    auto rounds = co_await loop;
    TAKO_CO_ASSERT(rounds.has_value());
    if (got.size() == 30) {
        EXPECT_EQ(rx.try_recv().value_or(-1), 30); // the losing recv left it
    } else {
        EXPECT_EQ(got.back(), 30);
    }
    EXPECT_TRUE(rx.try_recv().error().is_empty());
}

TAKO_TEST(broadcast, sender_closed_completes_when_receivers_are_gone) {
    auto [tx, rx] = broadcast::channel<int>(4);
    auto rx2 = tx.subscribe();
    auto h = tako::spawn([&tx]() -> tako::task<> { co_await tx.closed(); });
    co_await settle();
    EXPECT_FALSE(h.is_finished());
    { auto dropped = std::move(rx); }
    co_await settle();
    EXPECT_FALSE(h.is_finished());
    { auto dropped = std::move(rx2); }
    EXPECT_TRUE((co_await h).has_value());
    co_await tx.closed(); // no receiver: at once

    // Cancelled while waiting: unlinks.
    auto rx3 = tx.subscribe();
    auto w = tako::spawn([&tx]() -> tako::task<> { co_await tx.closed(); });
    co_await settle();
    w.abort();
    EXPECT_TRUE(co_await was_cancelled(w));
}

TAKO_TEST(broadcast, ready_recv_loop_spends_the_budget) {
    auto [tx, rx] = broadcast::channel<int>(1024);
    for (int v = 0; v < 1000; ++v) {
        (void)tx.send(v);
    }
    bool other_ran = false;
    auto other = tako::spawn([&other_ran]() -> tako::task<> {
        other_ran = true;
        co_return;
    });
    int n = 0;
    bool ordered = true;
    while (!other_ran && n < 1000) {
        auto r = co_await rx.recv(); // always ready
        ordered = ordered && r.value_or(-1) == n;
        ++n;
    }
    EXPECT_TRUE(other_ran);
    EXPECT_LE(n, 200); // the budget is 128 per scheduling
    EXPECT_TRUE(ordered);
    while (n < 1000) { // a yield took nothing: the rest follows in order
        ordered = ordered && (co_await rx.recv()).value_or(-1) == n;
        ++n;
    }
    EXPECT_TRUE(ordered);
    (void)co_await other;
}

TAKO_TEST(broadcast, move_only_handles_and_copies) {
    auto [tx, rx] = broadcast::channel<int>(4);
    broadcast::sender<int> copy = tx;
    broadcast::sender<int> assigned = tx;
    assigned = copy;
    broadcast::receiver<int> moved = std::move(rx);
    (void)assigned.send(1);
    EXPECT_EQ(moved.try_recv().value_or(0), 1);
    auto [tx2, rx2] = broadcast::channel<int>(4);
    moved = std::move(rx2); // leaves the first channel
    EXPECT_EQ(tx.receiver_count(), 0u);
    (void)tx2.send(5);
    EXPECT_EQ(moved.try_recv().value_or(0), 5);
    co_return;
}

// Many receivers on two workers, each sees every value in order. The sender waits before
// every 256th value until everything sent was delivered, so nobody lags (the anchor
// benchmark's shape).
TAKO_TEST_MT(broadcast, many_receivers_across_workers_see_every_value_in_order) {
    constexpr int receivers = 24;
    constexpr int values = 5000;
    auto [tx, rx0] = broadcast::channel<int>(1024);
    std::atomic<std::int64_t> delivered{0};
    std::vector<broadcast::receiver<int>> rxs;
    rxs.push_back(std::move(rx0));
    for (int i = 1; i < receivers; ++i) {
        rxs.push_back(tx.subscribe());
    }
    std::vector<tako::join_handle<int>> hs;
    for (auto& rx : rxs) {
        hs.push_back(tako::spawn(
            [](broadcast::receiver<int>* r, std::atomic<std::int64_t>* d) -> tako::task<int> {
                int errors = 0;
                for (int want = 0; want < values; ++want) {
                    auto v = co_await r->recv();
                    if (!v || *v != want) {
                        ++errors;
                    }
                    d->fetch_add(1, std::memory_order_relaxed);
                }
                auto end = co_await r->recv(); // then the close
                if (end || !end.error().is_closed()) {
                    ++errors;
                }
                co_return errors;
            },
            &rx, &delivered));
    }
    auto sending = tako::spawn(
        [](broadcast::sender<int> s, std::atomic<std::int64_t>* d) -> tako::task<> {
            for (int v = 0; v < values; ++v) {
                if (v % 256 == 0) {
                    while (d->load(std::memory_order_acquire) <
                           static_cast<std::int64_t>(v) * receivers) {
                        co_await tako::yield_now();
                    }
                }
                (void)s.send(v);
            }
        },
        std::move(tx), &delivered);
    EXPECT_TRUE((co_await sending).has_value());
    for (auto& h : hs) {
        EXPECT_EQ((co_await h).value_or(-1), 0);
    }
    EXPECT_EQ(delivered.load(), static_cast<std::int64_t>(values) * receivers);
}

// Senders on several threads at once, receivers on the workers: every receiver sees each
// sender's values in that sender's order, and the total count.
TAKO_TEST_MT(broadcast, concurrent_senders_and_receivers) {
    constexpr int senders = 3;
    constexpr int per_sender = 300;
    constexpr int total = senders * per_sender;
    auto [tx, rx0] = broadcast::channel<int>(4096); // big enough: nobody lags
    std::vector<broadcast::receiver<int>> rxs;
    rxs.push_back(std::move(rx0));
    for (int i = 0; i < 5; ++i) {
        rxs.push_back(tx.subscribe());
    }
    std::vector<tako::join_handle<bool>> hs;
    for (auto& rx : rxs) {
        hs.push_back(tako::spawn(
            [](broadcast::receiver<int>* r) -> tako::task<bool> {
                std::vector<int> last(senders, -1);
                int count = 0;
                for (;;) {
                    auto v = co_await r->recv();
                    if (!v) {
                        co_return v.error().is_closed() && count == total;
                    }
                    const int who = *v / per_sender;
                    const int seq = *v % per_sender;
                    if (seq != last[static_cast<std::size_t>(who)] + 1) {
                        co_return false;
                    }
                    last[static_cast<std::size_t>(who)] = seq;
                    ++count;
                }
            },
            &rx));
    }
    std::vector<tako::join_handle<void>> ss;
    for (int k = 0; k < senders; ++k) {
        ss.push_back(tako::spawn_blocking(
            [](broadcast::sender<int> s, int who) {
                for (int i = 0; i < per_sender; ++i) {
                    (void)s.send(who * per_sender + i);
                }
            },
            tx, k));
    }
    { auto dropped = std::move(tx); }
    for (auto& s : ss) {
        EXPECT_TRUE((co_await s).has_value());
    }
    for (auto& h : hs) {
        EXPECT_TRUE((co_await h).value_or(false));
    }
}

// A sender on its own thread overwrites a small ring while receivers on the workers read
// it: every receiver sees each position at most once and in order, a lag of n skips
// exactly n positions, and nothing is torn. With a value that has no destructor (the slot
// lock counts the read and unlocks in one step) and with one that has (the last reader
// destroys it while the sender may be waiting to overwrite it).
template <class V, class Make, class Read>
tako::task<void> overwrite_race(Make make, Read read) {
    constexpr int receivers = 4;
    constexpr std::uint64_t values = 20000;
    auto [tx, rx0] = broadcast::channel<V>(4);
    std::vector<broadcast::receiver<V>> rxs;
    rxs.push_back(std::move(rx0));
    for (int i = 1; i < receivers; ++i) {
        rxs.push_back(tx.subscribe());
    }
    std::vector<tako::join_handle<std::string>> hs;
    for (auto& rx : rxs) {
        hs.push_back(tako::spawn(
            [](broadcast::receiver<V>* r, Read rd) -> tako::task<std::string> {
                std::uint64_t want = 0; // the position expected next
                std::uint64_t got = 0;
                for (;;) {
                    auto v = co_await r->recv();
                    if (!v) {
                        if (v.error().is_closed()) {
                            break;
                        }
                        want += v.error().skipped();
                        continue;
                    }
                    if (rd(*v) != want) {
                        co_return "got " + std::to_string(rd(*v)) + ", want " +
                                  std::to_string(want);
                    }
                    ++want;
                    ++got;
                }
                if (want != values || got == 0) {
                    co_return "ended at " + std::to_string(want) + " after " +
                              std::to_string(got) + " values";
                }
                co_return std::string();
            },
            &rx, read));
    }
    auto sending = tako::spawn_blocking(
        [](broadcast::sender<V> s, Make mk) {
            for (std::uint64_t i = 0; i < values; ++i) {
                (void)s.send(mk(i));
                if (s.len() > 4) {
                    throw std::logic_error("len above the ring size");
                }
            }
        },
        std::move(tx), make);
    auto sent = co_await sending;
    EXPECT_TRUE(sent.has_value());
    for (auto& h : hs) {
        auto problem = co_await h;
        EXPECT_EQ(problem.value_or("join failed"), "");
    }
}

TAKO_TEST_MT(broadcast, overwriting_sender_races_lagging_receivers_trivial_value) {
    co_await overwrite_race<std::uint64_t>([](std::uint64_t i) { return i; },
                                           [](std::uint64_t v) { return v; });
}

TAKO_TEST_MT(broadcast, overwriting_sender_races_lagging_receivers_value_with_destructor) {
    // Long enough to live on the heap: a torn or freed string shows under the sanitizers.
    co_await overwrite_race<std::string>(
        [](std::uint64_t i) { return std::string(40, 'x') + std::to_string(i); },
        [](const std::string& v) { return std::stoull(v.substr(40)); });
}

// ================================================================== watch

TAKO_TEST(watch, sends_coalesce_into_one_change_with_the_latest_value) {
    auto [tx, rx] = watch::channel<int>(0);
    int wakes = 0;
    int seen = -1;
    auto h = tako::spawn([&]() -> tako::task<> {
        auto c = co_await rx.changed();
        ++wakes;
        if (c) {
            seen = *rx.borrow_and_update();
        }
        auto again = co_await rx.changed(); // waits for the next send
        ++wakes;
        (void)again;
    });
    co_await settle();
    EXPECT_EQ(wakes, 0);
    (void)tx.send(1);
    (void)tx.send(2);
    (void)tx.send(3); // three sends before the receiver runs
    co_await settle();
    EXPECT_EQ(wakes, 1); // one change
    EXPECT_EQ(seen, 3);  // the latest value
    EXPECT_FALSE(h.is_finished());
    (void)tx.send(4);
    (void)co_await h;
    EXPECT_EQ(wakes, 2);
}

TAKO_TEST(watch, changed_after_sender_drop_is_closed_after_the_last_change) {
    auto [tx, rx] = watch::channel<std::string>("a");
    (void)tx.send("b");
    { auto dropped = std::move(tx); }
    auto c = co_await rx.changed(); // the change made before the drop comes first
    EXPECT_TRUE(c.has_value());
    EXPECT_EQ(*rx.borrow(), "b");
    auto closed = co_await rx.changed();
    TAKO_CO_ASSERT(!closed.has_value());
    EXPECT_EQ(closed.error(), watch::recv_error::closed);
    EXPECT_FALSE(rx.has_changed().has_value());

    // A receiver parked in changed() is woken by the drop.
    auto [tx2, rx2] = watch::channel<int>(0);
    auto h = tako::spawn([&rx2]() -> tako::task<bool> {
        auto r = co_await rx2.changed();
        co_return !r.has_value() && r.error() == watch::recv_error::closed;
    });
    co_await settle();
    EXPECT_FALSE(h.is_finished());
    { auto dropped = std::move(tx2); }
    EXPECT_TRUE((co_await h).value_or(false));
}

TAKO_TEST(watch, borrow_and_update_marks_seen_borrow_does_not) {
    auto [tx, rx] = watch::channel<int>(1);
    EXPECT_EQ(rx.has_changed().value_or(true), false);
    {
        auto g = rx.borrow();
        EXPECT_EQ(*g, 1);
        EXPECT_FALSE(g.has_changed());
    }
    (void)tx.send(2);
    EXPECT_EQ(rx.has_changed().value_or(false), true);
    {
        auto g = rx.borrow();
        EXPECT_EQ(*g, 2);
        EXPECT_TRUE(g.has_changed());
    }
    EXPECT_EQ(rx.has_changed().value_or(false), true); // borrow did not mark it
    {
        auto g = rx.borrow_and_update();
        EXPECT_EQ(g.get(), 2);
        EXPECT_TRUE(g.has_changed());
    }
    EXPECT_EQ(rx.has_changed().value_or(true), false);
    {
        auto g = rx.borrow_and_update();
        EXPECT_FALSE(g.has_changed());
    }
    rx.mark_changed();
    EXPECT_EQ(rx.has_changed().value_or(false), true);
    EXPECT_TRUE((co_await rx.changed()).has_value()); // completes at once
    (void)tx.send(3);
    rx.mark_unchanged();
    EXPECT_EQ(rx.has_changed().value_or(true), false);
    EXPECT_EQ(*tx.borrow(), 3);
    EXPECT_FALSE(tx.borrow().has_changed());
}

TAKO_TEST(watch, wait_for_checks_current_value_then_each_change) {
    auto [tx, rx] = watch::channel<int>(5);
    {
        auto now = co_await rx.wait_for([](const int& v) { return v == 5; });
        TAKO_CO_ASSERT(now.has_value());
        EXPECT_EQ(**now, 5);
    }
    int checks = 0;
    auto h = tako::spawn([&]() -> tako::task<int> {
        auto r = co_await rx.wait_for([&checks](const int& v) {
            ++checks;
            return v >= 10;
        });
        co_return r ? **r : -1;
    });
    co_await settle();
    EXPECT_EQ(checks, 1); // the current value, 5
    for (int v = 6; v < 10; ++v) {
        (void)tx.send(v);
        co_await settle();
        EXPECT_FALSE(h.is_finished());
    }
    EXPECT_EQ(checks, 5); // re-checked after each change, parked again each time
    (void)tx.send(11);
    EXPECT_EQ((co_await h).value_or(0), 11);
    EXPECT_EQ(checks, 6);
    EXPECT_EQ(rx.has_changed().value_or(true), false); // wait_for marked 11 seen
}

TAKO_TEST(watch, wait_for_skips_values_sent_before_it_looks) {
    auto [tx, rx] = watch::channel<int>(0);
    std::vector<int> checked;
    auto h = tako::spawn([&]() -> tako::task<int> {
        auto r = co_await rx.wait_for([&checked](const int& v) {
            checked.push_back(v);
            return v == 3;
        });
        co_return r ? **r : -1;
    });
    co_await settle();
    (void)tx.send(1);
    (void)tx.send(2);
    (void)tx.send(3);
    EXPECT_EQ((co_await h).value_or(0), 3);
    EXPECT_EQ(checked, (std::vector<int>{0, 3}));
}

TAKO_TEST(watch, wait_for_after_close_checks_the_last_value_then_fails) {
    auto [tx, rx] = watch::channel<int>(0);
    auto h = tako::spawn([&rx]() -> tako::task<int> {
        auto r = co_await rx.wait_for([](const int& v) { return v == 42; });
        if (r) {
            co_return **r;
        }
        co_return r.error() == watch::recv_error::closed ? -1 : -2;
    });
    co_await settle();
    (void)tx.send(1);
    { auto dropped = std::move(tx); }
    EXPECT_EQ((co_await h).value_or(0), -1);

    // The last value sent before the close satisfies it: found, not closed.
    auto [tx2, rx2] = watch::channel<int>(0);
    auto h2 = tako::spawn([&rx2]() -> tako::task<int> {
        auto r = co_await rx2.wait_for([](const int& v) { return v == 42; });
        co_return r ? **r : -1;
    });
    co_await settle();
    (void)tx2.send(42);
    { auto dropped = std::move(tx2); }
    EXPECT_EQ((co_await h2).value_or(0), 42);
}

TAKO_TEST(watch, wait_for_predicate_exception_reaches_the_awaiter) {
    auto [tx, rx] = watch::channel<int>(0);
    const auto throws_on_2 = [](const int& v) {
        if (v == 2) {
            throw std::runtime_error("two");
        }
        return false;
    };
    auto h = tako::spawn([&]() -> tako::task<bool> {
        try {
            (void)co_await rx.wait_for(throws_on_2);
        } catch (const std::runtime_error&) {
            co_return true;
        }
        co_return false;
    });
    co_await settle();
    (void)tx.send(1);
    co_await settle();
    (void)tx.send(2); // thrown in the driver, rethrown from the co_await
    EXPECT_TRUE((co_await h).value_or(false));
    bool caught = false;
    try {
        (void)co_await rx.wait_for(throws_on_2); // thrown on the first check
    } catch (const std::runtime_error&) {
        caught = true;
    }
    EXPECT_TRUE(caught);
    // The channel still works.
    (void)tx.send(3);
    EXPECT_EQ((co_await rx.wait_for([](const int& v) { return v == 3; })).has_value(), true);
}

TAKO_TEST(watch, ready_wait_for_loop_spends_the_budget) {
    auto [tx, rx] = watch::channel<int>(7);
    bool other_ran = false;
    auto other = tako::spawn([&other_ran]() -> tako::task<> {
        other_ran = true;
        co_return;
    });
    int n = 0;
    bool all_seven = true;
    while (!other_ran && n < 1000) {
        auto g = co_await rx.wait_for([](const int& v) { return v == 7; });
        all_seven = all_seven && g.has_value() && **g == 7;
        ++n;
    }
    EXPECT_TRUE(other_ran);
    EXPECT_LE(n, 200);
    EXPECT_TRUE(all_seven);
    (void)co_await other;
    (void)tx;
}

TAKO_TEST(watch, send_if_modified_false_wakes_nobody) {
    auto [tx, rx] = watch::channel<int>(0);
    int wakes = 0;
    auto h = tako::spawn([&]() -> tako::task<> {
        (void)co_await rx.changed();
        ++wakes;
    });
    co_await settle();
    EXPECT_FALSE(tx.send_if_modified([](int& v) {
        return v == 100; // unchanged: not a send
    }));
    co_await settle();
    EXPECT_EQ(wakes, 0);
    EXPECT_FALSE(h.is_finished());
    EXPECT_EQ(rx.has_changed().value_or(true), false);
    EXPECT_TRUE(tx.send_if_modified([](int& v) {
        v = 9;
        return true;
    }));
    (void)co_await h;
    EXPECT_EQ(wakes, 1);
    EXPECT_EQ(*rx.borrow(), 9);
}

TAKO_TEST(watch, send_modify_send_replace_and_send_without_receivers) {
    auto [tx, rx] = watch::channel<std::vector<int>>({1});
    tx.send_modify([](std::vector<int>& v) { v.push_back(2); });
    EXPECT_EQ(*rx.borrow_and_update(), (std::vector<int>{1, 2}));
    auto old = tx.send_replace({3});
    EXPECT_EQ(old, (std::vector<int>{1, 2}));
    EXPECT_TRUE(rx.has_changed().value_or(false));
    EXPECT_FALSE(tx.is_closed());

    // send_modify whose function throws: no change, nobody woken.
    EXPECT_THROW(tx.send_modify([](std::vector<int>&) { throw std::runtime_error("no"); }),
                 std::runtime_error);
    (void)rx.borrow_and_update();
    EXPECT_EQ(rx.has_changed().value_or(true), false);

    { auto dropped = std::move(rx); }
    EXPECT_TRUE(tx.is_closed());
    EXPECT_EQ(tx.receiver_count(), 0u);
    auto failed = tx.send({4});
    TAKO_CO_ASSERT(!failed.has_value());
    EXPECT_EQ(failed.error().value, (std::vector<int>{4})); // handed back, not stored
    EXPECT_EQ(*tx.borrow(), (std::vector<int>{3}));
    (void)tx.send_replace({5}); // stores with no receiver
    auto late = tx.subscribe(); // reopens; has seen the current value
    EXPECT_EQ(late.has_changed().value_or(true), false);
    EXPECT_EQ(*late.borrow(), (std::vector<int>{5}));
    EXPECT_TRUE(tx.send({6}).has_value());
    EXPECT_TRUE(late.has_changed().value_or(false));
}

TAKO_TEST(watch, receiver_copies_start_at_the_same_version) {
    auto [tx, rx] = watch::channel<int>(0);
    (void)tx.send(1);
    auto copy = rx; // has not seen 1 either
    EXPECT_TRUE(copy.same_channel(rx));
    EXPECT_EQ(tx.receiver_count(), 2u);
    EXPECT_TRUE(copy.has_changed().value_or(false));
    (void)rx.borrow_and_update();
    auto copy2 = rx; // has seen 1
    EXPECT_FALSE(copy2.has_changed().value_or(true));
    EXPECT_TRUE(copy.has_changed().value_or(false)); // independent of rx
    auto [tx2, rx2] = watch::channel<int>(0);
    EXPECT_FALSE(rx2.same_channel(rx));
    EXPECT_FALSE(tx2.same_channel(tx));
    copy2 = rx2;
    EXPECT_TRUE(copy2.same_channel(rx2));
    EXPECT_EQ(tx.receiver_count(), 2u);
    EXPECT_EQ(tx2.receiver_count(), 2u);
    co_return;
}

TAKO_TEST(watch, select_loop_over_changed_and_stop) {
    auto [tx, rx] = watch::channel<int>(0);
    tako::sync::notify stop;
    std::vector<int> seen;
    auto loop = tako::spawn([&]() -> tako::task<int> {
        int changes = 0;
        for (;;) {
            auto r = co_await tako::select(rx.changed(), stop.notified());
            if (r.index() == 1) {
                co_return changes;
            }
            if (!std::get<0>(r)) {
                co_return -1;
            }
            ++changes;
            seen.push_back(*rx.borrow_and_update());
        }
    });
    for (int v = 1; v <= 5; ++v) {
        (void)tx.send(v);
        co_await settle();
    }
    (void)tx.send(6);
    (void)tx.send(7); // coalesced
    co_await settle();
    EXPECT_EQ(seen, (std::vector<int>{1, 2, 3, 4, 5, 7}));
    stop.notify_one();
    EXPECT_EQ((co_await loop).value_or(0), 6);
    // The receiver survived every losing changed(): it still works.
    (void)tx.send(8);
    EXPECT_TRUE((co_await rx.changed()).has_value());
    EXPECT_EQ(*rx.borrow_and_update(), 8);
}

TAKO_TEST(watch, cancelled_changed_while_suspended_marks_nothing) {
    auto [tx, rx] = watch::channel<int>(0);
    auto waiting = tako::spawn([&rx]() -> tako::task<> { (void)co_await rx.changed(); });
    co_await settle();
    waiting.abort();
    EXPECT_TRUE(co_await was_cancelled(waiting));
    (void)tx.send(1);
    EXPECT_TRUE(rx.has_changed().value_or(false));

    // Fired by a send, then cancelled before it resumed: the change is still unseen.
    (void)rx.borrow_and_update();
    auto fired = tako::spawn([&rx]() -> tako::task<> { (void)co_await rx.changed(); });
    co_await settle();
    (void)tx.send(2);
    fired.abort();
    EXPECT_TRUE(co_await was_cancelled(fired));
    EXPECT_TRUE(rx.has_changed().value_or(false));
    EXPECT_TRUE((co_await rx.changed()).has_value());
    EXPECT_EQ(*rx.borrow(), 2);
}

// Tasks parked in changed(), wait_for and closed() are destroyed; the channel stays sound
// and is destroyed after them (ASan / TSan check the unlinking).
TAKO_TEST(watch, destruction_while_suspended) {
    {
        auto [tx, rx] = watch::channel<int>(0);
        auto rx2 = rx;
        std::vector<tako::join_handle<void>> hs;
        hs.push_back(tako::spawn([&rx2]() -> tako::task<> {
            (void)co_await rx2.wait_for([](const int& v) { return v > 100; });
        }));
        hs.push_back(tako::spawn([&tx]() -> tako::task<> { co_await tx.closed(); }));
        co_await settle();
        (void)tx.send(1); // the wait_for driver re-checks and parks again
        co_await settle();
        (void)rx.borrow_and_update();
        hs.push_back(tako::spawn([&rx]() -> tako::task<> { (void)co_await rx.changed(); }));
        co_await settle();
        for (auto& h : hs) {
            EXPECT_FALSE(h.is_finished());
            h.abort();
        }
        for (auto& h : hs) {
            EXPECT_TRUE(co_await was_cancelled(h));
        }
        (void)tx.send(2); // nobody is linked any more
        EXPECT_TRUE(rx.has_changed().value_or(false));
    }
    // A wait_for fired and then cancelled before its driver ran.
    {
        auto [tx, rx] = watch::channel<int>(0);
        auto h = tako::spawn([&rx]() -> tako::task<> {
            (void)co_await rx.wait_for([](const int& v) { return v == 1; });
        });
        co_await settle();
        (void)tx.send(1);
        h.abort();
        EXPECT_TRUE(co_await was_cancelled(h));
    }
    {
        // And a broadcast channel the same way.
        auto [tx, rx] = broadcast::channel<int>(2);
        auto h = tako::spawn([&rx]() -> tako::task<> { (void)co_await rx.recv(); });
        auto c = tako::spawn([&tx]() -> tako::task<> { co_await tx.closed(); });
        co_await settle();
        h.abort();
        c.abort();
        EXPECT_TRUE(co_await was_cancelled(h));
        EXPECT_TRUE(co_await was_cancelled(c));
    }
}

TAKO_TEST(watch, sender_closed_completes_when_receivers_are_gone) {
    auto [tx, rx] = watch::channel<int>(0);
    auto rx2 = rx;
    auto h = tako::spawn([&tx]() -> tako::task<> { co_await tx.closed(); });
    co_await settle();
    { auto dropped = std::move(rx); }
    co_await settle();
    EXPECT_FALSE(h.is_finished());
    { auto dropped = std::move(rx2); }
    EXPECT_TRUE((co_await h).has_value());
    EXPECT_TRUE(tx.is_closed());
    co_await tx.closed();
}

TAKO_TEST(watch, sender_copies_close_with_the_last) {
    auto [tx, rx] = watch::channel<int>(0);
    auto tx2 = tx;
    { auto dropped = std::move(tx); }
    EXPECT_TRUE(rx.has_changed().has_value()); // open
    (void)tx2.send(1);
    { auto dropped = std::move(tx2); }
    EXPECT_TRUE((co_await rx.changed()).has_value());
    EXPECT_FALSE((co_await rx.changed()).has_value());
}

// Receivers on two workers follow a sender: each sees non-decreasing values and ends on
// the last one.
TAKO_TEST_MT(watch, receivers_across_workers_end_on_the_latest_value) {
    constexpr int receivers = 8;
    constexpr int sends = 3000;
    auto [tx, rx] = watch::channel<int>(0);
    std::vector<watch::receiver<int>> rxs(receivers, rx);
    std::vector<tako::join_handle<int>> hs;
    for (auto& r : rxs) {
        hs.push_back(tako::spawn(
            [](watch::receiver<int>* r) -> tako::task<int> {
                int last = 0;
                for (;;) {
                    auto c = co_await r->changed();
                    if (!c) {
                        co_return last;
                    }
                    const int v = *r->borrow_and_update();
                    if (v < last) {
                        co_return -1; // went backwards
                    }
                    last = v;
                }
            },
            &r));
    }
    // wait_for from a third kind of task, on a copy.
    auto waiter = tako::spawn(
        [](watch::receiver<int> r) -> tako::task<int> {
            auto g = co_await r.wait_for([](const int& v) { return v >= sends / 2; });
            co_return g ? **g : -1;
        },
        rx);
    auto sending = tako::spawn(
        [](watch::sender<int> s) -> tako::task<> {
            for (int v = 1; v <= sends; ++v) {
                (void)s.send(v);
                if (v % 64 == 0) {
                    co_await tako::yield_now();
                }
            }
        },
        std::move(tx));
    EXPECT_TRUE((co_await sending).has_value());
    for (auto& h : hs) {
        EXPECT_EQ((co_await h).value_or(-2), sends);
    }
    EXPECT_GE((co_await waiter).value_or(-1), sends / 2);
}
