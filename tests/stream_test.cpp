// tako::stream<T>: the generator, its adapters, sources, merge, stream_map and wrappers.
// Exact sequences, laziness, exceptions, destruction while suspended, and cancel safety of
// next() (a next() cancelled mid-item loses nothing) for every adapter.

#include <tako/stream.hpp>
#include <tako/tako.hpp>
#include <tako/testing.hpp>

#include "test_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;
using tako::stream;
using tako::time::instant;
namespace streams = tako::streams;
using tako_test::life;
using tako_test::probe;

static_assert(!std::is_copy_constructible_v<stream<int>>);
static_assert(std::is_nothrow_move_constructible_v<stream<int>>);
static_assert(tako::stream_type<stream<int>>);

stream<int> counting(int from, int to, int* started = nullptr) {
    if (started != nullptr) {
        ++*started;
    }
    for (int i = from; i < to; ++i) {
        co_yield i;
    }
}

/// Yields from..to-1, sleeping `gap` before each item (paused clock: exact).
stream<int> slow_counting(int from, int to, tako::time::duration gap) {
    for (int i = from; i < to; ++i) {
        co_await tako::time::sleep(gap);
        co_yield i;
    }
}

template <class T>
tako::task<std::vector<T>> drain(stream<T>& s) {
    std::vector<T> out;
    while (auto v = co_await s.next()) {
        out.push_back(std::move(*v));
    }
    co_return out;
}

/// Pulls every item, each next() first raced (and lost) against a 1 ms sleep as often as
/// it takes: every cancelled next() must leave the stream able to continue where it was.
template <class T>
tako::task<std::vector<T>> drain_impatiently(stream<T>& s, int* cancelled) {
    std::vector<T> out;
    for (;;) {
        auto r = co_await tako::time::timeout(1ms, s.next());
        if (!r) {
            ++*cancelled;
            continue;
        }
        if (!*r) {
            co_return out;
        }
        out.push_back(std::move(**r));
    }
}

// ---- the generator -------------------------------------------------------------------

TAKO_TEST(stream_core, yields_in_order_then_nullopt_for_ever) {
    auto s = counting(0, 3);
    EXPECT_EQ(co_await s.next(), std::optional<int>(0));
    EXPECT_EQ(co_await s.next(), std::optional<int>(1));
    EXPECT_EQ(co_await s.next(), std::optional<int>(2));
    EXPECT_EQ(co_await s.next(), std::nullopt);
    EXPECT_TRUE(s.done());
    EXPECT_EQ(co_await s.next(), std::nullopt);
}

TAKO_TEST(stream_core, is_lazy) {
    int started = 0;
    auto s = counting(0, 2, &started);
    EXPECT_EQ(started, 0);
    EXPECT_EQ(co_await s.next(), std::optional<int>(0));
    EXPECT_EQ(started, 1);
}

TAKO_TEST(stream_core, moved_from_stream_throws_logic_error) {
    auto s = counting(0, 2);
    auto t = std::move(s);
    EXPECT_FALSE(s.valid()); // NOLINT(bugprone-use-after-move): the point of the test
    bool threw = false;
    try {
        (void)co_await s.next();
    } catch (const std::logic_error&) {
        threw = true;
    }
    EXPECT_TRUE(threw);
    EXPECT_EQ(co_await t.next(), std::optional<int>(0));
}

TAKO_TEST_PAUSED(stream_core, awaits_inside_the_body) {
    const instant t0 = instant::now();
    auto s = slow_counting(0, 3, 10ms);
    auto all = co_await drain(s);
    EXPECT_EQ(all, (std::vector<int>{0, 1, 2}));
    EXPECT_EQ(instant::now() - t0, std::chrono::nanoseconds(30ms));
}

stream<int> throws_after(int n) {
    for (int i = 0; i < n; ++i) {
        co_yield i;
    }
    throw std::runtime_error("boom");
}

TAKO_TEST(stream_core, exception_propagates_from_next_then_the_stream_is_done) {
    auto s = throws_after(1);
    EXPECT_EQ(co_await s.next(), std::optional<int>(0));
    std::string what;
    try {
        (void)co_await s.next();
    } catch (const std::runtime_error& e) {
        what = e.what();
    }
    EXPECT_EQ(what, "boom");
    EXPECT_TRUE(s.done());
    EXPECT_EQ(co_await s.next(), std::nullopt);
}

stream<int> holding(life& l, tako::sync::oneshot::receiver<int> rx) {
    probe p(l, 1);
    co_yield 1;
    probe q(l, 2);
    auto v = co_await std::move(rx); // waits mid-item
    co_yield v ? *v : -1;
}

TAKO_TEST(stream_core, destroying_a_stream_suspended_at_a_yield_runs_destructors) {
    life l;
    auto [tx, rx] = tako::sync::oneshot::channel<int>();
    {
        auto s = holding(l, std::move(rx));
        EXPECT_EQ(co_await s.next(), std::optional<int>(1));
        EXPECT_EQ(l.alive.load(), 1);
    }
    EXPECT_EQ(l.alive.load(), 0);
    EXPECT_TRUE(tx.is_closed());
}

TAKO_TEST(stream_core, destroying_a_stream_suspended_mid_item_runs_destructors_and_unregisters) {
    life l;
    auto [tx, rx] = tako::sync::oneshot::channel<int>();
    {
        auto s = holding(l, std::move(rx));
        EXPECT_EQ(co_await s.next(), std::optional<int>(1));
        auto r = co_await tako::time::timeout(1ms, s.next()); // parks the body on rx
        EXPECT_FALSE(r.has_value());
        EXPECT_EQ(l.alive.load(), 2);
    }
    EXPECT_EQ(l.alive.load(), 0);
    EXPECT_TRUE(tx.is_closed()); // the receiver (and its wait) went with the frame
}

TAKO_TEST(stream_core, cancelled_next_loses_nothing_and_the_body_resumes_where_it_was) {
    life l;
    auto [tx, rx] = tako::sync::oneshot::channel<int>();
    auto s = holding(l, std::move(rx));
    EXPECT_EQ(co_await s.next(), std::optional<int>(1));
    for (int i = 0; i < 3; ++i) {
        auto r = co_await tako::time::timeout(1ms, s.next());
        EXPECT_FALSE(r.has_value());
    }
    EXPECT_EQ(l.constructed.load(), 2); // q was built once: the body was not restarted
    auto sender = std::move(tx);
    auto sent = [&sender] { return sender.send(42); };
    EXPECT_TRUE(sent().has_value());
    EXPECT_EQ(co_await s.next(), std::optional<int>(42));
    EXPECT_EQ(co_await s.next(), std::nullopt);
}

TAKO_TEST(stream_core, next_from_another_task_after_a_cancelled_next_throws) {
    auto [tx, rx] = tako::sync::oneshot::channel<int>();
    life l;
    auto s = holding(l, std::move(rx));
    EXPECT_EQ(co_await s.next(), std::optional<int>(1));
    EXPECT_FALSE((co_await tako::time::timeout(1ms, s.next())).has_value());
    auto other = [&s]() -> tako::task<bool> {
        try {
            (void)co_await s.next();
        } catch (const std::logic_error&) {
            co_return true;
        }
        co_return false;
    };
    auto h = tako::spawn(other);
    auto threw = co_await std::move(h);
    EXPECT_TRUE(threw.has_value() && *threw);
    // Back in the owning task it goes on.
    EXPECT_TRUE(tx.send(7).has_value());
    EXPECT_EQ(co_await s.next(), std::optional<int>(7));
}

TAKO_TEST_PAUSED(stream_core, a_select_inside_the_body_works) {
    auto body = []() -> stream<int> {
        for (int i = 0; i < 3; ++i) {
            auto r = co_await tako::select(tako::time::sleep(10ms), tako::time::sleep(5ms));
            co_yield static_cast<int>(r.index());
        }
    };
    auto s = body();
    {
        auto got = co_await drain(s);
        EXPECT_EQ(got, (std::vector<int>{1, 1, 1}));
    }
}

TAKO_TEST_PAUSED(stream_core, next_inside_a_select_branch_of_a_join) {
    auto s = slow_counting(0, 2, 10ms);
    auto a = [&s]() -> tako::task<std::vector<int>> { co_return co_await drain(s); };
    auto [got, slept] = co_await tako::join(a(), tako::time::sleep(15ms));
    (void)slept;
    EXPECT_EQ(got, (std::vector<int>{0, 1}));
}

TAKO_TEST_MT(stream_core, consumed_across_workers_with_a_channel_source) {
    auto [tx, rx] = tako::sync::mpsc::channel<int>(4);
    auto producer = [tx = std::move(tx)]() mutable -> tako::task<void> {
        for (int i = 0; i < 2000; ++i) {
            (void)co_await tx.send(i);
        }
    };
    auto consumer = [rx = std::move(rx)]() mutable -> tako::task<long> {
        auto s = streams::from_receiver(std::move(rx)) | streams::map([](int x) { return 2L * x; });
        long sum = 0;
        int cancelled = 0;
        auto all = co_await drain_impatiently(s, &cancelled);
        for (long v : all) {
            sum += v;
        }
        co_return sum;
    };
    auto p = tako::spawn(std::move(producer));
    auto c = tako::spawn(std::move(consumer));
    auto sum = co_await std::move(c);
    (void)co_await std::move(p);
    EXPECT_EQ(sum.value(), 2L * 1999 * 2000 / 2);
}

TAKO_TEST_PAUSED(stream_core, select_between_two_streams_loses_no_item) {
    auto a = slow_counting(0, 5, 3ms);
    auto b = slow_counting(100, 104, 4ms);
    std::vector<int> got;
    bool a_done = false;
    bool b_done = false;
    while (!a_done || !b_done) {
        // The losing next() is cancelled every round; its stream keeps its item in progress.
        auto r =
            co_await tako::select(tako::when(!a_done, a.next()), tako::when(!b_done, b.next()));
        auto& v = r.index() == 0 ? std::get<0>(r) : std::get<1>(r);
        if (!v) {
            (r.index() == 0 ? a_done : b_done) = true;
        } else {
            got.push_back(*v);
        }
    }
    std::sort(got.begin(), got.end());
    const std::vector<int> want{0, 1, 2, 3, 4, 100, 101, 102, 103};
    EXPECT_EQ(got, want);
}

TAKO_TEST(stream_core, aborting_the_consuming_task_destroys_a_stream_parked_mid_item) {
    life l;
    auto [tx, rx] = tako::sync::oneshot::channel<int>();
    auto consume = [&l](tako::sync::oneshot::receiver<int> r) -> tako::task<void> {
        auto s = holding(l, std::move(r));
        while (co_await s.next()) {
        }
    };
    auto h = tako::spawn(consume, std::move(rx));
    for (int i = 0; i < 10 && l.alive.load() < 2; ++i) {
        co_await tako::yield_now();
    }
    EXPECT_EQ(l.alive.load(), 2); // parked on the oneshot, mid-item
    h.abort();
    auto r = co_await std::move(h);
    EXPECT_FALSE(r.has_value());
    EXPECT_EQ(l.alive.load(), 0);
    EXPECT_TRUE(tx.is_closed());
}

// ---- sources -------------------------------------------------------------------------

TAKO_TEST(stream_sources, iter_once_empty_repeat_with) {
    auto a = streams::iter(std::vector<std::string>{"a", "b"});
    {
        auto got = co_await drain(a);
        EXPECT_EQ(got, (std::vector<std::string>{"a", "b"}));
    }
    auto b = streams::iter(std::views::iota(1, 4));
    {
        auto got = co_await drain(b);
        EXPECT_EQ(got, (std::vector<int>{1, 2, 3}));
    }
    auto c = streams::once(5);
    {
        auto got = co_await drain(c);
        EXPECT_EQ(got, (std::vector<int>{5}));
    }
    auto d = streams::empty<int>();
    EXPECT_EQ(co_await d.next(), std::nullopt);
    int n = 0;
    auto e = streams::repeat_with([&n] { return n++; }) | streams::take(3);
    {
        auto got = co_await drain(e);
        EXPECT_EQ(got, (std::vector<int>{0, 1, 2}));
    }
}

TAKO_TEST_PAUSED(stream_sources, pending_never_yields) {
    auto s = streams::pending<int>();
    auto r = co_await tako::time::timeout(1s, s.next());
    EXPECT_FALSE(r.has_value());
}

// ---- adapters: exact sequences ------------------------------------------------------

TAKO_TEST(stream_adapters, map_filter_filter_map) {
    auto a = counting(0, 6) | streams::map([](int x) { return x * 10; });
    {
        auto got = co_await drain(a);
        EXPECT_EQ(got, (std::vector<int>{0, 10, 20, 30, 40, 50}));
    }
    auto b = streams::filter(counting(0, 6), [](int x) { return x % 2 == 1; });
    {
        auto got = co_await drain(b);
        EXPECT_EQ(got, (std::vector<int>{1, 3, 5}));
    }
    auto c = counting(0, 6) | streams::filter_map([](int x) -> std::optional<std::string> {
                 if (x % 3 != 0) {
                     return std::nullopt;
                 }
                 return std::to_string(x);
             });
    {
        auto got = co_await drain(c);
        EXPECT_EQ(got, (std::vector<std::string>{"0", "3"}));
    }
}

TAKO_TEST(stream_adapters, take_skip_and_their_while_forms) {
    int started = 0;
    auto a = counting(0, 100, &started) | streams::take(3);
    {
        auto got = co_await drain(a);
        EXPECT_EQ(got, (std::vector<int>{0, 1, 2}));
    }
    auto zero = counting(0, 100, &started) | streams::take(0);
    EXPECT_EQ(co_await zero.next(), std::nullopt);
    EXPECT_EQ(started, 1); // take(0) never started its source
    auto b = counting(0, 5) | streams::skip(3);
    {
        auto got = co_await drain(b);
        EXPECT_EQ(got, (std::vector<int>{3, 4}));
    }
    auto c = counting(0, 5) | streams::skip(9);
    {
        auto got = co_await drain(c);
        EXPECT_EQ(got, (std::vector<int>{}));
    }
    auto d = streams::iter(std::vector<int>{1, 2, 5, 1}) |
             streams::take_while([](int x) { return x < 3; });
    {
        auto got = co_await drain(d);
        EXPECT_EQ(got, (std::vector<int>{1, 2}));
    }
    auto e = streams::iter(std::vector<int>{1, 2, 5, 1}) |
             streams::skip_while([](int x) { return x < 3; });
    {
        auto got = co_await drain(e);
        EXPECT_EQ(got, (std::vector<int>{5, 1}));
    }
}

TAKO_TEST(stream_adapters, chain_zip_enumerate_fuse) {
    auto a = counting(0, 2) | streams::chain(counting(5, 7));
    {
        auto got = co_await drain(a);
        EXPECT_EQ(got, (std::vector<int>{0, 1, 5, 6}));
    }
    auto b = streams::zip(counting(0, 3), streams::iter(std::vector<std::string>{"a", "b"}));
    {
        auto got = co_await drain(b);
        EXPECT_EQ(got, (std::vector<std::pair<int, std::string>>{{0, "a"}, {1, "b"}}));
    }
    auto c = streams::iter(std::vector<char>{'x', 'y'}) | streams::enumerate();
    {
        auto got = co_await drain(c);
        EXPECT_EQ(got, (std::vector<std::pair<std::size_t, char>>{{0, 'x'}, {1, 'y'}}));
    }
    auto d = counting(0, 1) | streams::fuse();
    EXPECT_EQ(co_await d.next(), std::optional<int>(0));
    EXPECT_EQ(co_await d.next(), std::nullopt);
    EXPECT_EQ(co_await d.next(), std::nullopt);
}

TAKO_TEST(stream_adapters, chunks) {
    auto a = counting(0, 7) | streams::chunks(3);
    {
        auto got = co_await drain(a);
        EXPECT_EQ(got, (std::vector<std::vector<int>>{{0, 1, 2}, {3, 4, 5}, {6}}));
    }
    auto b = counting(0, 6) | streams::chunks(3);
    {
        auto got = co_await drain(b);
        EXPECT_EQ(got, (std::vector<std::vector<int>>{{0, 1, 2}, {3, 4, 5}}));
    }
    EXPECT_THROW((void)streams::chunks(counting(0, 1), 0), std::invalid_argument);
    EXPECT_THROW((void)streams::chunks(0), std::invalid_argument);
}

TAKO_TEST_PAUSED(stream_adapters, then_awaits_each_item) {
    auto slow_double = [](int x) -> tako::task<int> {
        co_await tako::time::sleep(5ms);
        co_return x * 2;
    };
    const instant t0 = instant::now();
    auto s = counting(1, 4) | streams::then(slow_double);
    {
        auto got = co_await drain(s);
        EXPECT_EQ(got, (std::vector<int>{2, 4, 6}));
    }
    EXPECT_EQ(instant::now() - t0, std::chrono::nanoseconds(15ms));
}

TAKO_TEST(stream_adapters, consumers) {
    {
        auto got = co_await streams::collect(counting(0, 3));
        EXPECT_EQ(got, (std::vector<int>{0, 1, 2}));
    }
    EXPECT_EQ(co_await (counting(0, 5) | streams::count()), 5u);
    auto sum = co_await streams::fold(counting(1, 5), 0, [](int a, int b) { return a + b; });
    EXPECT_EQ(sum, 10);
    std::vector<int> seen;
    co_await streams::for_each(counting(0, 3), [&seen](int x) { seen.push_back(x); });
    EXPECT_EQ(seen, (std::vector<int>{0, 1, 2}));
    auto async_push = [&seen](int x) -> tako::task<void> {
        co_await tako::yield_now();
        seen.push_back(x);
    };
    co_await (counting(3, 5) | streams::for_each(async_push));
    EXPECT_EQ(seen, (std::vector<int>{0, 1, 2, 3, 4}));
}

// ---- merge ---------------------------------------------------------------------------

TAKO_TEST(stream_merge, alternates_between_ready_sources) {
    auto s = streams::merge(streams::iter(std::vector<int>{1, 1, 1}),
                            streams::iter(std::vector<int>{2, 2, 2}),
                            streams::iter(std::vector<int>{3}));
    {
        auto got = co_await drain(s);
        EXPECT_EQ(got, (std::vector<int>{1, 2, 3, 1, 2, 1, 2}));
    }
}

TAKO_TEST_PAUSED(stream_merge, yields_in_time_order_and_ends_when_all_end) {
    auto s = streams::merge(slow_counting(0, 3, 10ms), slow_counting(100, 102, 15ms));
    // 10:0 15:100 20:1 30:2 30:101 (at 30 both are due: the fair start decides)
    auto all = co_await drain(s);
    TAKO_CO_ASSERT_EQ(all.size(), 5u);
    EXPECT_EQ(std::vector<int>(all.begin(), all.begin() + 3), (std::vector<int>{0, 100, 1}));
    std::vector<int> last(all.begin() + 3, all.end());
    std::sort(last.begin(), last.end());
    EXPECT_EQ(last, (std::vector<int>{2, 101}));
}

TAKO_TEST(stream_merge, an_exception_in_a_source_propagates) {
    auto s = streams::merge(throws_after(1), streams::pending<int>());
    EXPECT_EQ(co_await s.next(), std::optional<int>(0));
    EXPECT_THROW((void)co_await s.next(), std::runtime_error);
}

// ---- time adapters -----------------------------------------------------------------

TAKO_TEST_PAUSED(stream_time, timeout_reports_slow_items_and_keeps_waiting) {
    auto body = []() -> stream<int> {
        co_yield 1;
        co_await tako::time::sleep(25ms);
        co_yield 2;
    };
    auto s = body() | streams::timeout(10ms);
    std::vector<std::string> seen;
    while (auto v = co_await s.next()) {
        seen.push_back(*v ? std::to_string(**v) : "elapsed");
    }
    EXPECT_EQ(seen, (std::vector<std::string>{"1", "elapsed", "elapsed", "2"}));
}

TAKO_TEST_PAUSED(stream_time, throttle_spaces_items) {
    const instant t0 = instant::now();
    auto s = counting(0, 3) | streams::throttle(10ms);
    std::vector<std::chrono::nanoseconds> at;
    while (auto v = co_await s.next()) {
        at.push_back(instant::now() - t0);
    }
    EXPECT_EQ(at, (std::vector<std::chrono::nanoseconds>{0ms, 10ms, 20ms}));
}

TAKO_TEST_PAUSED(stream_time, chunks_timeout_cuts_on_size_or_deadline) {
    auto body = []() -> stream<int> {
        co_yield 1;
        co_yield 2;
        co_yield 3; // full chunk of 3
        co_yield 4;
        co_await tako::time::sleep(50ms); // deadline cuts {4}
        co_yield 5;
        co_yield 6; // end cuts {5, 6}
    };
    auto s = body() | streams::chunks_timeout(3, 20ms);
    {
        auto got = co_await drain(s);
        EXPECT_EQ(got, (std::vector<std::vector<int>>{{1, 2, 3}, {4}, {5, 6}}));
    }
    EXPECT_THROW((void)streams::chunks_timeout(0, 1ms), std::invalid_argument);
}

// ---- cancel safety of every adapter's next() -----------------------------------------

/// Runs `make()` twice: drained patiently and drained with many cancelled next() calls;
/// both must give the same items, and at least one next() must have been cancelled.
template <class Make>
tako::task<void> same_when_cancelled(Make make, const char* what) {
    auto a = make();
    auto patient = co_await drain(a);
    auto b = make();
    int cancelled = 0;
    auto impatient = co_await drain_impatiently(b, &cancelled);
    EXPECT_EQ(patient, impatient) << what;
    EXPECT_GT(cancelled, 0) << what;
    EXPECT_FALSE(patient.empty()) << what;
}

TAKO_TEST_PAUSED(stream_cancel, every_adapter_loses_nothing_when_next_is_cancelled) {
    auto src = [] { return slow_counting(0, 6, 3ms); };
    co_await same_when_cancelled([&] { return src() | streams::map([](int x) { return x + 1; }); },
                                 "map");
    co_await same_when_cancelled(
        [&] { return src() | streams::filter([](int x) { return x % 2 == 0; }); }, "filter");
    co_await same_when_cancelled(
        [&] {
            return src() | streams::filter_map([](int x) -> std::optional<int> {
                       return x > 2 ? std::optional<int>(x) : std::nullopt;
                   });
        },
        "filter_map");
    auto slow_id = [](int x) -> tako::task<int> {
        co_await tako::time::sleep(2ms);
        co_return x;
    };
    co_await same_when_cancelled([&] { return src() | streams::then(slow_id); }, "then");
    co_await same_when_cancelled([&] { return src() | streams::take(4); }, "take");
    co_await same_when_cancelled(
        [&] { return src() | streams::take_while([](int x) { return x < 4; }); }, "take_while");
    co_await same_when_cancelled([&] { return src() | streams::skip(2); }, "skip");
    co_await same_when_cancelled(
        [&] { return src() | streams::skip_while([](int x) { return x < 2; }); }, "skip_while");
    co_await same_when_cancelled([&] { return src() | streams::chain(src()); }, "chain");
    co_await same_when_cancelled([&] { return streams::zip(src(), src()); }, "zip");
    co_await same_when_cancelled([&] { return src() | streams::enumerate(); }, "enumerate");
    co_await same_when_cancelled([&] { return src() | streams::chunks(4); }, "chunks");
    co_await same_when_cancelled([&] { return streams::merge(src(), slow_counting(10, 13, 5ms)); },
                                 "merge");
    co_await same_when_cancelled([&] { return src() | streams::throttle(4ms); }, "throttle");
    co_await same_when_cancelled(
        [&] {
            return src() | streams::timeout(2ms) |
                   streams::map(
                       [](std::expected<int, tako::time::elapsed> r) { return r ? *r : -1; });
        },
        "timeout");
    co_await same_when_cancelled([&] { return src() | streams::chunks_timeout(4, 7ms); },
                                 "chunks_timeout");
}

// ---- stream_map ----------------------------------------------------------------------

TAKO_TEST(stream_map, yields_keyed_items_fairly_and_drops_ended_streams) {
    tako::stream_map<std::string, int> m;
    EXPECT_FALSE(m.insert("a", counting(0, 2)).has_value());
    EXPECT_FALSE(m.insert("b", counting(10, 11)).has_value());
    EXPECT_EQ(m.size(), 2u);
    EXPECT_TRUE(m.contains("a"));
    EXPECT_EQ(m.keys(), (std::vector<std::string>{"a", "b"}));
    std::vector<std::pair<std::string, int>> got;
    while (auto kv = co_await m.next()) {
        got.push_back(std::move(*kv));
    }
    EXPECT_EQ(got, (std::vector<std::pair<std::string, int>>{{"a", 0}, {"b", 10}, {"a", 1}}));
    EXPECT_TRUE(m.empty());
    EXPECT_EQ(co_await m.next(), std::nullopt);
}

TAKO_TEST_PAUSED(stream_map, insert_and_remove_while_running) {
    tako::stream_map<int, int> m;
    m.insert(1, slow_counting(0, 100, 10ms));
    m.insert(2, slow_counting(100, 200, 25ms));
    auto kv = co_await m.next();
    EXPECT_EQ(kv, (std::optional<std::pair<int, int>>(std::pair(1, 0))));
    // A next() cancelled while both streams wait; then stream 1 is removed mid-item.
    EXPECT_FALSE((co_await tako::time::timeout(1ms, m.next())).has_value());
    auto removed = m.remove(1);
    TAKO_CO_ASSERT(removed.has_value());
    EXPECT_FALSE(m.contains(1));
    auto old = m.insert(2, streams::once(7)); // replaces stream 2
    EXPECT_TRUE(old.has_value());
    m.insert(3, slow_counting(300, 301, 1ms));
    std::vector<std::pair<int, int>> rest;
    while (auto e = co_await m.next()) {
        rest.push_back(*e);
    }
    EXPECT_EQ(rest, (std::vector<std::pair<int, int>>{{2, 7}, {3, 300}}));
    // The removed stream kept its progress: its item in progress is 1.
    EXPECT_EQ(co_await removed->next(), std::optional<int>(1));
}

// ---- wrappers ------------------------------------------------------------------------

TAKO_TEST(stream_wrappers, mpsc_and_unbounded_receivers) {
    auto [tx, rx] = tako::sync::mpsc::channel<int>(8);
    for (int i = 0; i < 3; ++i) {
        EXPECT_TRUE((co_await tx.send(i)).has_value());
    }
    { auto gone = std::move(tx); }
    auto s = streams::from_receiver(std::move(rx));
    {
        auto got = co_await drain(s);
        EXPECT_EQ(got, (std::vector<int>{0, 1, 2}));
    }
    auto [utx, urx] = tako::sync::mpsc::unbounded_channel<std::string>();
    EXPECT_TRUE(utx.send("x").has_value());
    { auto gone = std::move(utx); }
    auto u = streams::from_receiver(std::move(urx));
    {
        auto got = co_await drain(u);
        EXPECT_EQ(got, (std::vector<std::string>{"x"}));
    }
}

TAKO_TEST(stream_wrappers, broadcast_reports_lag_then_ends_when_closed) {
    auto [tx, rx] = tako::sync::broadcast::channel<int>(2);
    for (int i = 0; i < 3; ++i) {
        EXPECT_TRUE(tx.send(i).has_value());
    }
    { auto gone = std::move(tx); }
    auto s = streams::from_broadcast(std::move(rx));
    std::vector<std::string> seen;
    while (auto v = co_await s.next()) {
        seen.push_back(*v ? std::to_string(**v) : "lagged " + std::to_string(v->error().skipped()));
    }
    EXPECT_EQ(seen, (std::vector<std::string>{"lagged 1", "1", "2"}));
}

TAKO_TEST(stream_wrappers, watch_gives_the_current_value_then_changes) {
    auto [tx, rx] = tako::sync::watch::channel<int>(1);
    auto s = streams::from_watch(std::move(rx));
    EXPECT_EQ(co_await s.next(), std::optional<int>(1));
    EXPECT_TRUE(tx.send(2).has_value());
    EXPECT_TRUE(tx.send(3).has_value());
    EXPECT_EQ(co_await s.next(), std::optional<int>(3)); // two sends, one change
    { auto gone = std::move(tx); }
    EXPECT_EQ(co_await s.next(), std::nullopt);
}

TAKO_TEST_PAUSED(stream_wrappers, interval_ticks) {
    const instant t0 = instant::now();
    auto s = streams::from_interval(tako::time::interval(t0, 10ms)) | streams::take(3);
    std::vector<std::chrono::nanoseconds> at;
    while (auto v = co_await s.next()) {
        at.push_back(*v - t0);
    }
    EXPECT_EQ(at, (std::vector<std::chrono::nanoseconds>{0ms, 10ms, 20ms}));
}

TAKO_TEST(stream_wrappers, listener_incoming_connections) {
    auto listener = co_await tako::net::tcp_listener::bind("127.0.0.1:0");
    TAKO_CO_ASSERT(listener.has_value());
    auto addr = listener->local_addr();
    TAKO_CO_ASSERT(addr.has_value());
    auto incoming = streams::incoming(std::move(*listener)) | streams::take(2);
    auto c1 = co_await tako::net::tcp_stream::connect(*addr);
    auto c2 = co_await tako::net::tcp_stream::connect(*addr);
    TAKO_CO_ASSERT(c1.has_value() && c2.has_value());
    int accepted = 0;
    while (auto conn = co_await incoming.next()) {
        EXPECT_TRUE(conn->has_value());
        ++accepted;
    }
    EXPECT_EQ(accepted, 2);
}

TAKO_TEST(stream_wrappers, lines_of_a_reader) {
    auto [a, b] = tako::io::duplex(64);
    auto lines = streams::from_lines(tako::io::lines(tako::io::buf_reader(std::move(b))));
    auto writer = [&a]() -> tako::task<void> {
        (void)co_await tako::io::write_all(a, tako_test::bytes_of("one\r\ntwo\nthree"));
        (void)co_await tako::io::shutdown(a);
    };
    auto [w, got] = co_await tako::join(writer(), drain(lines));
    (void)w;
    TAKO_CO_ASSERT_EQ(got.size(), 3u);
    EXPECT_EQ(*got[0], "one");
    EXPECT_EQ(*got[1], "two");
    EXPECT_EQ(*got[2], "three");
}

} // namespace
