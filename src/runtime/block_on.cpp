// block_on: runs a task on the runtime and blocks the calling thread until it completes.

#include <atomic>
#include <chrono>
#include <source_location>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#include "runtime/driver.hpp"
#include "runtime/scheduler.hpp"
#include "tako/runtime.hpp"

namespace tako::detail {

namespace {

/// Signals a thread blocked in block_on when the watched task completes (or when the
/// watcher itself is cancelled at shutdown).
struct block_latch {
    std::atomic<std::uint32_t> done{0};
    void set() noexcept {
        done.store(1, std::memory_order_release);
        futex_wake(done, 1);
    }
    void wait() noexcept {
        while (done.load(std::memory_order_acquire) == 0) {
            futex_wait(done, 0, std::nullopt);
        }
    }
};

/// Completes when `target` completes; the join slot protocol without taking the result.
struct completion_awaiter {
    task_header* target;
    wake_gate gate{};
    bool linked = false;
    ~completion_awaiter() {
        if (linked) {
            unregister_join_waiter(target);
        }
    }
    bool await_ready() const noexcept { return is_complete(target); }
    bool await_suspend(std::coroutine_handle<> h) noexcept {
        // The watcher is the only awaiter of its target: never busy.
        linked = register_join_waiter(target, record_suspension(h, gate)) == join_wait::linked;
        return linked;
    }
    void await_resume() noexcept { linked = false; }
};

/// The watcher task's callable: destroyed when the watcher ends, including when shutdown
/// cancels it before it ever ran, and then it releases the thread in block_on.
struct watcher {
    task_header* target;
    block_latch* latch;
    watcher(task_header* t, block_latch* l) noexcept : target(t), latch(l) {}
    watcher(watcher&& o) noexcept : target(o.target), latch(std::exchange(o.latch, nullptr)) {}
    watcher& operator=(watcher&&) = delete;
    ~watcher() {
        if (latch != nullptr) {
            latch->set();
        }
    }
    task<void> operator()() const { co_await completion_awaiter{target}; }
};

} // namespace

void check_can_block(const char* what) {
    if (tls_thread.is_runtime_thread) {
        throw std::runtime_error(
            std::string("tako::") + what +
            ": cannot start a runtime from within a runtime. This happens because a "
            "function (like `block_on`) attempted to block the current thread while the "
            "thread is being used to drive asynchronous tasks; await the task instead, or "
            "use spawn_blocking / block_in_place");
    }
}

void runtime_core::block_on(task_header* t) {
    if (main->driven_by_block_on()) {
        submit_new_task(*main, t);
        // While another thread drives the scheduler (we are, e.g., a blocking-pool
        // thread), it runs our task too; if it leaves block_on first, we take over.
        while (!is_complete(t) && !main->try_drive(t)) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        return;
    }
    // The watcher is registered before the task, so the task never sees the runtime's task
    // count change under it (metrics taken inside block_on are stable).
    block_latch latch;
    auto* cell = make_cell(watcher(t, &latch), "block_on watcher", std::source_location::current());
    submit_new_task(*main, cell);
    drop_join_handle(cell);
    submit_new_task(*main, t);
    latch.wait();
    // If the runtime shut down, the watcher may be cancelled before the watched task;
    // the shutdown cancels that one next.
    while (!is_complete(t)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
}

task_header* block_on_cell(runtime_core& core, task_header* t) {
    core.block_on(t);
    return t;
}

} // namespace tako::detail
