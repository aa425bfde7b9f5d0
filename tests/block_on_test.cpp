// How block_on waits when it cannot run its task itself: a current_thread runtime that
// another thread drives, and a task that is still running when the runtime shuts down
// (src/runtime/block_on.cpp). The waits have no timeout to hide behind: a missed wake
// hangs the test (and ctest's timeout reports it).

#include <tako/tako.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace {

using tako::runtime;
using tako_test::ct;
using tako_test::mt;

namespace oneshot = tako::sync::oneshot;

/// Yields a few times (so it needs several polls), then returns `v`.
tako::task<int> yield_then_return(int v) {
    for (int i = 0; i < 3; ++i) {
        co_await tako::yield_now();
    }
    co_return v;
}

/// Signals `started`, then returns what `go` delivers (-1 if its sender is dropped).
tako::task<int> start_then_wait(oneshot::sender<void> started, oneshot::receiver<int> go) {
    (void)started.send();
    auto v = co_await go;
    co_return v.value_or(-1);
}

} // namespace

// The main thread drives the runtime until the plain thread's block_on has returned, so
// the plain thread never gets to drive: it must be woken when its task completes.
TEST(block_on, waits_while_another_thread_drives_current_thread) {
    runtime rt = ct().build();
    const tako::runtime_handle handle = rt.handle();
    std::thread helper;
    const int got = rt.block_on([&]() -> tako::task<int> {
        auto [tx, rx] = oneshot::channel<int>();
        helper = std::thread(
            [](tako::runtime_handle h, oneshot::sender<int> out) {
                (void)out.send(h.block_on(yield_then_return(42)));
            },
            handle, std::move(tx));
        auto v = co_await rx;
        co_return v.value_or(-1);
    });
    helper.join();
    EXPECT_EQ(got, 42);
}

// The plain thread's task starts on the main thread's drive; then the main thread leaves
// block_on with that task still waiting. The plain thread must notice, take over the
// scheduler and run its task to the end; the main thread's next block_on then waits for
// the plain thread's turn to end in the same way.
TEST(block_on, takes_over_when_the_driving_thread_leaves_current_thread) {
    runtime rt = ct().build();
    const tako::runtime_handle handle = rt.handle();
    auto [go_tx, go_rx] = oneshot::channel<int>();
    auto got = std::make_shared<std::atomic<int>>(0);
    std::thread helper;
    rt.block_on([&]() -> tako::task<void> {
        auto [started_tx, started_rx] = oneshot::channel<void>();
        helper = std::thread(
            [](tako::runtime_handle h, oneshot::sender<void> started, oneshot::receiver<int> go,
               std::shared_ptr<std::atomic<int>> out) {
                out->store(h.block_on(start_then_wait(std::move(started), std::move(go))));
            },
            handle, std::move(started_tx), std::move(go_rx), got);
        (void)co_await started_rx; // the helper's task runs here, on our drive
    });
    // Nobody drives the runtime now but the helper, whose task waits for this send.
    (void)go_tx.send(42);
    const int seven = rt.block_on(yield_then_return(7));
    helper.join();
    EXPECT_EQ(got->load(), 42);
    EXPECT_EQ(seven, 7);
}

// Several plain threads take turns driving one current_thread runtime and waiting for it.
TEST(block_on, many_threads_share_a_current_thread_runtime) {
    runtime rt = ct().build();
    constexpr int threads = 4;
    constexpr int rounds = 50;
    std::atomic<int> sum{0};
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t) {
        ts.emplace_back([&rt, &sum] {
            for (int i = 0; i < rounds; ++i) {
                sum.fetch_add(rt.block_on(yield_then_return(1)));
            }
        });
    }
    for (auto& t : ts) {
        t.join();
    }
    EXPECT_EQ(sum.load(), threads * rounds);
}

// The task is inside block_in_place when the runtime shuts down; a worker's stop hook
// (run as shutdown stops the workers) lets it finish. Shutdown waits for it, so the task
// completes with its value, and the plain thread in block_on gets that value.
TEST(block_on, returns_the_value_of_a_task_that_finishes_during_shutdown) {
    auto released = std::make_shared<std::atomic<bool>>(false);
    auto started = std::make_shared<std::atomic<bool>>(false);
    std::optional<runtime> rt(mt(2).on_thread_stop([released] {
                                       released->store(true);
                                       released->notify_all();
                                   })
                                  .build());
    auto got = std::make_shared<std::atomic<int>>(0);
    std::thread waiter(
        [got, released, started](tako::runtime_handle h) {
            got->store(h.block_on([](std::shared_ptr<std::atomic<bool>> rel,
                                     std::shared_ptr<std::atomic<bool>> st) -> tako::task<int> {
                st->store(true);
                st->notify_all();
                tako::block_in_place([&rel] { rel->wait(false); });
                co_return 7;
            }(released, started)));
        },
        rt->handle());
    started->wait(false);
    rt.reset(); // shutdown: stops the workers, whose stop hooks release the task
    waiter.join();
    EXPECT_EQ(got->load(), 7);
}
