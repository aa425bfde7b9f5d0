// block_on: runs a task on the runtime and blocks the calling thread until it completes
// (docs/design-notes.md, *How block_on waits*).

#include <atomic>
#include <memory>
#include <source_location>
#include <stdexcept>
#include <string>
#include <utility>

#include "runtime/scheduler.hpp"
#include "tako/runtime.hpp"

namespace tako::detail {

namespace {

/// Completes when `target` completes; the join slot protocol without taking the result.
struct completion_awaiter {
    task_header* target;
    wake_gate gate{};
    waker w{}; ///< the target's join slot points here while linked
    bool linked = false;
    ~completion_awaiter() {
        if (linked) {
            unregister_join_waiter(target);
        }
    }
    bool await_ready() const noexcept { return is_complete(target); }
    bool await_suspend(std::coroutine_handle<> h) noexcept {
        // The watcher is the only awaiter of its target: never busy.
        w = record_suspension(h, gate);
        linked = register_join_waiter(target, w) == join_wait::linked;
        return linked;
    }
    void await_resume() noexcept { linked = false; }
};

/// The watcher task's callable, which turns the watched task's completion into a wake of
/// the thread in block_on. It is destroyed when the watcher ends: when the target
/// completed, or when shutdown cancels the watcher (possibly before it ran, and before
/// the target). Either way its destructor sets `released` and notifies the waiters.
class watcher {
public:
    watcher(runtime_core& core, task_header* target,
            std::shared_ptr<std::atomic<bool>> released) noexcept
        : core_(&core), target_(target), released_(std::move(released)) {}
    watcher(watcher&& o) noexcept
        : core_(o.core_), target_(o.target_), released_(std::move(o.released_)) {}
    watcher& operator=(watcher&&) = delete;
    ~watcher() {
        if (released_) {
            released_->store(true, std::memory_order_release);
            core_->block_waiters.notify();
        }
    }
    task<void> operator()() const { co_await completion_awaiter{target_}; }

private:
    runtime_core* core_;
    task_header* target_;
    /// Shared with block_on: if block_on leaves early (a throwing park hook while it
    /// drove), the flag outlives it.
    std::shared_ptr<std::atomic<bool>> released_;
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
    const bool drive = main->driven_by_block_on();
    if (drive) {
        submit_new_task(*main, t);
        if (main->try_drive(t)) {
            return;
        }
        // Another thread drives the scheduler (we are, e.g., a blocking-pool thread): it
        // runs our task too, and we wait below.
    }
    auto released = std::make_shared<std::atomic<bool>>(false);
    task_header* const w = make_cell(watcher(*this, t, released), "block_on watcher",
                                     std::source_location::current());
    submit_new_task(*main, w);
    if (!drive) {
        // After the watcher, so the task never sees the runtime's task count change under
        // it (metrics taken inside block_on are stable).
        submit_new_task(*main, t);
    }
    block_waiters.wait_until([&] {
        if (released->load(std::memory_order_acquire)) {
            // The watcher ended: `t` completed, or shutdown cancelled the watcher first;
            // then it cancels `t` next and notifies once every task is cancelled.
            return is_complete(t);
        }
        // current_thread: if the thread that drove the scheduler left, take over. Drive
        // until the watcher ends (right after `t`), so it does not stay queued.
        return drive && main->try_drive(w) && is_complete(t);
    });
    drop_join_handle(w);
}

task_header* block_on_cell(runtime_core& core, task_header* t) {
    core.block_on(t);
    return t;
}

} // namespace tako::detail
