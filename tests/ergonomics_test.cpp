// What a Tokio user reaches for on day one: spawn with arguments (the g++ 12-safe form),
// borrowing in select / join / timeout, disabled select branches, unwrap keeping the
// cause, and TAKO_MAIN's forms.

#include <tako/tako.hpp>
#include <tako/testing.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>

#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using tako_test::life;
using tako_test::probe;

} // namespace

// ---------------------------------------------------------------- spawn(f, args...)

TAKO_TEST_MT(spawn_args, arguments_are_stored_in_the_task) {
    const std::string s(200, 'x'); // heap-allocated: a double free would crash
    auto r = co_await tako::spawn(
        [](std::string v, std::unique_ptr<int> p) -> tako::task<std::size_t> {
            co_await tako::yield_now();
            co_return v.size() + static_cast<std::size_t>(*p);
        },
        s, std::make_unique<int>(5));
    EXPECT_EQ(tako::unwrap(std::move(r)), 205u);
}

TAKO_TEST_MT(spawn_args, const_reference_parameters_see_the_stored_argument) {
    // The argument lives in the task, so a reference parameter stays valid across
    // suspensions although the caller's temporary is long gone.
    auto h = tako::spawn(
        [](const std::string& v) -> tako::task<std::string> {
            co_await tako::time::sleep(1ms);
            co_return v + "!";
        },
        std::string(100, 'a'));
    auto r = co_await h;
    EXPECT_EQ(r.value(), std::string(100, 'a') + "!");
}

TAKO_TEST_MT(spawn_args, arguments_are_destroyed_when_the_task_ends) {
    life l;
    {
        auto h = tako::spawn([](probe p) -> tako::task<int> { co_return p.value(); }, probe(l, 7));
        EXPECT_EQ((co_await h).value(), 7);
    }
    EXPECT_EQ(l.alive.load(), 0);
    auto n = std::make_shared<tako::sync::notify>();
    auto h = tako::spawn(
        [](probe, std::shared_ptr<tako::sync::notify> n) -> tako::task<void> {
            co_await n->notified();
        },
        probe(l), n);
    co_await tako::yield_now();
    EXPECT_GE(l.alive.load(), 1);
    h.abort();
    (void)co_await h;
    EXPECT_EQ(l.alive.load(), 0);
}

TAKO_TEST_MT(spawn_args, spawn_blocking_with_arguments) {
    auto r = co_await tako::spawn_blocking(
        [](std::string v, int k) { return v.size() * static_cast<std::size_t>(k); },
        std::string(300, 'y'), 2);
    EXPECT_EQ(r.value(), 600u);
}

// ---------------------------------------------------------------- borrowing

TAKO_TEST_MT(borrow, join_handle_survives_losing_a_select) {
    auto n = std::make_shared<tako::sync::notify>();
    auto h = tako::spawn([n]() -> tako::task<int> {
        co_await n->notified();
        co_return 42;
    });
    auto first = co_await tako::select(h, tako::time::sleep(2ms));
    EXPECT_EQ(first.index(), 1u); // the sleep won; h was only borrowed
    TAKO_CO_ASSERT(h.valid());
    n->notify_one();
    auto second = co_await tako::select(h, tako::time::sleep(5s));
    TAKO_CO_ASSERT(second.index() == 0);
    EXPECT_EQ(std::get<0>(second).value(), 42);
}

TAKO_TEST(borrow, receiver_keeps_a_later_value_after_losing) {
    auto [tx, rx] = tako::sync::oneshot::channel<int>();
    auto r1 = co_await tako::select(rx, tako::yield_now());
    EXPECT_EQ(r1.index(), 1u);
    (void)tx.send(9);
    auto r2 = co_await tako::select(rx, tako::time::sleep(5s));
    TAKO_CO_ASSERT(r2.index() == 0);
    EXPECT_EQ(std::get<0>(r2).value(), 9);
}

TAKO_TEST_PAUSED(borrow, one_deadline_sleep_across_a_select_loop) {
    auto deadline = tako::time::sleep(100ms);
    tako::time::interval tick(30ms);
    int ticks = 0;
    for (;;) {
        auto r = co_await tako::select_biased(deadline, tick.tick());
        if (r.index() == 0) {
            break;
        }
        ++ticks;
    }
    EXPECT_EQ(ticks, 4); // at 0, 30, 60 and 90 ms; then the deadline
    EXPECT_TRUE(deadline.is_elapsed());
}

TAKO_TEST_MT(borrow, timeout_on_a_borrowed_handle_leaves_it_usable) {
    auto n = std::make_shared<tako::sync::notify>();
    auto h = tako::spawn([n]() -> tako::task<int> {
        co_await n->notified();
        co_return 5;
    });
    auto r = co_await tako::time::timeout(2ms, h);
    EXPECT_FALSE(r.has_value());
    TAKO_CO_ASSERT(h.valid());
    n->notify_one();
    auto again = co_await tako::time::timeout(5s, h);
    TAKO_CO_ASSERT(again.has_value());
    EXPECT_EQ(again->value(), 5);
}

TAKO_TEST(borrow, join_borrows_handles) {
    auto a = tako::spawn([]() -> tako::task<int> { co_return 1; });
    auto b = tako::spawn([]() -> tako::task<int> { co_return 2; });
    auto [ra, rb] = co_await tako::join(a, b);
    EXPECT_EQ(ra.value() + rb.value(), 3);
}

// ---------------------------------------------------------------- disabled branches

TAKO_TEST_MT(when_branch, select_loop_over_join_set_does_not_spin_when_empty) {
    tako::join_set<int> set;
    auto stop = std::make_shared<tako::sync::notify>();
    int loops = 0;
    int sum = 0;
    // The stopper runs on the other worker after a while; the loop must wait for it,
    // not spin on an empty set's join_next.
    auto stopper = tako::spawn([stop]() -> tako::task<void> {
        co_await tako::time::sleep(20ms);
        stop->notify_one();
    });
    for (int i = 1; i <= 3; ++i) {
        set.spawn([i]() -> tako::task<int> { co_return i; });
    }
    for (;;) {
        ++loops;
        auto r = co_await tako::select(tako::when(!set.empty(), set.join_next()), stop->notified());
        if (r.index() == 1) {
            break;
        }
        auto joined = std::get<0>(std::move(r));
        TAKO_CO_ASSERT(joined.has_value());
        sum += joined->value();
    }
    EXPECT_EQ(sum, 6);
    EXPECT_LE(loops, 4 + 2); // three results, the stop, and at most a stale wake or two
    (void)co_await stopper;
}

TAKO_TEST(when_branch, every_branch_disabled_throws) {
    bool threw = false;
    try {
        (void)co_await tako::select(tako::when(false, tako::yield_now()),
                                    tako::when(false, tako::time::sleep(1ms)));
    } catch (const std::logic_error&) {
        threw = true;
    }
    EXPECT_TRUE(threw);
}

TAKO_TEST(when_branch, an_enabled_when_behaves_as_its_awaitable) {
    auto r =
        co_await tako::select_biased(tako::when(true, tako::yield_now()), tako::time::sleep(5s));
    EXPECT_EQ(r.index(), 0u);
}

// ---------------------------------------------------------------- unwrap

TAKO_TEST_MT(unwrap, gives_the_value) {
    EXPECT_EQ(tako::unwrap(co_await tako::spawn([]() -> tako::task<int> { co_return 3; })), 3);
    tako::unwrap(co_await tako::spawn([]() -> tako::task<void> { co_return; }));
}

namespace {
struct custom_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};
} // namespace

TAKO_TEST_MT(unwrap, rethrows_the_original_exception) {
    auto h = tako::spawn([]() -> tako::task<int> {
        throw custom_error("the cause");
        co_return 0;
    });
    std::string what;
    try {
        (void)tako::unwrap(co_await h);
    } catch (const custom_error& e) {
        what = e.what();
    }
    EXPECT_EQ(what, "the cause");
}

TAKO_TEST_MT(unwrap, cancelled_task_throws_task_cancelled) {
    auto n = std::make_shared<tako::sync::notify>();
    auto h = tako::spawn([n]() -> tako::task<int> {
        co_await n->notified();
        co_return 1;
    });
    const auto id = h.id();
    h.abort();
    bool cancelled = false;
    try {
        (void)tako::unwrap(co_await h);
    } catch (const tako::task_cancelled& e) {
        cancelled = e.id() == id;
    }
    EXPECT_TRUE(cancelled);
}

// ---------------------------------------------------------------- TAKO_MAIN

namespace {
char arg0[] = "prog";
char arg1[] = "--flag";
char* argv_fixture[] = {arg0, arg1, nullptr};

tako::task<int> main_with_argv(int argc, char** argv) {
    co_return argc * 10 + (std::string(argv[1]) == "--flag" ? 1 : 0);
}
tako::task<int> main_with_span(std::span<char*> args) {
    co_return static_cast<int>(args.size());
}
tako::task<void> main_plain() {
    co_return;
}
tako::task<int> main_value_on_failure() {
    auto h = tako::spawn([]() -> tako::task<int> {
        throw std::runtime_error("inner cause");
        co_return 0;
    });
    co_return (co_await h).value();
}
} // namespace

TEST(tako_main, forms_and_exit_status) {
    auto call = [](auto fn, tako::runtime::builder b) {
        return tako::detail::run_main(std::move(b), fn, 2, argv_fixture);
    };
    EXPECT_EQ(call([](int c, char** v) { return main_with_argv(c, v); },
                   tako::runtime::builder::multi_thread()),
              21);
    EXPECT_EQ(call([](std::span<char*> a) { return main_with_span(a); },
                   tako::runtime::builder::current_thread()),
              2);
    EXPECT_EQ(call([] { return main_plain(); }, tako::runtime::builder::current_thread()), 0);
}

namespace {
/// Holds thread-affine state: a local task shares it with main without synchronization.
tako::task<int> main_spawning_local() {
    auto counter = std::make_shared<int>(0);
    const auto main_thread = std::this_thread::get_id();
    auto h = tako::spawn_local([](std::shared_ptr<int> c, std::thread::id t) -> tako::task<int> {
        *c += 1;
        co_await tako::yield_now();
        co_return std::this_thread::get_id() == t ? *c + 10 : -1;
    }, counter, main_thread);
    // A local task still running when main returns is cancelled, not leaked.
    tako::spawn_local([]() -> tako::task<> { co_await tako::time::sleep(std::chrono::hours(1)); })
        .detach();
    co_return *co_await h;
}
} // namespace

TEST(tako_main, local_main_can_spawn_local_tasks) {
    EXPECT_EQ(tako::detail::run_main(tako::runtime::builder::current_thread(),
                                     [] { return main_spawning_local(); }, 2, argv_fixture,
                                     tako::detail::main_kind::local),
              11);
}

TEST(tako_main, plain_main_has_no_local_set) {
    ::testing::internal::CaptureStderr();
    const int status = tako::detail::run_main(
        tako::runtime::builder::current_thread(), [] { return main_spawning_local(); }, 2,
        argv_fixture);
    const std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(status, 1);
    EXPECT_NE(err.find("no local_set"), std::string::npos) << err;
}

TEST(tako_main, a_failed_join_prints_the_task_error) {
    ::testing::internal::CaptureStderr();
    const int status = tako::detail::run_main(
        tako::runtime::builder::current_thread(), [] { return main_value_on_failure(); }, 2,
        argv_fixture);
    const std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(status, 1);
    EXPECT_NE(err.find("inner cause"), std::string::npos) << err;
}
