// tako::sync::barrier, tako::sync::once_cell, tako::cancellation_token and
// tako::task_tracker.

#include <tako/sync/barrier.hpp>
#include <tako/sync/cancellation_token.hpp>
#include <tako/sync/once_cell.hpp>
#include <tako/tako.hpp>
#include <tako/task_tracker.hpp>
#include <tako/testing.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <expected>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using tako_test::life;
using tako_test::probe;

/// Lets every queued task run (current_thread) a few times over.
tako::task<> settle(int rounds = 5) {
    for (int i = 0; i < rounds; ++i) {
        co_await tako::yield_now();
    }
}

/// Yields until `pred()` holds, at most `rounds` times; returns `pred()`.
template <class Pred>
tako::task<bool> eventually(Pred pred, int rounds = 100'000) {
    for (int i = 0; i < rounds && !pred(); ++i) {
        co_await tako::yield_now();
    }
    co_return pred();
}

/// True if the result is a cancellation.
template <class T>
bool is_cancelled(const std::expected<T, tako::join_error>& r) {
    return !r.has_value() && r.error().is_cancelled();
}

// ------------------------------------------------------------------ barrier helpers

struct generation_log {
    static constexpr int generations = 3;
    std::array<std::atomic<int>, generations> arrived{};
    std::array<std::atomic<int>, generations> leaders{};
    std::atomic<int> released_early{0}; ///< released before all tasks of the generation arrived
};

tako::task<int> barrier_rounds(tako::sync::barrier* b, generation_log* log, int parties) {
    int led = 0;
    for (int g = 0; g < generation_log::generations; ++g) {
        log->arrived[g].fetch_add(1);
        auto r = co_await b->wait();
        if (log->arrived[g].load() != parties) {
            log->released_early.fetch_add(1);
        }
        if (r.is_leader()) {
            log->leaders[g].fetch_add(1);
            ++led;
        }
    }
    co_return led;
}

tako::task<void> check_barrier_generations(int parties) {
    tako::sync::barrier b(static_cast<std::size_t>(parties));
    generation_log log;
    std::vector<tako::join_handle<int>> hs;
    for (int i = 0; i < parties; ++i) {
        hs.push_back(tako::spawn(barrier_rounds, &b, &log, parties));
    }
    int total_led = 0;
    for (auto& h : hs) {
        auto r = co_await h;
        TAKO_CO_ASSERT(r.has_value());
        total_led += *r;
    }
    EXPECT_EQ(total_led, generation_log::generations);
    for (int g = 0; g < generation_log::generations; ++g) {
        EXPECT_EQ(log.leaders[g].load(), 1) << "generation " << g;
        EXPECT_EQ(log.arrived[g].load(), parties) << "generation " << g;
    }
    EXPECT_EQ(log.released_early.load(), 0);
}

} // namespace

// ------------------------------------------------------------------ barrier

TAKO_TEST_MT(barrier, one_leader_per_generation_four_tasks_two_workers) {
    co_await check_barrier_generations(4);
}

TAKO_TEST(barrier, one_leader_per_generation_current_thread) {
    co_await check_barrier_generations(4);
}

// More waiters than one wake batch (wake_list::capacity is 32).
TAKO_TEST_MT(barrier, hundred_tasks_released_in_batches) {
    co_await check_barrier_generations(100);
}

TAKO_TEST(barrier, hundred_tasks_released_in_batches_current_thread) {
    co_await check_barrier_generations(100);
}

TAKO_TEST_MT(barrier, many_generations_stress) {
    constexpr int parties = 4;
    constexpr int rounds = 500;
    auto b = std::make_shared<tako::sync::barrier>(parties);
    auto leaders = std::make_shared<std::atomic<int>>(0);
    std::vector<tako::join_handle<void>> hs;
    for (int i = 0; i < parties; ++i) {
        hs.push_back(tako::spawn(
            [](std::shared_ptr<tako::sync::barrier> b,
               std::shared_ptr<std::atomic<int>> leaders) -> tako::task<void> {
                for (int g = 0; g < rounds; ++g) {
                    if ((co_await b->wait()).is_leader()) {
                        leaders->fetch_add(1);
                    }
                }
            },
            b, leaders));
    }
    for (auto& h : hs) {
        EXPECT_TRUE((co_await h).has_value());
    }
    EXPECT_EQ(leaders->load(), rounds);
}

TAKO_TEST(barrier, zero_behaves_as_one) {
    tako::sync::barrier b(0);
    for (int i = 0; i < 3; ++i) {
        auto r = co_await b.wait();
        EXPECT_TRUE(r.is_leader());
    }
}

TAKO_TEST(barrier, one_party_is_always_leader) {
    tako::sync::barrier b(1);
    for (int i = 0; i < 300; ++i) { // beyond one budget: completes (or yields) each time
        auto r = co_await b.wait();
        EXPECT_TRUE(r.is_leader());
    }
}

TAKO_TEST(barrier, unawaited_wait_counts_for_nothing) {
    tako::sync::barrier b(2);
    { auto unused = b.wait(); }
    bool other_done = false;
    auto h = tako::spawn([&]() -> tako::task<> {
        co_await b.wait();
        other_done = true;
    });
    co_await settle();
    EXPECT_FALSE(other_done); // the unawaited wait did not count
    auto r = co_await b.wait();
    EXPECT_TRUE(r.is_leader());
    (void)co_await h;
    EXPECT_TRUE(other_done);
}

// Not cancel-safe, as Tokio's: a cancelled waiter stays counted.
TAKO_TEST(barrier, cancelled_waiter_stays_counted) {
    tako::sync::barrier b(3);
    auto a = tako::spawn([&b]() -> tako::task<bool> { co_return (co_await b.wait()).is_leader(); });
    co_await settle();
    a.abort();
    EXPECT_TRUE(is_cancelled(co_await a));
    auto c = tako::spawn([&b]() -> tako::task<bool> { co_return (co_await b.wait()).is_leader(); });
    co_await settle();
    EXPECT_FALSE(c.is_finished());
    // Third arrival (counting the cancelled one): the generation completes.
    auto r = co_await b.wait();
    EXPECT_TRUE(r.is_leader());
    auto rc = co_await c;
    TAKO_CO_ASSERT(rc.has_value());
    EXPECT_FALSE(*rc);
    // The next generation starts from zero again.
    std::vector<tako::join_handle<bool>> hs;
    for (int i = 0; i < 2; ++i) {
        hs.push_back(
            tako::spawn([&b]() -> tako::task<bool> { co_return (co_await b.wait()).is_leader(); }));
    }
    co_await settle(); // both arrive first
    auto last = co_await b.wait();
    EXPECT_TRUE(last.is_leader());
    for (auto& h : hs) {
        EXPECT_EQ((co_await h).value_or(true), false);
    }
}

TAKO_TEST(barrier, wait_losing_select_unlinks) {
    tako::sync::barrier b(2);
    tako::sync::notify n;
    n.notify_one();
    auto r = co_await tako::select_biased(b.wait(), n.notified());
    EXPECT_EQ(r.index(), 1u);
    // The losing wait had arrived (not cancel-safe): one more arrival completes it.
    auto w = co_await b.wait();
    EXPECT_TRUE(w.is_leader());
}

// ------------------------------------------------------------------ once_cell helpers

namespace {

struct init_counter {
    std::atomic<int> runs{0};
};

tako::task<int> counted_init(init_counter* c, int value) {
    c->runs.fetch_add(1);
    co_await tako::yield_now();
    co_await tako::yield_now();
    co_return value;
}

tako::task<int> get_counted(tako::sync::once_cell<int>* cell, init_counter* c, int value) {
    // Named first: g++ 12 mishandles a capturing lambda inside a co_await statement.
    const auto init = [c, value] { return counted_init(c, value); };
    const int& v = co_await cell->get_or_init(init);
    co_return v;
}

/// An initializer that waits on `gate` (forever, unless notified).
tako::task<int> blocked_init(init_counter* c, tako::sync::notify* gate) {
    c->runs.fetch_add(1);
    co_await gate->notified();
    co_return -1;
}

tako::task<int> get_blocked(tako::sync::once_cell<int>* cell, init_counter* c,
                            tako::sync::notify* gate) {
    const auto init = [c, gate] { return blocked_init(c, gate); };
    co_return co_await cell->get_or_init(init);
}

tako::task<void> check_racing_get_or_init() {
    tako::sync::once_cell<int> cell;
    init_counter inits;
    std::vector<tako::join_handle<int>> hs;
    for (int i = 0; i < 100; ++i) {
        hs.push_back(tako::spawn(get_counted, &cell, &inits, i));
    }
    int first = -1;
    for (auto& h : hs) {
        auto r = co_await h;
        TAKO_CO_ASSERT(r.has_value());
        if (first < 0) {
            first = *r;
        }
        EXPECT_EQ(*r, first); // everyone sees the one value
    }
    EXPECT_EQ(inits.runs.load(), 1);
    TAKO_CO_ASSERT(cell.get() != nullptr);
    EXPECT_EQ(*cell.get(), first);
    EXPECT_TRUE(cell.initialized());
}

} // namespace

// ------------------------------------------------------------------ once_cell

TAKO_TEST(once_cell, racing_get_or_init_runs_initializer_once) {
    co_await check_racing_get_or_init();
}

TAKO_TEST_MT(once_cell, racing_get_or_init_runs_initializer_once_two_workers) {
    co_await check_racing_get_or_init();
}

TAKO_TEST_MT(once_cell, racing_stress_two_workers) {
    for (int round = 0; round < 50; ++round) {
        co_await check_racing_get_or_init();
    }
}

TAKO_TEST(once_cell, get_before_and_after) {
    tako::sync::once_cell<std::string> cell;
    EXPECT_EQ(cell.get(), nullptr);
    EXPECT_FALSE(cell.initialized());
    const std::string& v =
        co_await cell.get_or_init([]() -> tako::task<std::string> { co_return "hello"; });
    EXPECT_EQ(v, "hello");
    TAKO_CO_ASSERT(cell.get() != nullptr);
    EXPECT_EQ(cell.get(), &v);
    // Already set: the initializer is not called.
    bool called = false;
    const auto init = [&called]() -> tako::task<std::string> {
        called = true;
        co_return "other";
    };
    const std::string& again = co_await cell.get_or_init(init);
    EXPECT_EQ(again, "hello");
    EXPECT_FALSE(called);
}

TAKO_TEST(once_cell, set_get_take) {
    tako::sync::once_cell<std::unique_ptr<int>> cell;
    auto first = cell.set(std::make_unique<int>(1));
    EXPECT_TRUE(first.has_value());
    TAKO_CO_ASSERT(cell.get() != nullptr);
    EXPECT_EQ(**cell.get(), 1);
    auto p = std::make_unique<int>(2);
    int* raw = p.get();
    auto second = cell.set(std::move(p));
    TAKO_CO_ASSERT(!second.has_value());
    EXPECT_EQ(second.error().get(), raw); // the very same value comes back
    // Exclusive access: modify, take, set again.
    **cell.get_mut() = 5;
    auto taken = cell.take();
    TAKO_CO_ASSERT(taken.has_value());
    EXPECT_EQ(**taken, 5);
    EXPECT_EQ(cell.get(), nullptr);
    EXPECT_FALSE(cell.take().has_value());
    EXPECT_TRUE(cell.set(std::make_unique<int>(3)).has_value());
    auto inner = std::move(cell).into_inner();
    TAKO_CO_ASSERT(inner.has_value());
    EXPECT_EQ(**inner, 3);
    tako::sync::once_cell<int> preset(9);
    EXPECT_TRUE(preset.initialized());
    EXPECT_EQ(*preset.get(), 9);
    EXPECT_FALSE(preset.set(1).has_value());
    co_return;
}

TAKO_TEST(once_cell, set_while_initializing_fails_and_wakes_nobody_early) {
    tako::sync::once_cell<int> cell;
    init_counter inits;
    tako::sync::notify gate;
    auto h = tako::spawn(get_blocked, &cell, &inits, &gate);
    co_await settle();
    EXPECT_EQ(inits.runs.load(), 1);
    auto s = cell.set(3);
    TAKO_CO_ASSERT(!s.has_value()); // an initializer holds the cell
    EXPECT_EQ(s.error(), 3);
    gate.notify_one();
    EXPECT_EQ((co_await h).value_or(0), -1);
    EXPECT_EQ(*cell.get(), -1);
}

TAKO_TEST(once_cell, value_wakes_all_waiters) {
    tako::sync::once_cell<int> cell;
    init_counter inits;
    tako::sync::notify gate;
    auto initializing = tako::spawn(get_blocked, &cell, &inits, &gate);
    co_await settle();
    std::vector<tako::join_handle<int>> waiters;
    for (int i = 0; i < 40; ++i) {
        waiters.push_back(tako::spawn(get_counted, &cell, &inits, 100 + i));
    }
    co_await settle();
    initializing.abort(); // its turn goes to the first waiter, whose initializer runs ...
    EXPECT_TRUE(is_cancelled(co_await initializing));
    for (auto& w : waiters) {
        EXPECT_EQ((co_await w).value_or(0), 100);
    }
    EXPECT_EQ(inits.runs.load(), 2); // the cancelled one and the first waiter's
}

// Aborting the task that runs the initializer hands the turn to a waiting task, which runs
// its own initializer.
TAKO_TEST(once_cell, aborted_initializer_hands_over) {
    tako::sync::once_cell<int> cell;
    init_counter blocked_runs, inits;
    tako::sync::notify never;
    life l;
    auto a = tako::spawn(
        [](tako::sync::once_cell<int>* cell, init_counter* c, tako::sync::notify* gate,
           life* l) -> tako::task<int> {
            probe p(*l);
            const auto init = [c, gate] { return blocked_init(c, gate); };
            co_return co_await cell->get_or_init(init);
        },
        &cell, &blocked_runs, &never, &l);
    co_await settle();
    EXPECT_EQ(blocked_runs.runs.load(), 1);
    auto b = tako::spawn(get_counted, &cell, &inits, 7);
    co_await settle();
    EXPECT_FALSE(b.is_finished()); // waits for a's initializer
    EXPECT_EQ(inits.runs.load(), 0);
    a.abort();
    EXPECT_TRUE(is_cancelled(co_await a));
    EXPECT_EQ(l.alive.load(), 0);
    EXPECT_EQ((co_await b).value_or(0), 7);
    EXPECT_EQ(inits.runs.load(), 1);
    EXPECT_EQ(blocked_runs.runs.load(), 1);
    EXPECT_EQ(*cell.get(), 7);
}

TAKO_TEST_MT(once_cell, aborted_initializer_hands_over_two_workers) {
    tako::sync::once_cell<int> cell;
    init_counter blocked_runs, inits;
    tako::sync::notify never;
    auto a = tako::spawn(get_blocked, &cell, &blocked_runs, &never);
    const auto init_started = [&blocked_runs] { return blocked_runs.runs.load() == 1; };
    const bool started = co_await eventually(init_started);
    TAKO_CO_ASSERT(started);
    std::vector<tako::join_handle<int>> hs;
    for (int i = 0; i < 20; ++i) {
        hs.push_back(tako::spawn(get_counted, &cell, &inits, 7));
    }
    a.abort();
    EXPECT_TRUE(is_cancelled(co_await a));
    for (auto& h : hs) {
        EXPECT_EQ((co_await h).value_or(0), 7);
    }
    EXPECT_EQ(inits.runs.load(), 1);
}

// The initializing call loses a select: its initializer is destroyed and the turn passes
// to a waiting task. That task is aborted after it was handed the turn but before it
// resumed: it passes the turn on again.
TAKO_TEST(once_cell, initializer_losing_select_hands_over_past_cancelled_waiter) {
    tako::sync::once_cell<int> cell;
    init_counter blocked_runs, b_inits, c_inits;
    tako::sync::notify never, go;
    auto b = tako::spawn(get_counted, &cell, &b_inits, 2);
    auto c = tako::spawn(get_counted, &cell, &c_inits, 3);
    auto d = tako::spawn(
        [](tako::sync::notify* go) -> tako::task<void> {
            co_await tako::yield_now(); // b and c are waiting by now
            go->notify_one();
        },
        &go);
    auto r = co_await tako::select_biased(get_blocked(&cell, &blocked_runs, &never), go.notified());
    EXPECT_EQ(r.index(), 1u);
    EXPECT_EQ(blocked_runs.runs.load(), 1);
    b.abort(); // handed the turn (queued), cancelled before it resumes
    EXPECT_TRUE(is_cancelled(co_await b));
    EXPECT_EQ((co_await c).value_or(0), 3);
    EXPECT_EQ(b_inits.runs.load(), 0);
    EXPECT_EQ(c_inits.runs.load(), 1);
    EXPECT_EQ(*cell.get(), 3);
    (void)co_await d;
}

TAKO_TEST(once_cell, cancelled_waiter_unlinks) {
    tako::sync::once_cell<int> cell;
    init_counter blocked_runs, inits;
    tako::sync::notify gate;
    auto a = tako::spawn(get_blocked, &cell, &blocked_runs, &gate);
    co_await settle();
    auto b = tako::spawn(get_counted, &cell, &inits, 2);
    co_await settle();
    b.abort(); // still waiting: it only leaves the list
    EXPECT_TRUE(is_cancelled(co_await b));
    gate.notify_one();
    EXPECT_EQ((co_await a).value_or(0), -1);
    EXPECT_EQ(inits.runs.load(), 0);
    EXPECT_EQ(*cell.get(), -1);
}

TAKO_TEST(once_cell, throwing_initializer_lets_next_caller_try) {
    tako::sync::once_cell<int> cell;
    bool threw = false;
    try {
        (void)co_await cell.get_or_init([]() -> tako::task<int> {
            throw std::runtime_error("init failed");
            co_return 0;
        });
    } catch (const std::runtime_error&) {
        threw = true;
    }
    EXPECT_TRUE(threw);
    EXPECT_EQ(cell.get(), nullptr);
    const int& v = co_await cell.get_or_init([]() -> tako::task<int> { co_return 4; });
    EXPECT_EQ(v, 4);
}

TAKO_TEST(once_cell, get_or_try_init_error_then_success) {
    tako::sync::once_cell<int> cell;
    auto e = co_await cell.get_or_try_init([]() -> tako::task<std::expected<int, std::string>> {
        co_return std::unexpected(std::string("nope"));
    });
    TAKO_CO_ASSERT(!e.has_value());
    EXPECT_EQ(e.error(), "nope");
    EXPECT_EQ(cell.get(), nullptr);
    EXPECT_FALSE(cell.initialized());
    auto ok = co_await cell.get_or_try_init(
        []() -> tako::task<std::expected<int, std::string>> { co_return 8; });
    TAKO_CO_ASSERT(ok.has_value());
    EXPECT_EQ(**ok, 8);
    EXPECT_EQ(*ok, cell.get());
    // Set: no initializer runs.
    auto again = co_await cell.get_or_try_init(
        []() -> tako::task<std::expected<int, std::string>> { co_return std::unexpected("x"); });
    TAKO_CO_ASSERT(again.has_value());
    EXPECT_EQ(**again, 8);
}

namespace {

tako::task<std::expected<int, int>> fallible_init(tako::sync::notify* gate, int result) {
    co_await gate->notified();
    if (result < 0) {
        co_return std::unexpected(result);
    }
    co_return result;
}

tako::task<std::expected<int, int>> try_get(tako::sync::once_cell<int>* cell,
                                            tako::sync::notify* gate, int result) {
    const auto init = [gate, result] { return fallible_init(gate, result); };
    auto r = co_await cell->get_or_try_init(init);
    if (!r) {
        co_return std::unexpected(r.error());
    }
    co_return **r;
}

} // namespace

// A failing initializer's error goes to its caller only; the next waiter tries its own.
TAKO_TEST(once_cell, failed_try_init_passes_turn_to_waiter) {
    tako::sync::once_cell<int> cell;
    tako::sync::notify gate_a, gate_b;
    auto a = tako::spawn(try_get, &cell, &gate_a, -1);
    co_await settle();
    auto b = tako::spawn(try_get, &cell, &gate_b, 6);
    co_await settle();
    gate_b.notify_one(); // stored as a permit: b's initializer has not started
    gate_a.notify_one();
    auto ra = co_await a;
    TAKO_CO_ASSERT(ra.has_value());
    TAKO_CO_ASSERT(!ra->has_value());
    EXPECT_EQ(ra->error(), -1);
    auto rb = co_await b;
    TAKO_CO_ASSERT(rb.has_value());
    EXPECT_EQ(rb->value_or(0), 6);
    EXPECT_EQ(*cell.get(), 6);
}

// ------------------------------------------------------------------ cancellation_token

TAKO_TEST(cancellation_token, cancel_and_is_cancelled) {
    tako::cancellation_token t;
    tako::cancellation_token copy = t;
    EXPECT_FALSE(t.is_cancelled());
    copy.cancel();
    EXPECT_TRUE(t.is_cancelled());
    EXPECT_TRUE(copy.is_cancelled());
    t.cancel(); // idempotent
    EXPECT_TRUE(t.is_cancelled());
    co_await t.cancelled(); // completes at once
    tako::cancellation_token moved = std::move(copy);
    EXPECT_TRUE(moved.is_cancelled());
}

TAKO_TEST(cancellation_token, tree_semantics) {
    tako::cancellation_token root;
    auto child = root.child_token();
    auto sibling = root.child_token();
    auto grandchild = child.child_token();
    auto great = grandchild.child_token();
    auto other_grandchild = sibling.child_token();

    // Cancelling a child cancels its subtree, not its parent or siblings.
    grandchild.cancel();
    EXPECT_TRUE(grandchild.is_cancelled());
    EXPECT_TRUE(great.is_cancelled());
    EXPECT_FALSE(child.is_cancelled());
    EXPECT_FALSE(root.is_cancelled());
    EXPECT_FALSE(sibling.is_cancelled());

    // A child of a cancelled token is cancelled from birth.
    auto late = grandchild.child_token();
    EXPECT_TRUE(late.is_cancelled());

    // The parent cancels every descendant.
    root.cancel();
    EXPECT_TRUE(child.is_cancelled());
    EXPECT_TRUE(sibling.is_cancelled());
    EXPECT_TRUE(other_grandchild.is_cancelled());
    auto born_cancelled = root.child_token();
    EXPECT_TRUE(born_cancelled.is_cancelled());
    EXPECT_TRUE(born_cancelled.child_token().is_cancelled());
    co_return;
}

TAKO_TEST(cancellation_token, dropped_middle_token_keeps_grandchildren_reachable) {
    tako::cancellation_token root;
    std::optional<tako::cancellation_token> mid = root.child_token();
    auto leaf = mid->child_token();
    auto leaf_child = leaf.child_token();
    mid.reset(); // leaves the tree: leaf is handed to root
    EXPECT_FALSE(leaf.is_cancelled());
    root.cancel();
    EXPECT_TRUE(leaf.is_cancelled());
    EXPECT_TRUE(leaf_child.is_cancelled());
    co_return;
}

TAKO_TEST(cancellation_token, dropped_root_leaves_children_usable) {
    std::optional<tako::cancellation_token> root(std::in_place);
    auto child = root->child_token();
    auto grandchild = child.child_token();
    root.reset(); // child becomes a root of its own
    EXPECT_FALSE(child.is_cancelled());
    child.cancel();
    EXPECT_TRUE(grandchild.is_cancelled());
    co_return;
}

// Dropped children leave the tree (LeakSanitizer checks the memory in the asan build).
TAKO_TEST(cancellation_token, many_dropped_children_do_not_accumulate) {
    tako::cancellation_token root;
    std::vector<tako::cancellation_token> kept;
    for (int i = 0; i < 10'000; ++i) {
        auto c = root.child_token();
        auto g = c.child_token();
        if (i % 1000 == 0) {
            kept.push_back(g);
        }
    }
    root.cancel();
    for (const auto& k : kept) {
        EXPECT_TRUE(k.is_cancelled());
    }
    co_return;
}

namespace {

tako::task<void> check_hundred_waiters() {
    tako::cancellation_token root;
    std::atomic<int> woken{0};
    std::vector<tako::join_handle<void>> hs;
    for (int i = 0; i < 100; ++i) {
        // A third wait on the root, a third on a child, a third on a grandchild.
        tako::cancellation_token t = i % 3 == 0   ? root
                                     : i % 3 == 1 ? root.child_token()
                                                  : root.child_token().child_token();
        hs.push_back(tako::spawn(
            [](tako::cancellation_token t, std::atomic<int>* woken) -> tako::task<void> {
                co_await t.cancelled();
                woken->fetch_add(1);
            },
            t, &woken));
    }
    co_await settle();
    EXPECT_EQ(woken.load(), 0);
    root.cancel();
    for (auto& h : hs) {
        EXPECT_TRUE((co_await h).has_value());
    }
    EXPECT_EQ(woken.load(), 100);
}

} // namespace

TAKO_TEST(cancellation_token, hundred_waiters_woken) {
    co_await check_hundred_waiters();
}

TAKO_TEST_MT(cancellation_token, hundred_waiters_woken_two_workers) {
    co_await check_hundred_waiters();
}

TAKO_TEST(cancellation_token, cancelled_wait_aborted_while_suspended) {
    tako::cancellation_token t;
    bool resumed = false;
    auto h = tako::spawn([&]() -> tako::task<> {
        co_await t.cancelled();
        resumed = true;
    });
    co_await settle();
    h.abort(); // unlinks from the token's waiters
    EXPECT_TRUE(is_cancelled(co_await h));
    t.cancel();
    EXPECT_FALSE(resumed);
    // The token stays cancelled for the next wait.
    co_await t.cancelled();
}

TAKO_TEST(cancellation_token, cancelled_wait_losing_select) {
    tako::cancellation_token t;
    tako::sync::notify n;
    n.notify_one();
    auto r = co_await tako::select_biased(t.cancelled(), n.notified()); // waits, then loses
    EXPECT_EQ(r.index(), 1u);
    t.cancel();
    auto r2 = co_await tako::select_biased(t.cancelled(), n.notified());
    EXPECT_EQ(r2.index(), 0u);
}

// The waiting awaiter keeps its own handle: the token's last outside handle can go.
TAKO_TEST(cancellation_token, waiter_keeps_token_alive) {
    std::optional<tako::cancellation_token> root(std::in_place);
    std::optional<tako::cancellation_token> child = root->child_token();
    auto h = tako::spawn([](tako::cancellation_token t) -> tako::task<> { co_await t.cancelled(); },
                         *child);
    co_await settle();
    child.reset();
    EXPECT_FALSE(h.is_finished());
    root->cancel();
    root.reset();
    EXPECT_TRUE((co_await h).has_value());
}

TAKO_TEST(cancellation_token, drop_guard) {
    tako::cancellation_token t;
    {
        auto g = t.drop_guard();
        EXPECT_FALSE(t.is_cancelled());
    }
    EXPECT_TRUE(t.is_cancelled());

    tako::cancellation_token u;
    {
        auto g = u.drop_guard();
        tako::cancellation_token back = g.disarm();
        EXPECT_FALSE(back.is_cancelled());
        back.cancel(); // still the same token
        EXPECT_TRUE(u.is_cancelled());
    }
    tako::cancellation_token w;
    {
        auto g = w.drop_guard();
        (void)g.disarm();
    }
    EXPECT_FALSE(w.is_cancelled());

    tako::cancellation_token v;
    {
        auto g = v.drop_guard();
        tako::drop_guard moved = std::move(g); // the moved-from guard cancels nothing
        EXPECT_FALSE(v.is_cancelled());
    }
    EXPECT_TRUE(v.is_cancelled());
    co_return;
}

TAKO_TEST(cancellation_token, run_until_cancelled_outcomes) {
    tako::cancellation_token t;
    // The work finishes first.
    auto done = co_await t.run_until_cancelled([]() -> tako::task<int> { co_return 5; }());
    TAKO_CO_ASSERT(done.has_value());
    EXPECT_EQ(*done, 5);
    // void work gives monostate.
    auto v = co_await t.run_until_cancelled(tako::yield_now());
    EXPECT_TRUE(v.has_value());

    // The token is cancelled while the work waits: the work is destroyed.
    life l;
    tako::sync::notify never;
    auto h = tako::spawn(
        [](tako::cancellation_token t, tako::sync::notify* never, life* l) -> tako::task<bool> {
            auto r = co_await t.run_until_cancelled(
                [](tako::sync::notify* never, life* l) -> tako::task<int> {
                    probe p(*l);
                    co_await never->notified();
                    co_return 1;
                }(never, l));
            co_return r.has_value();
        },
        t, &never, &l);
    co_await settle();
    EXPECT_EQ(l.alive.load(), 1);
    t.cancel();
    auto r = co_await h;
    TAKO_CO_ASSERT(r.has_value());
    EXPECT_FALSE(*r);
    EXPECT_EQ(l.alive.load(), 0);

    // Already cancelled: the work does not even start.
    bool ran = false;
    auto skipped = co_await t.run_until_cancelled([](bool* ran) -> tako::task<int> {
        *ran = true;
        co_return 1;
    }(&ran));
    EXPECT_FALSE(skipped.has_value());
    EXPECT_FALSE(ran);
}

TAKO_TEST_MT(cancellation_token, run_until_cancelled_borrows_join_handle) {
    tako::cancellation_token t;
    tako::sync::notify go;
    auto worker = tako::spawn(
        [](tako::sync::notify* go) -> tako::task<int> {
            co_await go->notified();
            co_return 3;
        },
        &go);
    t.cancel();
    auto first = co_await t.run_until_cancelled(worker); // borrowed: survives losing
    EXPECT_FALSE(first.has_value());
    go.notify_one();
    tako::cancellation_token fresh;
    auto second = co_await fresh.run_until_cancelled(worker);
    TAKO_CO_ASSERT(second.has_value());
    EXPECT_EQ(second->value_or(0), 3);
}

// Concurrent cancels, child creation and drops on one tree (for TSan and ASan).
TAKO_TEST_MT(cancellation_token, concurrent_tree_operations) {
    for (int round = 0; round < 200; ++round) {
        tako::cancellation_token root;
        std::vector<tako::cancellation_token> mids;
        std::vector<tako::cancellation_token> leaves;
        for (int i = 0; i < 16; ++i) {
            mids.push_back(root.child_token());
            leaves.push_back(mids.back().child_token().child_token());
        }
        auto dropper = tako::spawn(
            [](std::vector<tako::cancellation_token> mids) -> tako::task<void> {
                while (!mids.empty()) {
                    auto c = mids.back().child_token(); // created and dropped at once
                    mids.pop_back();
                    co_await tako::yield_now();
                }
            },
            std::move(mids));
        auto canceller = tako::spawn(
            [](tako::cancellation_token root, int round) -> tako::task<void> {
                for (int i = 0; i < round % 5; ++i) {
                    co_await tako::yield_now();
                }
                root.cancel();
            },
            root, round);
        auto waiter = tako::spawn(
            [](tako::cancellation_token leaf) -> tako::task<void> { co_await leaf.cancelled(); },
            leaves.front());
        (void)co_await dropper;
        (void)co_await canceller;
        EXPECT_TRUE((co_await waiter).has_value());
        for (const auto& leaf : leaves) {
            EXPECT_TRUE(leaf.is_cancelled());
        }
    }
}

// ------------------------------------------------------------------ task_tracker helpers

namespace {

tako::task<void> wait_on(tako::sync::notify* n, life* l) {
    probe p(*l);
    co_await n->notified();
}

tako::task<void> check_wait_needs_close_and_all_ended() {
    tako::task_tracker tracker;
    EXPECT_TRUE(tracker.is_empty());
    EXPECT_FALSE(tracker.is_closed());
    life l;
    tako::sync::notify release_a, release_b, never;
    std::atomic<bool> blocking_done{false};

    auto a = tracker.spawn(wait_on, &release_a, &l);
    tracker.spawn(wait_on, &release_b, &l).detach(); // tracked whatever the handle does
    auto aborted = tracker.spawn(wait_on, &never, &l);
    auto blocking = tracker.spawn_blocking(
        [](std::atomic<bool>* done) {
            std::this_thread::sleep_for(20ms);
            done->store(true);
            return 1;
        },
        &blocking_done);
    EXPECT_EQ(tracker.len(), 4u);

    std::atomic<bool> waited{false};
    auto waiter = tako::spawn(
        [](tako::task_tracker t, std::atomic<bool>* waited) -> tako::task<> {
            co_await t.wait();
            waited->store(true);
        },
        tracker, &waited);

    co_await settle();
    release_a.notify_one();
    (void)co_await a;
    aborted.abort();
    EXPECT_TRUE(is_cancelled(co_await aborted));
    EXPECT_EQ((co_await blocking).value_or(0), 1);
    EXPECT_TRUE(blocking_done.load());
    co_await settle();
    EXPECT_EQ(tracker.len(), 1u);
    EXPECT_FALSE(waited.load()); // still open and not empty

    EXPECT_TRUE(tracker.close());
    EXPECT_FALSE(tracker.close()); // already closed
    EXPECT_TRUE(tracker.is_closed());
    co_await settle();
    EXPECT_FALSE(waited.load()); // closed, but one task still runs

    release_b.notify_one();
    (void)co_await waiter;
    EXPECT_TRUE(waited.load());
    EXPECT_TRUE(tracker.is_empty());
    EXPECT_EQ(tracker.len(), 0u);
    EXPECT_EQ(l.alive.load(), 0); // every tracked task's frames are gone
    co_await tracker.wait();      // closed and empty: at once
}

struct shutdown_log {
    std::atomic<int> exited{0};
    std::atomic<int> work_done{0};
};

tako::task<void> shutdown_worker(tako::cancellation_token stop, shutdown_log* log) {
    while (!stop.is_cancelled()) {
        auto r = co_await stop.run_until_cancelled(tako::time::sleep(1ms));
        if (r) {
            log->work_done.fetch_add(1);
        }
    }
    log->exited.fetch_add(1);
}

tako::task<void> check_graceful_shutdown() {
    constexpr int workers = 8;
    tako::task_tracker tracker;
    tako::cancellation_token stop;
    shutdown_log log;
    for (int i = 0; i < workers; ++i) {
        tracker.spawn(shutdown_worker, stop.child_token(), &log).detach();
    }
    // A blocking worker polls the token.
    tracker
        .spawn_blocking(
            [](tako::cancellation_token stop, shutdown_log* log) {
                while (!stop.is_cancelled()) {
                    std::this_thread::sleep_for(1ms);
                }
                log->exited.fetch_add(1);
            },
            stop, &log)
        .detach();
    co_await tako::time::sleep(10ms);
    EXPECT_EQ(tracker.len(), static_cast<std::size_t>(workers + 1));
    stop.cancel();
    tracker.close();
    co_await tracker.wait();
    EXPECT_EQ(log.exited.load(), workers + 1);
    EXPECT_TRUE(tracker.is_empty());
}

} // namespace

// ------------------------------------------------------------------ task_tracker

TAKO_TEST(task_tracker, wait_needs_close_and_every_task_ended) {
    co_await check_wait_needs_close_and_all_ended();
}

TAKO_TEST_MT(task_tracker, wait_needs_close_and_every_task_ended_two_workers) {
    co_await check_wait_needs_close_and_all_ended();
}

TAKO_TEST(task_tracker, graceful_shutdown) {
    co_await check_graceful_shutdown();
}

TAKO_TEST_MT(task_tracker, graceful_shutdown_two_workers) {
    co_await check_graceful_shutdown();
}

TAKO_TEST(task_tracker, close_reopen_and_empty_wait) {
    tako::task_tracker tracker;
    EXPECT_FALSE(tracker.reopen()); // not closed
    EXPECT_TRUE(tracker.close());
    co_await tracker.wait(); // closed and empty: at once
    EXPECT_TRUE(tracker.reopen());
    EXPECT_FALSE(tracker.is_closed());
    // Open and empty: wait() does not complete.
    auto w = tako::spawn([](tako::task_tracker t) -> tako::task<> { co_await t.wait(); }, tracker);
    co_await settle();
    EXPECT_FALSE(w.is_finished());
    tracker.close(); // closing an empty tracker wakes the waiters
    EXPECT_TRUE((co_await w).has_value());
}

TAKO_TEST(task_tracker, closed_tracker_still_tracks) {
    tako::task_tracker tracker;
    tracker.close();
    tako::sync::notify go;
    life l;
    auto h = tracker.spawn(wait_on, &go, &l);
    EXPECT_EQ(tracker.len(), 1u);
    auto w = tako::spawn([](tako::task_tracker t) -> tako::task<> { co_await t.wait(); }, tracker);
    co_await settle();
    EXPECT_FALSE(w.is_finished());
    go.notify_one();
    EXPECT_TRUE((co_await w).has_value());
    (void)co_await h;
}

TAKO_TEST(task_tracker, counts_tasks_spawned_as_task_values_and_callables) {
    tako::task_tracker tracker;
    auto a = tracker.spawn([]() -> tako::task<int> { co_return 1; }());
    std::string s = "abc";
    auto b = tracker.spawn([s]() -> tako::task<std::size_t> { co_return s.size(); });
    auto c = tracker.spawn([](int x) -> tako::task<int> { co_return x * 2; }, 21);
    EXPECT_EQ(tracker.len(), 3u);
    EXPECT_EQ((co_await a).value_or(0), 1);
    EXPECT_EQ((co_await b).value_or(0u), 3u);
    EXPECT_EQ((co_await c).value_or(0), 42);
    EXPECT_TRUE(tracker.is_empty());
}

TAKO_TEST(task_tracker, track_future_and_token) {
    tako::task_tracker tracker;
    {
        auto tok = tracker.token();
        EXPECT_EQ(tracker.len(), 1u);
        auto moved = std::move(tok);
        EXPECT_EQ(tracker.len(), 1u);
    }
    EXPECT_EQ(tracker.len(), 0u);
    {
        auto never_started = tracker.track_future(tako::yield_now());
        EXPECT_EQ(tracker.len(), 1u);
    }
    EXPECT_EQ(tracker.len(), 0u);
    auto t = tracker.track_future([]() -> tako::task<int> { co_return 7; }());
    EXPECT_EQ(tracker.len(), 1u);
    EXPECT_EQ(co_await std::move(t), 7);
    EXPECT_EQ(tracker.len(), 0u);
    // A spawned tracked future stops counting when its body ends.
    auto h = tako::spawn(tracker.track_future([]() -> tako::task<int> { co_return 8; }()));
    tracker.close();
    co_await tracker.wait();
    EXPECT_EQ((co_await h).value_or(0), 8);
}

TAKO_TEST(task_tracker, aborted_before_start_ends_tracking) {
    tako::task_tracker tracker;
    life l;
    tako::sync::notify never;
    auto h = tracker.spawn(wait_on, &never, &l);
    h.abort(); // before it ever ran
    tracker.close();
    co_await tracker.wait();
    EXPECT_TRUE(is_cancelled(co_await h));
    EXPECT_EQ(l.alive.load(), 0);
}

TAKO_TEST_MT(task_tracker, many_short_tasks_two_workers) {
    tako::task_tracker tracker;
    std::atomic<int> ran{0};
    for (int i = 0; i < 2000; ++i) {
        tracker
            .spawn(
                [](std::atomic<int>* ran) -> tako::task<> {
                    co_await tako::yield_now();
                    ran->fetch_add(1);
                },
                &ran)
            .detach();
    }
    tracker.close();
    co_await tracker.wait();
    EXPECT_EQ(ran.load(), 2000);
    EXPECT_TRUE(tracker.is_empty());
}

TEST(task_tracker, runtime_shutdown_ends_tracking) {
    tako::task_tracker tracker;
    tako::sync::notify never;
    life l;
    {
        tako::runtime rt = tako_test::mt().build();
        rt.block_on(
            [](tako::task_tracker tracker, tako::sync::notify* never, life* l) -> tako::task<void> {
                for (int i = 0; i < 5; ++i) {
                    tracker.spawn(wait_on, never, l).detach();
                }
                co_await tako::yield_now();
            }(tracker, &never, &l));
        EXPECT_EQ(tracker.len(), 5u);
    } // shutdown cancels the tasks
    EXPECT_TRUE(tracker.is_empty());
    EXPECT_EQ(l.alive.load(), 0);
}

// Awaiters that hold a handle of the token (cancelled(), run_until_cancelled) are moved
// into select branches: the token's handle count must come out right, or the child would
// leave the tree and miss its parent's cancel.
TAKO_TEST(cancellation_token, awaiter_handles_balance_through_select) {
    tako::cancellation_token root;
    auto child = root.child_token();
    for (int i = 0; i < 10; ++i) {
        auto r = co_await tako::select_biased(child.cancelled(), tako::yield_now());
        EXPECT_EQ(r.index(), 1u);
        auto v = co_await child.run_until_cancelled(tako::yield_now());
        EXPECT_TRUE(v.has_value());
        { auto unused = child.cancelled(); }
    }
    root.cancel();
    EXPECT_TRUE(child.is_cancelled());
}

namespace {

tako::task<void> check_racing_with_aborts() {
    tako::sync::once_cell<int> cell;
    init_counter inits;
    std::vector<tako::join_handle<int>> hs;
    for (int i = 0; i < 30; ++i) {
        hs.push_back(tako::spawn(get_counted, &cell, &inits, i));
    }
    for (std::size_t i = 0; i < hs.size(); i += 3) {
        hs[i].abort();
        co_await tako::yield_now();
    }
    int value = -1;
    for (auto& h : hs) {
        auto r = co_await h;
        if (!r.has_value()) {
            EXPECT_TRUE(r.error().is_cancelled());
            continue;
        }
        if (value < 0) {
            value = *r;
        }
        EXPECT_EQ(*r, value);
    }
    TAKO_CO_ASSERT(cell.get() != nullptr);
    if (value >= 0) {
        EXPECT_EQ(*cell.get(), value);
    }
    EXPECT_GE(inits.runs.load(), 1);
    EXPECT_LE(inits.runs.load(), 11); // at most the 10 aborted ones and the one that set it
}

} // namespace

TAKO_TEST_MT(once_cell, racing_with_aborts_two_workers) {
    for (int round = 0; round < 50; ++round) {
        co_await check_racing_with_aborts();
    }
}

TAKO_TEST(once_cell, racing_with_aborts_current_thread) {
    for (int round = 0; round < 20; ++round) {
        co_await check_racing_with_aborts();
    }
}
