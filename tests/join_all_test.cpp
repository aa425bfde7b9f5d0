// tako::join_all / tako::try_join_all over vectors of tasks, join handles and awaitables;
// the join_set additions (join_next_with_id, spawn_blocking, join_all, abort_all,
// detach_all); task ids starting at 1.

#include <tako/tako.hpp>
#include <tako/testing.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <expected>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using tako_test::life;
using tako_test::probe;

using int_or_error = std::expected<int, std::string>;

tako::task<int> after_yields(int v, int yields) {
    for (int i = 0; i < yields; ++i) {
        co_await tako::yield_now();
    }
    co_return v;
}

/// Yields `yields` times, then logs `v` and returns it.
tako::task<int> logged_after_yields(int v, int yields, std::vector<int>& log) {
    for (int i = 0; i < yields; ++i) {
        co_await tako::yield_now();
    }
    log.push_back(v);
    co_return v;
}

tako::task<int> wait_for(tako::sync::notify& n, int v) {
    co_await n.notified();
    co_return v;
}

tako::task<int> notify_then(tako::sync::notify& n, int v) {
    co_await tako::yield_now();
    n.notify_one();
    co_return v;
}

/// Holds a probe, counts itself started, and waits on a notify nobody signals.
tako::task<int> hold_forever(probe p, std::atomic<int>& started, tako::sync::notify& never) {
    started.fetch_add(1);
    co_await never.notified();
    co_return p.value();
}

tako::task<int_or_error> hold_forever_expected(probe p, std::atomic<int>& started,
                                               tako::sync::notify& never) {
    started.fetch_add(1);
    co_await never.notified();
    co_return p.value();
}

tako::task<int_or_error> ok_after(int v, int yields) {
    for (int i = 0; i < yields; ++i) {
        co_await tako::yield_now();
    }
    co_return v;
}

tako::task<int_or_error> error_after(std::string e, int yields) {
    for (int i = 0; i < yields; ++i) {
        co_await tako::yield_now();
    }
    co_return std::unexpected(std::move(e));
}

template <class E>
tako::task<int> throw_after(int yields, std::string what) {
    for (int i = 0; i < yields; ++i) {
        co_await tako::yield_now();
    }
    throw E(what);
}

tako::task<int_or_error> throw_expected_after(int yields) {
    co_await tako::yield_now();
    for (int i = 1; i < yields; ++i) {
        co_await tako::yield_now();
    }
    throw std::runtime_error("element threw");
}

/// Yields until `pred()` (bounded: a broken wake would otherwise hang the test).
template <class Pred>
tako::task<bool> yield_until(Pred pred) {
    tako_test::deadline d(5000ms);
    while (!pred()) {
        if (d.expired()) {
            co_return pred();
        }
        co_await tako::time::sleep(1ms);
    }
    co_return true;
}

} // namespace

// ------------------------------------------------------------------------------ join_all

TAKO_TEST(join_all, results_come_in_input_order) {
    // Element i finishes after 4 - i yields: they complete in reverse order.
    std::vector<int> finished;
    std::vector<tako::task<int>> ts;
    for (int i = 0; i < 4; ++i) {
        ts.push_back(logged_after_yields(i * 10, 4 - i, finished));
    }
    auto r = co_await tako::join_all(std::move(ts));
    EXPECT_EQ(r, (std::vector<int>{0, 10, 20, 30}));
    EXPECT_EQ(finished, (std::vector<int>{30, 20, 10, 0}));
}

TAKO_TEST(join_all, a_slow_first_element_does_not_delay_the_others) {
    // Element 0 can only finish after element 2 notifies it: run one after the other, this
    // would never complete (the timeout turns that into a failure instead of a hang).
    tako::sync::notify n;
    std::vector<tako::task<int>> ts;
    ts.push_back(wait_for(n, 1));
    ts.push_back(after_yields(2, 0));
    ts.push_back(notify_then(n, 3));
    auto r = co_await tako::time::timeout(5s, tako::join_all(std::move(ts)));
    TAKO_CO_ASSERT(r.has_value());
    EXPECT_EQ(*r, (std::vector<int>{1, 2, 3}));
}

TAKO_TEST(join_all, join_handles_give_expected_results) {
    std::vector<tako::join_handle<int>> hs;
    hs.push_back(tako::spawn(after_yields(7, 2)));
    tako::sync::notify never;
    hs.push_back(tako::spawn(wait_for(never, 0)));
    hs.push_back(tako::spawn(throw_after<std::runtime_error>(1, "spawned task threw")));
    const tako::task_id aborted = hs[1].id();
    hs[1].abort();
    auto r = co_await tako::join_all(std::move(hs));
    TAKO_CO_ASSERT_EQ(r.size(), 3u);
    TAKO_CO_ASSERT(r[0].has_value());
    EXPECT_EQ(*r[0], 7);
    TAKO_CO_ASSERT(!r[1].has_value());
    EXPECT_TRUE(r[1].error().is_cancelled());
    EXPECT_EQ(r[1].error().id(), aborted);
    TAKO_CO_ASSERT(!r[2].has_value());
    EXPECT_TRUE(r[2].error().is_panic());
}

TAKO_TEST(join_all, any_awaitable_by_value) {
    std::vector<tako::sync::oneshot::receiver<int>> rxs;
    std::vector<tako::join_handle<void>> senders;
    for (int i = 0; i < 3; ++i) {
        auto [tx, rx] = tako::sync::oneshot::channel<int>();
        rxs.push_back(std::move(rx));
        if (i == 1) {
            continue; // tx dropped: the receiver reports `closed`
        }
        senders.push_back(tako::spawn(
            [](tako::sync::oneshot::sender<int> s, int v) -> tako::task<void> {
                co_await tako::yield_now();
                (void)s.send(v);
            },
            std::move(tx), i * 100));
    }
    auto r = co_await tako::join_all(std::move(rxs));
    TAKO_CO_ASSERT_EQ(r.size(), 3u);
    EXPECT_EQ(r[0], 0);
    EXPECT_EQ(r[1], std::unexpected(tako::sync::oneshot::recv_error::closed));
    EXPECT_EQ(r[2], 200);
    auto done = co_await tako::join_all(std::move(senders));
    EXPECT_TRUE(std::ranges::all_of(done, [](const auto& d) { return d.has_value(); }));
}

TAKO_TEST(join_all, void_elements_give_monostate) {
    int ran = 0;
    auto bump = [](int& counter) -> tako::task<void> {
        co_await tako::yield_now();
        ++counter;
    };
    std::vector<tako::task<void>> ts;
    for (int i = 0; i < 5; ++i) {
        ts.push_back(bump(ran));
    }
    std::vector<std::monostate> r = co_await tako::join_all(std::move(ts));
    EXPECT_EQ(r.size(), 5u);
    EXPECT_EQ(ran, 5);
}

TAKO_TEST(join_all, empty_vectors_complete_at_once) {
    auto a = co_await tako::join_all(std::vector<tako::task<int>>{});
    EXPECT_TRUE(a.empty());
    auto b = co_await tako::join_all(std::vector<tako::join_handle<int>>{});
    EXPECT_TRUE(b.empty());
    auto c = co_await tako::try_join_all(std::vector<tako::task<int_or_error>>{});
    TAKO_CO_ASSERT(c.has_value());
    EXPECT_TRUE(c->empty());
}

TAKO_TEST(join_all, first_exception_in_input_order_after_all_finished) {
    std::vector<int> finished;
    std::vector<tako::task<int>> ts;
    ts.push_back(throw_after<std::runtime_error>(3, "element 0"));
    ts.push_back(throw_after<std::logic_error>(0, "element 1")); // throws first in time
    ts.push_back(logged_after_yields(2, 10, finished));
    std::string what;
    try {
        (void)co_await tako::join_all(std::move(ts));
    } catch (const std::runtime_error& e) {
        what = e.what();
    } catch (const std::logic_error& e) {
        what = std::string("wrong exception: ") + e.what();
    }
    EXPECT_EQ(what, "element 0");
    EXPECT_EQ(finished, std::vector<int>{2}); // the last element ran to completion first
}

TAKO_TEST(join_all, an_empty_task_is_rejected_and_the_others_destroyed) {
    life l;
    std::atomic<int> started{0};
    tako::sync::notify never;
    std::vector<tako::task<int>> ts;
    ts.push_back(hold_forever(probe(l, 1), started, never));
    ts.push_back(tako::task<int>{});
    bool threw = false;
    try {
        (void)co_await tako::join_all(std::move(ts));
    } catch (const std::logic_error&) {
        threw = true;
    }
    EXPECT_TRUE(threw);
    EXPECT_EQ(started.load(), 0);
    EXPECT_EQ(l.alive.load(), 0);
}

namespace {

/// Spawns a task that join_alls `n` elements holding probes (plus one that finishes),
/// waits until all have started, aborts it, and checks every element was destroyed.
tako::task<void> cancel_a_join_all(int n) {
    life l;
    std::atomic<int> started{0};
    tako::sync::notify never;
    auto h = tako::spawn([&l, &started, &never, n]() -> tako::task<int> {
        std::vector<tako::task<int>> ts;
        for (int i = 0; i < n; ++i) {
            ts.push_back(hold_forever(probe(l, i), started, never));
        }
        ts.push_back(after_yields(-1, 1));
        auto r = co_await tako::join_all(std::move(ts));
        co_return static_cast<int>(r.size());
    });
    auto all_in = [&] { return started.load() == n; };
    const bool all_started = co_await yield_until(all_in);
    EXPECT_TRUE(all_started);
    EXPECT_EQ(l.alive.load(), n);
    h.abort();
    auto r = co_await h;
    TAKO_CO_ASSERT(!r.has_value());
    EXPECT_TRUE(r.error().is_cancelled());
    EXPECT_EQ(l.alive.load(), 0);
}

} // namespace

TAKO_TEST(join_all, cancelling_destroys_every_unfinished_element) {
    co_await cancel_a_join_all(8);
}

TAKO_TEST_MT(join_all, cancelling_destroys_every_unfinished_element_mt) {
    co_await cancel_a_join_all(8);
}

TAKO_TEST(join_all, nested_in_join_and_join_all) {
    // The elements of the inner join_all are woken by another branch of the outer join:
    // their flags must chain up through the join_all to the join.
    tako::sync::notify n0, n1, n2;
    auto notifier = [](tako::sync::notify& a, tako::sync::notify& b,
                       tako::sync::notify& c) -> tako::task<int> {
        co_await tako::yield_now();
        c.notify_one();
        co_await tako::yield_now();
        a.notify_one();
        co_await tako::yield_now();
        b.notify_one();
        co_return 0;
    };
    std::vector<tako::task<int>> waiters;
    waiters.push_back(wait_for(n0, 0));
    waiters.push_back(wait_for(n1, 1));
    waiters.push_back(wait_for(n2, 2));
    auto inner = tako::join_all(std::move(waiters));
    auto both =
        co_await tako::time::timeout(5s, tako::join(std::move(inner), notifier(n0, n1, n2)));
    TAKO_CO_ASSERT(both.has_value());
    EXPECT_EQ(std::get<0>(*both), (std::vector<int>{0, 1, 2}));

    // A join_all of join_alls.
    std::vector<tako::task<std::vector<int>>> outer;
    for (int k = 0; k < 3; ++k) {
        std::vector<tako::task<int>> row;
        for (int i = 0; i < 3; ++i) {
            row.push_back(after_yields(k * 3 + i, (k + i) % 3));
        }
        outer.push_back(tako::join_all(std::move(row)));
    }
    auto grid = co_await tako::join_all(std::move(outer));
    EXPECT_EQ(grid, (std::vector<std::vector<int>>{{0, 1, 2}, {3, 4, 5}, {6, 7, 8}}));
}

TAKO_TEST(join_all, inside_select_the_loser_is_destroyed) {
    life l;
    std::atomic<int> started{0};
    tako::sync::notify never, go;
    std::vector<tako::task<int>> ts;
    for (int i = 0; i < 3; ++i) {
        ts.push_back(hold_forever(probe(l, i), started, never));
    }
    go.notify_one();
    auto r = co_await tako::select(tako::join_all(std::move(ts)), go.notified());
    EXPECT_EQ(r.index(), 1u);
    EXPECT_EQ(l.alive.load(), 0);
}

TAKO_TEST(join_all, many_elements) {
    std::vector<tako::task<int>> ts;
    for (int i = 0; i < 1000; ++i) {
        ts.push_back(after_yields(i, i % 7));
    }
    auto r = co_await tako::join_all(std::move(ts));
    TAKO_CO_ASSERT_EQ(r.size(), 1000u);
    for (int i = 0; i < 1000; ++i) {
        EXPECT_EQ(r[static_cast<std::size_t>(i)], i);
    }
}

TAKO_TEST_MT(join_all, elements_woken_from_other_threads) {
    for (int round = 0; round < 200; ++round) {
        std::vector<tako::sync::oneshot::receiver<int>> rxs;
        std::vector<tako::join_handle<void>> senders;
        for (int i = 0; i < 4; ++i) {
            auto [tx, rx] = tako::sync::oneshot::channel<int>();
            rxs.push_back(std::move(rx));
            senders.push_back(tako::spawn(
                [](tako::sync::oneshot::sender<int> s, int v) -> tako::task<void> {
                    (void)s.send(v);
                    co_return;
                },
                std::move(tx), i));
        }
        auto r = co_await tako::join_all(std::move(rxs));
        TAKO_CO_ASSERT_EQ(r.size(), 4u);
        for (int i = 0; i < 4; ++i) {
            EXPECT_EQ(r[static_cast<std::size_t>(i)], i);
        }
        (void)co_await tako::join_all(std::move(senders));
    }
}

TAKO_TEST_MT(join_all, spawned_handles_on_a_multi_thread_runtime) {
    std::vector<tako::join_handle<int>> hs;
    for (int i = 0; i < 64; ++i) {
        hs.push_back(tako::spawn(after_yields(i, i % 5)));
    }
    auto r = co_await tako::join_all(std::move(hs));
    TAKO_CO_ASSERT_EQ(r.size(), 64u);
    for (int i = 0; i < 64; ++i) {
        EXPECT_EQ(r[static_cast<std::size_t>(i)].value_or(-1), i);
    }
}

// -------------------------------------------------------------------------- try_join_all

TAKO_TEST(try_join_all, all_values_in_input_order) {
    std::vector<tako::task<int_or_error>> ts;
    for (int i = 0; i < 5; ++i) {
        ts.push_back(ok_after(i, 5 - i));
    }
    auto r = co_await tako::try_join_all(std::move(ts));
    TAKO_CO_ASSERT(r.has_value());
    EXPECT_EQ(*r, (std::vector<int>{0, 1, 2, 3, 4}));
}

namespace {

tako::task<void> first_error_short_circuits() {
    // Elements 0 and 3 never finish; element 1 fails after one yield. Without the
    // short-circuit the timeout would expire.
    life l;
    std::atomic<int> started{0};
    tako::sync::notify never;
    std::vector<tako::task<int_or_error>> ts;
    ts.push_back(hold_forever_expected(probe(l, 0), started, never));
    ts.push_back(error_after("element 1 failed", 1));
    ts.push_back(ok_after(2, 0));
    ts.push_back(hold_forever_expected(probe(l, 3), started, never));
    ts.push_back(error_after("element 4 failed later", 3));
    auto r = co_await tako::time::timeout(5s, tako::try_join_all(std::move(ts)));
    TAKO_CO_ASSERT(r.has_value()); // no timeout
    TAKO_CO_ASSERT(!r->has_value());
    EXPECT_EQ(r->error(), "element 1 failed");
    EXPECT_EQ(started.load(), 2); // both holders had started …
    EXPECT_EQ(l.alive.load(), 0); // … and were destroyed before try_join_all completed
}

} // namespace

TAKO_TEST(try_join_all, first_error_completes_at_once_and_destroys_the_rest) {
    co_await first_error_short_circuits();
}

TAKO_TEST_MT(try_join_all, first_error_completes_at_once_and_destroys_the_rest_mt) {
    co_await first_error_short_circuits();
}

TAKO_TEST(try_join_all, an_exception_destroys_the_rest_and_is_rethrown) {
    life l;
    std::atomic<int> started{0};
    tako::sync::notify never;
    std::vector<tako::task<int_or_error>> ts;
    ts.push_back(hold_forever_expected(probe(l, 0), started, never));
    ts.push_back(throw_expected_after(2));
    bool threw = false;
    try {
        (void)co_await tako::try_join_all(std::move(ts));
    } catch (const std::runtime_error&) {
        threw = true;
    }
    EXPECT_TRUE(threw);
    EXPECT_EQ(started.load(), 1);
    EXPECT_EQ(l.alive.load(), 0);
}

TAKO_TEST(try_join_all, void_values) {
    auto ok = [](int yields) -> tako::task<std::expected<void, int>> {
        for (int i = 0; i < yields; ++i) {
            co_await tako::yield_now();
        }
        co_return {};
    };
    std::vector<tako::task<std::expected<void, int>>> ts;
    ts.push_back(ok(2));
    ts.push_back(ok(0));
    auto r = co_await tako::try_join_all(std::move(ts));
    TAKO_CO_ASSERT(r.has_value());
    EXPECT_EQ(r->size(), 2u);
}

TAKO_TEST(try_join_all, join_handles_stop_at_the_first_failed_task) {
    std::vector<tako::join_handle<int>> ok;
    for (int i = 0; i < 3; ++i) {
        ok.push_back(tako::spawn(after_yields(i, 3 - i)));
    }
    auto all = co_await tako::try_join_all(std::move(ok));
    TAKO_CO_ASSERT(all.has_value());
    EXPECT_EQ(*all, (std::vector<int>{0, 1, 2}));

    tako::sync::notify never;
    std::vector<tako::join_handle<int>> hs;
    hs.push_back(tako::spawn(wait_for(never, 0)));
    hs.push_back(tako::spawn(wait_for(never, 1)));
    const tako::task_id aborted = hs[1].id();
    auto keep = hs[0].get_abort_handle();
    hs[1].abort();
    auto r = co_await tako::try_join_all(std::move(hs));
    TAKO_CO_ASSERT(!r.has_value());
    EXPECT_TRUE(r.error().is_cancelled());
    EXPECT_EQ(r.error().id(), aborted);
    // The other handle was dropped (detached), not aborted: the task still waits.
    co_await tako::yield_now();
    EXPECT_FALSE(keep.is_finished());
    keep.abort();
    // It waits on `never`, a local of this body: let it end before the body does.
    auto ended = [&] { return keep.is_finished(); };
    const bool aborted_in_time = co_await yield_until(ended);
    EXPECT_TRUE(aborted_in_time);
}

TAKO_TEST_MT(try_join_all, elements_woken_from_other_threads) {
    for (int round = 0; round < 100; ++round) {
        std::vector<tako::sync::oneshot::receiver<int>> rxs;
        for (int i = 0; i < 3; ++i) {
            auto [tx, rx] = tako::sync::oneshot::channel<int>();
            rxs.push_back(std::move(rx));
            if (i == 2 && round % 2 == 1) {
                continue; // dropped sender: try_join_all fails with `closed`
            }
            tako::spawn(
                [](tako::sync::oneshot::sender<int> s, int v) -> tako::task<void> {
                    (void)s.send(v);
                    co_return;
                },
                std::move(tx), i)
                .detach();
        }
        auto r = co_await tako::try_join_all(std::move(rxs));
        if (round % 2 == 0) {
            TAKO_CO_ASSERT(r.has_value());
            EXPECT_EQ(*r, (std::vector<int>{0, 1, 2}));
        } else {
            TAKO_CO_ASSERT(!r.has_value());
            EXPECT_EQ(r.error(), tako::sync::oneshot::recv_error::closed);
        }
    }
}

// ------------------------------------------------------------------------------ join_set

namespace {

tako::task<void> ids_match_spawned_tasks() {
    tako::join_set<int> set;
    tako::sync::notify never;
    std::map<std::uint64_t, int> expected_value;
    for (int i = 0; i < 5; ++i) {
        auto ah = set.spawn(after_yields(i, i));
        expected_value[ah.id().value] = i;
    }
    auto cancelled = set.spawn(wait_for(never, -1));
    cancelled.abort();
    std::map<std::uint64_t, int> seen;
    bool saw_cancelled = false;
    for (;;) {
        auto r = co_await set.join_next_with_id();
        if (!r) {
            break;
        }
        auto& [id, result] = *r;
        if (id == cancelled.id()) {
            TAKO_CO_ASSERT(!result.has_value());
            EXPECT_TRUE(result.error().is_cancelled());
            EXPECT_EQ(result.error().id(), id);
            saw_cancelled = true;
            continue;
        }
        TAKO_CO_ASSERT(result.has_value());
        seen[id.value] = *result;
    }
    EXPECT_TRUE(saw_cancelled);
    EXPECT_EQ(seen, expected_value);
    EXPECT_TRUE(set.empty());
}

} // namespace

TAKO_TEST(join_set_additions, join_next_with_id_gives_the_spawned_ids) {
    co_await ids_match_spawned_tasks();
}

TAKO_TEST_MT(join_set_additions, join_next_with_id_gives_the_spawned_ids_mt) {
    co_await ids_match_spawned_tasks();
}

TAKO_TEST(join_set_additions, try_join_next_with_id) {
    tako::join_set<int> set;
    auto ah = set.spawn(after_yields(5, 0));
    EXPECT_FALSE(set.try_join_next_with_id().has_value()); // not run yet
    auto finished = [&] { return ah.is_finished(); };
    const bool done = co_await yield_until(finished);
    EXPECT_TRUE(done);
    auto r = set.try_join_next_with_id();
    TAKO_CO_ASSERT(r.has_value());
    EXPECT_EQ(r->first, ah.id());
    EXPECT_EQ(r->second.value_or(-1), 5);
    EXPECT_TRUE(set.empty());
}

TAKO_TEST(join_set_additions, spawn_blocking_runs_on_a_blocking_thread) {
    // On a current_thread runtime the test body's thread is the only runtime thread. The
    // blocking closure waits for a flag that only this task sets after seeing it start: run
    // on the runtime thread, it could never see the flag.
    tako::join_set<std::thread::id> set;
    auto state = std::make_shared<std::pair<std::atomic<bool>, std::atomic<bool>>>();
    auto ah = set.spawn_blocking([state] {
        state->first.store(true); // started
        tako_test::wait_until([&] { return state->second.load(); });
        return std::this_thread::get_id();
    });
    auto in_closure = [&] { return state->first.load(); };
    const bool started = co_await yield_until(in_closure);
    TAKO_CO_ASSERT(started);
    EXPECT_GE(tako::runtime_handle::current().metrics().num_blocking_threads, 1u);
    EXPECT_EQ(set.size(), 1u);
    state->second.store(true);
    auto r = co_await set.join_next_with_id();
    TAKO_CO_ASSERT(r.has_value());
    EXPECT_EQ(r->first, ah.id());
    TAKO_CO_ASSERT(r->second.has_value());
    EXPECT_NE(*r->second, std::this_thread::get_id());
    EXPECT_TRUE(set.empty());
}

TAKO_TEST_MT(join_set_additions, spawn_blocking_mixed_with_tasks) {
    tako::join_set<int> set;
    std::map<std::uint64_t, int> want;
    for (int i = 0; i < 8; ++i) {
        auto ah = i % 2 == 0 ? set.spawn(after_yields(i, i)) : set.spawn_blocking([i] {
            std::this_thread::sleep_for(1ms);
            return i;
        });
        want[ah.id().value] = i;
    }
    auto blocking_args = set.spawn_blocking([](int a, int b) { return a * b; }, 6, 7);
    want[blocking_args.id().value] = 42;
    auto task_args =
        set.spawn([](std::string s) -> tako::task<int> { co_return static_cast<int>(s.size()); },
                  std::string(9, 'z'));
    want[task_args.id().value] = 9;
    std::map<std::uint64_t, int> got;
    for (;;) {
        auto r = co_await set.join_next_with_id();
        if (!r) {
            break;
        }
        got[r->first.value] = r->second.value_or(-1);
    }
    EXPECT_EQ(got, want);
}

TEST(join_set_additions, a_blocking_task_aborted_before_it_starts_is_cancelled) {
    // One blocking thread, busy with `first` until the gate opens: `second` is still queued
    // when it is aborted, so it never runs.
    auto rt = tako::runtime::builder::current_thread().max_blocking_threads(1).build();
    auto gate = std::make_shared<std::atomic<bool>>(false);
    auto second_ran = std::make_shared<std::atomic<bool>>(false);
    auto results = rt.block_on([gate, second_ran]() -> tako::task<std::vector<int>> {
        tako::join_set<int> set;
        set.spawn_blocking([gate] {
            tako_test::wait_until([&] { return gate->load(); });
            return 1;
        });
        auto second = set.spawn_blocking([second_ran] {
            second_ran->store(true);
            return 2;
        });
        second.abort();
        gate->store(true);
        std::vector<int> out; // 1 for `first`'s value, -1 for a cancelled task
        for (;;) {
            auto r = co_await set.join_next();
            if (!r) {
                break;
            }
            out.push_back(r->has_value() ? **r : (r->error().is_cancelled() ? -1 : -2));
        }
        std::ranges::sort(out);
        co_return out;
    });
    EXPECT_EQ(results, (std::vector<int>{-1, 1}));
    EXPECT_FALSE(second_ran->load());
}

TAKO_TEST(join_set_additions, join_all_in_completion_order) {
    tako::join_set<int> set;
    const int yields[] = {3, 1, 4, 2}; // task i finishes after yields[i] yields
    for (int i = 0; i < 4; ++i) {
        set.spawn(after_yields(i, yields[i]));
    }
    auto all = co_await set.join_all();
    EXPECT_EQ(all, (std::vector<int>{1, 3, 0, 2}));
    EXPECT_TRUE(set.empty());
    auto none = co_await set.join_all();
    EXPECT_TRUE(none.empty());
}

TAKO_TEST_MT(join_set_additions, join_all_collects_every_value) {
    tako::join_set<int> set;
    for (int i = 0; i < 100; ++i) {
        set.spawn(after_yields(i, i % 3));
    }
    auto all = co_await set.join_all();
    std::ranges::sort(all);
    TAKO_CO_ASSERT_EQ(all.size(), 100u);
    for (int i = 0; i < 100; ++i) {
        EXPECT_EQ(all[static_cast<std::size_t>(i)], i);
    }
}

TAKO_TEST(join_set_additions, join_all_of_void_tasks) {
    tako::join_set<void> set;
    int ran = 0;
    for (int i = 0; i < 3; ++i) {
        set.spawn([&ran]() -> tako::task<void> {
            ++ran;
            co_return;
        });
    }
    std::vector<std::monostate> all = co_await set.join_all();
    EXPECT_EQ(all.size(), 3u);
    EXPECT_EQ(ran, 3);
}

namespace {

tako::task<void> join_all_rethrows_and_aborts() {
    life l;
    std::atomic<int> started{0};
    tako::sync::notify never;
    tako::join_set<int> set;
    set.spawn(hold_forever(probe(l, 0), started, never));
    set.spawn(hold_forever(probe(l, 1), started, never));
    set.spawn(throw_after<std::runtime_error>(2, "boom"));
    std::string what;
    try {
        (void)co_await set.join_all();
    } catch (const std::runtime_error& e) {
        what = e.what();
    }
    EXPECT_EQ(what, "boom");
    EXPECT_EQ(started.load(), 2);
    // The other tasks were aborted; they stay in the set until joined.
    EXPECT_EQ(set.size(), 2u);
    int cancelled = 0;
    for (;;) {
        auto r = co_await set.join_next();
        if (!r) {
            break;
        }
        cancelled += (!r->has_value() && r->error().is_cancelled()) ? 1 : 0;
    }
    EXPECT_EQ(cancelled, 2);
    EXPECT_EQ(l.alive.load(), 0);
}

} // namespace

TAKO_TEST(join_set_additions, join_all_rethrows_a_failure_and_aborts_the_rest) {
    co_await join_all_rethrows_and_aborts();
}

TAKO_TEST_MT(join_set_additions, join_all_rethrows_a_failure_and_aborts_the_rest_mt) {
    co_await join_all_rethrows_and_aborts();
}

TAKO_TEST(join_set_additions, join_all_reports_a_cancelled_task) {
    tako::join_set<int> set;
    tako::sync::notify never;
    set.spawn(after_yields(1, 0));
    auto victim = set.spawn(wait_for(never, 2));
    victim.abort();
    std::optional<tako::task_id> cancelled_id;
    try {
        (void)co_await set.join_all();
    } catch (const tako::task_cancelled& e) {
        cancelled_id = e.id();
    }
    TAKO_CO_ASSERT(cancelled_id.has_value());
    EXPECT_EQ(*cancelled_id, victim.id());
}

TAKO_TEST(join_set_additions, abort_all_cancels_every_task) {
    life l;
    std::atomic<int> started{0};
    tako::sync::notify never;
    tako::join_set<int> set;
    for (int i = 0; i < 4; ++i) {
        set.spawn(hold_forever(probe(l, i), started, never));
    }
    auto all_in = [&] { return started.load() == 4; };
    const bool all_started = co_await yield_until(all_in);
    EXPECT_TRUE(all_started);
    set.abort_all();
    EXPECT_EQ(set.size(), 4u); // still in the set until joined
    int cancelled = 0;
    for (;;) {
        auto r = co_await set.join_next();
        if (!r) {
            break;
        }
        cancelled += (!r->has_value() && r->error().is_cancelled()) ? 1 : 0;
    }
    EXPECT_EQ(cancelled, 4);
    EXPECT_EQ(l.alive.load(), 0);
}

TAKO_TEST(join_set_additions, detach_all_lets_the_tasks_run_on) {
    tako::join_set<int> set;
    tako::sync::notify go;
    auto finished = std::make_shared<std::atomic<int>>(0);
    for (int i = 0; i < 3; ++i) {
        set.spawn(
            [](tako::sync::notify& g, std::shared_ptr<std::atomic<int>> f) -> tako::task<int> {
                co_await g.notified();
                g.notify_one(); // pass it on
                f->fetch_add(1);
                co_return 0;
            },
            std::ref(go), finished);
    }
    set.detach_all();
    EXPECT_TRUE(set.empty());
    auto none = co_await set.join_next();
    EXPECT_FALSE(none.has_value());
    go.notify_one();
    auto all_done = [&] { return finished->load() == 3; };
    const bool all = co_await yield_until(all_done);
    EXPECT_TRUE(all);
    // The set still works after detach_all.
    set.spawn(after_yields(9, 1));
    auto r = co_await set.join_next();
    TAKO_CO_ASSERT(r.has_value());
    EXPECT_EQ(r->value_or(-1), 9);
}

// ------------------------------------------------------------------------------ task ids

TAKO_TEST_MT(task_ids, are_dense_across_threads) {
    // Ids come from one counter: a task spawned from a worker gets the next id, not one
    // from a per-thread block of 1024.
    const auto here = tako::current_task_id();
    TAKO_CO_ASSERT(here.has_value());
    auto h = tako::spawn([]() -> tako::task<std::uint64_t> {
        auto inner = tako::spawn([]() -> tako::task<std::uint64_t> {
            co_return tako::current_task_id().value_or(tako::task_id{}).value;
        });
        co_return (co_await inner).value_or(0);
    });
    const std::uint64_t inner_id = (co_await h).value_or(0);
    EXPECT_GT(inner_id, here->value);
    EXPECT_LT(inner_id, here->value + 16);
}

namespace {

/// The ids of the first task of a fresh process and of a task it spawns: 0 exit code if
/// they are 1 and a small number.
int first_task_ids_exit_code() {
    using ids = std::pair<std::uint64_t, std::uint64_t>;
    auto rt = tako::runtime::builder::multi_thread().worker_threads(2).build();
    const ids got = rt.block_on([]() -> tako::task<ids> {
        const std::uint64_t root = tako::current_task_id().value_or(tako::task_id{}).value;
        auto h = tako::spawn([]() -> tako::task<std::uint64_t> {
            co_return tako::current_task_id().value_or(tako::task_id{}).value;
        });
        const std::uint64_t child = (co_await h).value_or(0);
        co_return ids{root, child};
    });
    return got.first == 1 && got.second > 1 && got.second < 8 ? 0 : 1;
}

} // namespace

TEST(task_ids, start_at_one) {
    // In a fresh process (the threadsafe death-test child re-runs only this test), the
    // first task gets id 1 and the next ones follow, on any thread.
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    EXPECT_EXIT(std::exit(first_task_ids_exit_code()), ::testing::ExitedWithCode(0), "");
}

TAKO_TEST(join_set, a_moved_from_set_is_empty_and_usable) {
    tako::join_set<int> a;
    a.spawn([]() -> tako::task<int> { co_return 1; });
    tako::join_set<int> b = std::move(a);
    EXPECT_TRUE(a.empty()); // NOLINT(bugprone-use-after-move): the documented state
    a.detach_all();         // no shared state: must not crash
    EXPECT_FALSE(co_await a.join_next());
    a.spawn([]() -> tako::task<int> { co_return 2; }); // makes fresh state
    EXPECT_EQ((co_await a.join_next()).value().value(), 2);
    EXPECT_EQ((co_await b.join_next()).value().value(), 1);
}
