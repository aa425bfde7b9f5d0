// Regression tests for the six bugs of issue 6 (stale wake-ups, lost wake-ups, scheduler
// lifetimes) and the misuse cases that must give clear errors. Each test is named after
// its bug. The races run for about a second each; set TAKO_STRESS_SECONDS for longer runs.

#include <tako/tako.hpp>
#include <tako/testing.hpp>

#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "runtime/fault_injection.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using tako::runtime;
using tako_test::ct;
using tako_test::life;
using tako_test::mt;
using tako_test::probe;
using tako_test::wait_until;

/// How long each race runs: a second in CI, `TAKO_STRESS_SECONDS` when set.
std::chrono::milliseconds stress_time() {
    if (const char* s = std::getenv("TAKO_STRESS_SECONDS")) {
        return std::chrono::milliseconds(static_cast<long>(std::atof(s) * 1000));
    }
    return 1000ms;
}

/// Repeats `round` until the stress time is over (at least `min_rounds` times).
template <class F>
int repeat_for_stress_time(F round, int min_rounds = 3) {
    const auto end = std::chrono::steady_clock::now() + stress_time();
    int n = 0;
    while (n < min_rounds || std::chrono::steady_clock::now() < end) {
        round(n);
        ++n;
        if (::testing::Test::HasFailure()) {
            break;
        }
    }
    return n;
}

#if defined(TAKO_FAULT_INJECTION)
constexpr bool fault_injection = true;
#else
constexpr bool fault_injection = false;
#endif

/// Installs a fault-injection hook for its scope (nothing without fault injection: the
/// test then runs as a plain stress test).
class fault_hook {
public:
    explicit fault_hook([[maybe_unused]] tako::detail::fault::hook_fn f) {
#if defined(TAKO_FAULT_INJECTION)
        tako::detail::fault::hook.store(f);
#endif
    }
    fault_hook(const fault_hook&) = delete;
    fault_hook& operator=(const fault_hook&) = delete;
    ~fault_hook() {
#if defined(TAKO_FAULT_INJECTION)
        tako::detail::fault::hook.store(nullptr);
#endif
    }
};

/// Set on the thread that should lose a race.
thread_local bool tls_slow_thread = false;

/// Pauses the slow thread right after it queued a task from outside the scheduler.
void pause_slow_thread(tako::detail::fault::point p) {
    if (p == tako::detail::fault::point::pushed_from_outside && tls_slow_thread) {
        std::this_thread::sleep_for(20ms);
    }
}

/// Virtual memory of this process in KiB (VmSize).
long vm_size_kib() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmSize:", 0) == 0) {
            return std::stol(line.substr(7));
        }
    }
    return -1;
}

} // namespace

// ---------------------------------------------------------------- 1. stale wake-ups

namespace {
// Several tasks each select between a notification and a yield, then wait on a oneshot.
// A plain thread keeps calling notify_waiters, which fires every waiter under the lock and
// wakes them after unlocking: a wake that arrives after its task lost the select (and
// moved on to the oneshot) must not resume the oneshot wait, which would then report the
// channel closed although its sender is alive and sends later.
void select_then_oneshot_under_notify_waiters(std::size_t workers) {
    runtime rt = mt(workers).build();
    constexpr int tasks = 8;
    std::atomic<bool> stop{false};
    std::atomic<int> wrong{0};
    std::atomic<long> iterations{0};
    auto n = std::make_shared<tako::sync::notify>();
    std::thread notifier([&] {
        while (!stop.load(std::memory_order_relaxed)) {
            n->notify_waiters();
        }
    });
    rt.block_on([&]() -> tako::task<void> {
        const auto end = std::chrono::steady_clock::now() + stress_time();
        std::vector<tako::join_handle<void>> hs;
        for (int k = 0; k < tasks; ++k) {
            hs.push_back(tako::spawn([&, n, end]() -> tako::task<void> {
                for (int i = 0; std::chrono::steady_clock::now() < end; ++i) {
                    auto [tx, rx] = tako::sync::oneshot::channel<int>();
                    (void)co_await tako::select(n->notified(), tako::yield_now());
                    auto sender = tako::spawn(
                        [](tako::sync::oneshot::sender<int> tx, int v) -> tako::task<void> {
                            co_await tako::yield_now();
                            (void)tx.send(v);
                        }(std::move(tx), i));
                    auto v = co_await rx;
                    if (!v || *v != i) {
                        wrong.fetch_add(1, std::memory_order_relaxed);
                    }
                    (void)co_await sender;
                    iterations.fetch_add(1, std::memory_order_relaxed);
                }
            }));
        }
        for (auto& h : hs) {
            (void)co_await h;
        }
    }());
    stop.store(true);
    notifier.join();
    EXPECT_EQ(wrong.load(), 0) << "of " << iterations.load() << " waits";
}
} // namespace

TEST(regression, stale_wake_resumes_next_wait) {
    select_then_oneshot_under_notify_waiters(2);
}

// Found while fixing the above: waker::fire() opened the gate first and read the waker
// after. With the gate open, the task (already queued by the yield branch) resumed the
// notify branch, won the select and freed the waiter while notify_waiters, still holding
// its lock, read the waiter's waker: a use-after-free. One worker makes it frequent.
TEST(regression, waker_read_after_its_gate_opened) {
    select_then_oneshot_under_notify_waiters(1);
}

// Found while building join_all: waker::fire() marks the branch flags and then opens the
// gate. A driver polling in between consumed the flag, found the gate closed and took it
// for a stale wake; the wake that followed found no flag, and the join hung.
TEST(regression, branch_flag_consumed_before_its_gate_opened) {
    const bool finished = tako_test::finishes_within(
        [] {
            runtime rt = mt(2).build();
            rt.block_on([]() -> tako::task<void> {
                const auto end = std::chrono::steady_clock::now() + stress_time();
                while (std::chrono::steady_clock::now() < end) {
                    auto [t0, r0] = tako::sync::oneshot::channel<int>();
                    auto [t1, r1] = tako::sync::oneshot::channel<int>();
                    auto [t2, r2] = tako::sync::oneshot::channel<int>();
                    auto [t3, r3] = tako::sync::oneshot::channel<int>();
                    auto send = [](tako::sync::oneshot::sender<int> tx) -> tako::task<void> {
                        (void)tx.send(1);
                        co_return;
                    };
                    tako::spawn(send, std::move(t0)).detach();
                    tako::spawn(send, std::move(t1)).detach();
                    tako::spawn(send, std::move(t2)).detach();
                    tako::spawn(send, std::move(t3)).detach();
                    (void)co_await tako::join(std::move(r0), std::move(r1), std::move(r2),
                                              std::move(r3));
                }
            }());
        },
        60s);
    EXPECT_TRUE(finished) << "a join of four receivers hung";
}

// The same race with a sleep as the next wait: a stale wake must not end it early.
TEST(regression, stale_wake_ends_sleep_early) {
    runtime rt = mt(2).build();
    std::atomic<bool> stop{false};
    std::atomic<int> early{0};
    auto n = std::make_shared<tako::sync::notify>();
    std::thread notifier([&] {
        while (!stop.load(std::memory_order_relaxed)) {
            n->notify_waiters();
        }
    });
    rt.block_on([&]() -> tako::task<void> {
        const auto end = std::chrono::steady_clock::now() + stress_time();
        std::vector<tako::join_handle<void>> hs;
        for (int k = 0; k < 8; ++k) {
            hs.push_back(tako::spawn([&, n, end]() -> tako::task<void> {
                while (std::chrono::steady_clock::now() < end) {
                    (void)co_await tako::select(n->notified(), tako::yield_now());
                    const auto t0 = std::chrono::steady_clock::now();
                    co_await tako::time::sleep(2ms);
                    if (std::chrono::steady_clock::now() - t0 < 2ms) {
                        early.fetch_add(1, std::memory_order_relaxed);
                    }
                }
            }));
        }
        for (auto& h : hs) {
            (void)co_await h;
        }
    }());
    stop.store(true);
    notifier.join();
    EXPECT_EQ(early.load(), 0);
}

// ---------------------------------------------------------------- 2. lost wake-ups

// Tasks sleeping to the same deadline fire together on the worker holding the driver,
// which then wakes itself. Afterwards, work pushed from outside the runtime must still
// unpark a worker.
TEST(regression, idle_searching_count_leaks) {
    runtime rt = mt(2).build();
    for (int round = 0; round < 20; ++round) {
        rt.block_on([]() -> tako::task<void> {
            const auto at = tako::time::instant::now() + 5ms;
            std::vector<tako::join_handle<void>> hs;
            for (int i = 0; i < 3; ++i) {
                hs.push_back(tako::spawn(
                    [at]() -> tako::task<void> { co_await tako::time::sleep_until(at); }));
            }
            for (auto& h : hs) {
                (void)co_await h;
            }
        }());
        std::this_thread::sleep_for(2ms); // let both workers park
        std::atomic<bool> ran{false};
        auto h = rt.spawn([&ran]() -> tako::task<void> {
            ran.store(true);
            co_return;
        });
        ASSERT_TRUE(wait_until([&] { return ran.load(); }, 3000ms))
            << "a task spawned from outside did not run (round " << round << ")";
    }
}

// ---------------------------------------------------------------- 3. local_set lifetime

// A plain thread wakes a local task while the set is being destroyed: the wake must not
// reach the freed set. With fault injection the waker pauses between its queue push and
// its last access to the set, so the race is lost every time on the old code.
TEST(regression, local_set_dropped_while_plain_thread_wakes) {
    const fault_hook hook(&pause_slow_thread);
    runtime rt = ct().build();
    repeat_for_stress_time(
        [&](int) {
            auto n = std::make_shared<tako::sync::notify>();
            std::atomic<bool> go{false};
            std::thread waker([n, &go] {
                tls_slow_thread = true;
                while (!go.load(std::memory_order_acquire)) {
                }
                n->notify_one();
                n->notify_one();
            });
            rt.block_on([&]() -> tako::task<void> {
                auto local = std::make_unique<tako::local_set>();
                co_await local->run_until([&]() -> tako::task<void> {
                    for (int i = 0; i < 2; ++i) {
                        (void)tako::spawn_local([n]() -> tako::task<void> {
                            for (;;) {
                                co_await n->notified();
                            }
                        });
                    }
                    co_await tako::yield_now();
                    co_await tako::yield_now();
                });
                go.store(true, std::memory_order_release);
                if (fault_injection) {
                    std::this_thread::sleep_for(5ms); // the waker is inside schedule() now
                }
                local.reset(); // races the waker thread
            }());
            waker.join();
        },
        fault_injection ? 3 : 1);
}

// ---------------------------------------------------------------- 4. runtime lifetime

// A plain thread wakes a task that then finishes at once; the runtime is destroyed as soon
// as the task is done, while the waking thread is still inside schedule() (with fault
// injection it pauses there after its push).
TEST(regression, runtime_freed_while_plain_thread_schedules) {
    const fault_hook hook(&pause_slow_thread);
    for (auto flavor : {tako::runtime_flavor::multi_thread, tako::runtime_flavor::current_thread}) {
        repeat_for_stress_time(
            [&](int) {
                auto rt = std::make_unique<runtime>(
                    flavor == tako::runtime_flavor::multi_thread ? mt(2).build() : ct().build());
                // Keeps a runtime thread polling its queues, so it takes the woken task
                // although the waker has not unparked anyone yet.
                (void)rt->spawn([]() -> tako::task<void> {
                    for (;;) {
                        co_await tako::yield_now();
                    }
                });
                auto n = std::make_shared<tako::sync::notify>();
                std::thread waker;
                rt->block_on([&]() -> tako::task<void> {
                    std::atomic<bool> waiting{false};
                    auto h = tako::spawn([n, &waiting]() -> tako::task<void> {
                        waiting = true;
                        co_await n->notified();
                    });
                    while (!waiting) {
                        co_await tako::yield_now();
                    }
                    co_await tako::time::sleep(1ms); // parked on the notify by now
                    waker = std::thread([n] {
                        tls_slow_thread = true;
                        n->notify_one();
                    });
                    (void)co_await h;
                }());
                rt.reset(); // the waker may still be inside schedule()
                waker.join();
            },
            fault_injection ? 3 : 20);
    }
}

// Found while fixing the above: stop() sets `stopping` and then unparks each worker, but a
// worker's zero-timeout driver poll (every event_interval ticks) could consume that
// notification just before the worker parked for good: shutdown then waited forever.
TEST(regression, runtime_stop_lost_to_driver_poll) {
    const bool finished = tako_test::finishes_within(
        [] {
            repeat_for_stress_time([](int) {
                runtime rt = mt(2).event_interval(1).build();
                (void)rt.spawn([]() -> tako::task<void> {
                    for (;;) {
                        co_await tako::yield_now();
                    }
                });
                std::this_thread::sleep_for(100us);
            });
        },
        30s);
    EXPECT_TRUE(finished) << "a runtime's shutdown hung";
}

// ---------------------------------------------------------------- 5. shutdown vs blocking

namespace {
std::atomic<bool> release_blocking{false};
/// Shutdown pauses after popping a task, while the blocking tasks it waits on finish.
void release_blocking_then_pause(tako::detail::fault::point p) {
    if (p == tako::detail::fault::point::shutdown_popped_task && !release_blocking.exchange(true)) {
        std::this_thread::sleep_for(20ms);
    }
}
} // namespace

// Shutdown walks the registry while pool threads finish (and free) blocking tasks.
TEST(regression, shutdown_reads_freed_blocking_headers) {
    const fault_hook hook(&release_blocking_then_pause);
    repeat_for_stress_time(
        [&](int) {
            release_blocking.store(!fault_injection);
            std::atomic<int> started{0}; // outlives rt: shutdown waits for the pool threads
            runtime rt = mt(2).build();
            for (int i = 0; i < 4; ++i) {
                (void)rt.spawn_blocking([&started] {
                    started.fetch_add(1);
                    while (!release_blocking.load()) {
                        std::this_thread::yield();
                    }
                });
            }
            ASSERT_TRUE(wait_until([&] { return started.load() == 4; }));
            // ~runtime: pool threads finish their tasks while shutdown looks at them.
        },
        fault_injection ? 3 : 1);
}

namespace {
std::atomic<bool> shutdown_popped{false};
void note_shutdown_pop(tako::detail::fault::point p) {
    if (p == tako::detail::fault::point::shutdown_popped_task) {
        shutdown_popped.store(true);
    }
}

/// Suspends for good: nothing ever wakes it (only cancellation ends it).
struct never_woken {
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) const noexcept {
        tako::detail::record_driver_suspension(h);
    }
    void await_resume() const noexcept {}
};
} // namespace

// Shutdown finds the task of another thread's block_on in the middle of a poll on a
// current_thread runtime. It cannot destroy the frames there; it must make sure the task
// is cancelled after the poll. Before the fix it skipped the task, which then waited for
// good while its thread kept driving and shutdown waited for that thread: a hang.
TEST(regression, shutdown_cancels_a_task_being_polled_by_another_thread) {
    if (!fault_injection) {
        GTEST_SKIP() << "needs the fault-injection points (debug, asan, tsan presets)";
    }
    const fault_hook hook(&note_shutdown_pop);
    shutdown_popped.store(false);
    std::optional<runtime> rt(ct().build());
    std::atomic<bool> started{false};
    std::atomic<int> outcome{0}; // 1: block_on returned, 2: it threw
    std::thread driver(
        [&started, &outcome](tako::runtime_handle h) {
            try {
                h.block_on([](std::atomic<bool>* st) -> tako::task<> {
                    st->store(true);
                    // Still inside this poll when shutdown pops the task, and a while after.
                    while (!shutdown_popped.load()) {
                        std::this_thread::yield();
                    }
                    std::this_thread::sleep_for(20ms);
                    co_await never_woken{};
                }(&started));
                outcome.store(1);
            } catch (...) {
                outcome.store(2);
            }
        },
        rt->handle());
    while (!started.load()) {
        std::this_thread::yield();
    }
    rt.reset();
    driver.join();
    EXPECT_EQ(outcome.load(), 2); // cancelled by shutdown: block_on reports it
}

// ---------------------------------------------------------------- 6. block_in_place

// Each block_in_place starts a thread to take over the worker; the thread it leaves must
// be reclaimed, not kept until the runtime stops.
TEST(regression, block_in_place_leaks_threads) {
    runtime rt = mt(2).build();
    constexpr int calls = 600;
    const long before = vm_size_kib();
    int sum = rt.block_on([]() -> tako::task<int> {
        int s = 0;
        for (int i = 0; i < calls; ++i) {
            s += tako::block_in_place([] { return 1; });
            co_await tako::yield_now();
        }
        co_return s;
    }());
    EXPECT_EQ(sum, calls);
    const long grown_mib = (vm_size_kib() - before) / 1024;
    // Unjoined threads keep their stacks mapped (8 MiB each by default): 600 calls leaked
    // gigabytes of address space before the fix.
    EXPECT_LT(grown_mib, 512) << "address space grew by " << grown_mib << " MiB";
}

// ---------------------------------------------------------------- blocking pool out of threads

namespace {
/// Every blocking-pool thread start fails, as with EAGAIN.
void refuse_thread_starts(tako::detail::fault::point p) {
    if (p == tako::detail::fault::point::blocking_thread_start) {
        throw std::system_error(std::make_error_code(std::errc::resource_unavailable_try_again),
                                "pthread_create");
    }
}
} // namespace

// With no thread able to start, spawn_blocking's task used to stay queued forever; its
// join_handle now fails with a clear error.
TEST(regression, spawn_blocking_without_threads_fails_clearly) {
    if (!fault_injection) {
        GTEST_SKIP() << "needs the fault-injection points (debug, asan, tsan presets)";
    }
    runtime rt = mt(2).build();
    const fault_hook hook(&refuse_thread_starts);
    std::string what;
    bool ran = false;
    rt.block_on([&]() -> tako::task<void> {
        auto r = co_await tako::spawn_blocking([&ran] { ran = true; });
        if (!r.has_value() && r.error().is_panic()) {
            try {
                r.error().rethrow();
            } catch (const std::system_error& e) {
                what = e.what();
            }
        }
    }());
    EXPECT_FALSE(ran);
    EXPECT_NE(what.find("no thread can be started"), std::string::npos) << what;
}

namespace {
/// Thread starts the next `refuse_thread_starts_after` lets through before refusing.
std::atomic<int> thread_starts_left{0};
void refuse_thread_starts_after(tako::detail::fault::point p) {
    if (p == tako::detail::fault::point::blocking_thread_start &&
        thread_starts_left.fetch_sub(1) <= 0) {
        refuse_thread_starts(p);
    }
}
} // namespace

// The other side of the rule above: when a thread cannot start but a busy pool thread
// exists, the task waits for that thread instead of failing.
TEST(regression, spawn_blocking_without_new_threads_waits_for_a_busy_one) {
    if (!fault_injection) {
        GTEST_SKIP() << "needs the fault-injection points (debug, asan, tsan presets)";
    }
    runtime rt = mt(2).build();
    thread_starts_left.store(1);
    const fault_hook hook(&refuse_thread_starts_after);
    const auto [first, second] = rt.block_on([]() -> tako::task<std::pair<int, int>> {
        std::atomic<bool> second_queued{false};
        auto busy = tako::spawn_blocking([&second_queued] {
            second_queued.wait(false);
            return 1;
        });
        // No thread can start for this one: it queues behind `busy`.
        auto queued = tako::spawn_blocking([] { return 2; });
        second_queued.store(true);
        second_queued.notify_all();
        const int a = (co_await busy).value_or(-1);
        const int b = (co_await queued).value_or(-1);
        co_return std::pair{a, b};
    });
    EXPECT_EQ(first, 1);
    EXPECT_EQ(second, 2);
}

// ---------------------------------------------------------------- misuse

TAKO_TEST_MT(misuse, two_tasks_awaiting_one_join_handle) {
    auto n = std::make_shared<tako::sync::notify>();
    auto h = tako::spawn([n]() -> tako::task<int> {
        co_await n->notified();
        co_return 7;
    });
    std::atomic<int> second_error{0};
    auto first = tako::spawn([&h]() -> tako::task<int> { co_return (co_await h).value_or(-1); });
    co_await tako::time::sleep(5ms); // the first waiter is linked now
    auto second = tako::spawn([&]() -> tako::task<void> {
        try {
            (void)co_await h;
        } catch (const std::logic_error& e) {
            second_error.store(
                std::string(e.what()).find("already awaited") != std::string::npos ? 1 : 2);
        }
    });
    (void)co_await second;
    EXPECT_EQ(second_error.load(), 1);
    n->notify_one();
    auto r = co_await first;
    EXPECT_EQ(r.value_or(0), 7);
}

TEST(misuse_death, destroying_multi_thread_runtime_inside_its_task) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    EXPECT_DEATH(
        {
            auto* rt = new runtime(mt(2).build());
            rt->block_on([rt]() -> tako::task<void> {
                auto h = tako::spawn([rt]() -> tako::task<void> {
                    delete rt;
                    co_return;
                });
                (void)co_await h;
            }());
        },
        "destroyed from inside one of its own tasks");
}

TEST(misuse_death, destroying_current_thread_runtime_inside_block_on) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    EXPECT_DEATH(
        {
            auto* rt = new runtime(ct().build());
            rt->block_on([rt]() -> tako::task<void> {
                delete rt;
                co_return;
            }());
        },
        "destroyed from inside one of its own tasks");
}

TEST(misuse, shutdown_inside_own_task_throws) {
    runtime outer = mt(2).build();
    auto* rt = new runtime(mt(1).build());
    bool threw = outer.block_on([rt]() -> tako::task<bool> {
        auto h = rt->spawn([rt]() -> tako::task<bool> {
            try {
                std::move(*rt).shutdown_background();
            } catch (const std::logic_error&) {
                co_return true;
            }
            co_return false;
        });
        co_return (co_await h).value_or(false);
    }());
    EXPECT_TRUE(threw);
    delete rt;
}

TEST(misuse, spawn_under_enter_guard_after_runtime_destroyed) {
    auto rt = std::make_unique<runtime>(mt(2).build());
    auto guard = rt->enter();
    rt.reset();
    auto h = tako::spawn([]() -> tako::task<int> { co_return 1; });
    ASSERT_TRUE(h.is_finished());
    auto r = h.take_result();
    ASSERT_FALSE(r.has_value());
    EXPECT_TRUE(r.error().is_cancelled());
}

namespace {
struct throws_on_destruction {
    life* l;
    probe p;
    explicit throws_on_destruction(life& lf) : l(&lf), p(lf) {}
    ~throws_on_destruction() noexcept(false) { throw std::runtime_error("destructor threw"); }
};
} // namespace

TEST(misuse, throwing_destructor_during_cancellation_is_reported) {
    life l;
    std::atomic<int> reported{0};
    std::string what;
    {
        runtime rt = mt(2)
                         .on_unhandled_exception([&](const tako::task_info&, std::exception_ptr e) {
                             try {
                                 std::rethrow_exception(e);
                             } catch (const std::exception& ex) {
                                 what = ex.what();
                             }
                             reported.fetch_add(1);
                         })
                         .build();
        auto n = std::make_shared<tako::sync::notify>();
        auto inner = [](life& lf, std::shared_ptr<tako::sync::notify> n) -> tako::task<void> {
            throws_on_destruction t(lf);
            probe after(lf);
            co_await n->notified();
        };
        auto h = rt.spawn([&l, n, inner]() -> tako::task<void> {
            probe outer(l);
            co_await inner(l, n);
        });
        ASSERT_TRUE(wait_until([&] { return l.alive.load() == 3; }));
        h.abort();
        ASSERT_TRUE(wait_until([&] { return h.is_finished(); }));
        EXPECT_TRUE(h.take_result().error().is_cancelled());
    }
    EXPECT_EQ(reported.load(), 1);
    EXPECT_EQ(what, "destructor threw");
    EXPECT_EQ(l.alive.load(), 0);
}
