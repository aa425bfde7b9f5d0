// The task harness (docs/execution-model.md): running, waking, completing, cancelling and
// joining a spawned task. The state transitions themselves are in runtime/task_state.hpp;
// this file carries out what each one says must happen.

#include <cassert>
#include <cstdio>
#include <stdexcept>
#include <thread>

#include "runtime/blocking_pool.hpp"
#include "runtime/scheduler.hpp"
#include "runtime/task_state.hpp"
#include "tako/task.hpp"

namespace tako::detail {

using namespace task_state;
using namespace task_transition;

constinit thread_local poll_context tls_poll{};

namespace {

/// Drops `n` references (and clears `bits`, which must be set); frees the task if they
/// were the last.
void release(task_header* t, std::uint64_t n, std::uint64_t bits = 0) noexcept {
    if (drop_refs(t, n, bits)) {
        t->drop(t, drop_kind::deallocate);
    }
}

/// Hands the result over to the awaiting task, if any. Runs after COMPLETE is set.
void notify_join_waiter(task_header* t) noexcept {
    task_ref r;
    {
        std::lock_guard guard(t->join_lock);
        if (t->join_waiter != nullptr) {
            r = std::exchange(t->join_waiter, nullptr)->fire();
        }
    }
    std::move(r).wake();
}

/// The runner finished `t` (body returned, threw, or frames were destroyed by
/// cancellation). Drops the lifecycle reference plus `extra_refs`.
void finish(task_header* t, std::uint64_t extra_refs) noexcept {
    t->drop(t, drop_kind::callable);
    t->sched->core().registry.remove(t);
    const std::uint64_t s = transition_to_complete(t);
    if (!(s & join_interest) && t->root_promise != nullptr && t->root_promise->exception) {
        t->sched->core().report_unhandled(t, t->root_promise->exception);
    }
    if (s & join_waker) {
        notify_join_waiter(t);
    }
    release(t, 1 + extra_refs);
}

/// The task whose frames this thread is destroying (for destroy_frames' report).
constinit thread_local task_header* tls_cancelling = nullptr;

void cancel_frames(task_header* t) noexcept {
    if (t->root_promise != nullptr) {
        // Destroys the whole chain outermost-first; every awaiter unlinks its wait node
        // in its destructor (docs/execution-model.md). The block stays: it is the header's.
        promise_base* const promise = std::exchange(t->root_promise, nullptr);
        task_header* const outer = std::exchange(tls_cancelling, t);
        destroy_frames(t->root(), *promise);
        tls_cancelling = outer;
    }
}

/// An exception nobody will observe: to the runtime's hook when the calling thread is in
/// the task's runtime (then it is certainly alive), else to stderr.
void report_dropped_exception(task_header* t) noexcept {
    // Compare pointers only: if the task's runtime is gone, t->sched dangles.
    runtime_core* here = tls_thread.runtime;
    if (here != nullptr && (here->main.get() == t->sched || here->blocking.get() == t->sched)) {
        here->report_unhandled(t, t->root_promise->exception);
        return;
    }
    std::fprintf(stderr, "tako: task %llu threw and its join_handle was dropped: %s\n",
                 static_cast<unsigned long long>(t->id),
                 describe_exception(t->root_promise->exception).c_str());
}

/// Pushes a task marked NOTIFIED|SCHEDULING, and again for every PUSH_AGAIN that another
/// waker left meanwhile; then clears SCHEDULING and drops the caller's reference. Only the
/// holder of SCHEDULING pushes, so one task is never pushed by two threads at once.
void submit_and_release(task_header* t) noexcept {
    // Until the first push the task cannot finish (it is ours to queue), so its scheduler
    // is alive here; the pin keeps it alive until our last access below.
    scheduler* const sched = t->sched;
    const bool pinned = sched->needs_pin();
    if (pinned) {
        sched->pin();
    }
    sched->schedule(t, false);
    after_push what = after_push::push_again;
    while ((what = transition_after_push(t)) == after_push::push_again) {
        sched->schedule(t, false);
    }
    if (pinned) {
        sched->unpin();
    }
    if (what == after_push::freed) {
        t->drop(t, drop_kind::deallocate);
    }
}

} // namespace

namespace {
void report_destructor_exception(std::exception_ptr e) noexcept {
    task_header* t = tls_cancelling != nullptr ? tls_cancelling : tls_poll.task;
    if (t != nullptr) {
        t->sched->core().report_unhandled(t, std::move(e));
    } else {
        std::fprintf(stderr, "tako: a destructor threw while a task frame was destroyed: %s\n",
                     describe_exception(e).c_str());
    }
}
} // namespace

constinit thread_local frame_destruction* tls_destroying = nullptr;

void destroy_frames(std::coroutine_handle<> h, promise_base& p) noexcept {
    // A local's destructor that throws during destroy() is caught by the body's implicit
    // handler: unhandled_exception runs, then the final suspend, and destroy() returns with
    // the frame suspended there, not freed. No continuation: the final suspend must not
    // resume anyone. Then the frame is destroyed once more, from its final suspend point.
    frame_destruction here{&p, false};
    frame_destruction* const outer = std::exchange(tls_destroying, &here);
    p.continuation = nullptr;
    try {
        h.destroy();
    } catch (...) {
        tls_destroying = outer;
        report_destructor_exception(std::current_exception()); // a parameter's destructor
        return;
    }
    tls_destroying = outer;
    if (here.threw) {
        std::exception_ptr e = std::exchange(p.exception, nullptr);
        destroy_frames(h, p);
        report_destructor_exception(std::move(e));
    }
}

bool scheduler::needs_pin() const noexcept {
    if (only_thread_ != std::thread::id{}) {
        return std::this_thread::get_id() != only_thread_;
    }
    return !(tls_thread.is_runtime_thread && tls_thread.runtime == &core_);
}

void task_header::ref_dec() noexcept {
    release(this, 1);
}

task_ref waker::fire() const noexcept {
    // Copy everything first: once the gate is open the leaf's task may resume it (on
    // another wake, e.g. a sibling branch's) and destroy the awaiter, and this waker with
    // it, while we still hold the resource's lock.
    task_header* const t = task;
    wake_gate* const g = gate;
    t->ref_inc();
    for (branch_flag* b = branch; b != nullptr; b = b->parent) {
        // release: pairs with the combinator's acquire exchange before it resumes the
        // branch.
        b->fired.store(true, std::memory_order_release);
    }
    if (g != nullptr) {
        // Last, release: the leaf that reads it open sees every write of the firing
        // resource, and from here on the awaiter belongs to its task again.
        g->open.store(true, std::memory_order_release);
    }
    return task_ref(t);
}

void task_ref::reset() noexcept {
    if (task_ != nullptr) {
        release(std::exchange(task_, nullptr), 1);
    }
}

void task_ref::wake() && noexcept {
    task_header* t = std::exchange(task_, nullptr);
    if (t == nullptr) {
        return;
    }
    switch (transition_to_notified(t)) {
    case to_notified::submit:
        submit_and_release(t);
        break;
    case to_notified::freed:
        t->drop(t, drop_kind::deallocate);
        break;
    case to_notified::nothing:
    case to_notified::handed:
        break;
    }
}

void run_task(task_header* t) noexcept {
    switch (transition_to_running(t)) {
    case to_running::gone:
        // Cancelled at shutdown while queued (complete), or being cancelled right now by
        // the shutdown thread (running): only our queue reference is left to drop.
        release(t, 1);
        return;
    case to_running::cancel:
        cancel_frames(t);
        finish(t, 1);
        return;
    case to_running::run:
        break;
    }

    bool yielded = false;
    if (t->resume_point.ready()) {
        poll_context& c = tls_poll;
        const poll_context outer = c; // a local_set runs its tasks inside another task
        c.task = t;
        c.branch = nullptr;
        c.resume_slot = &t->resume_point;
        c.locals = &t->locals;
        c.stack_base = static_cast<char*>(__builtin_frame_address(0));
        c.yielded = false;
        t->resume_point.handle.resume();
        yielded = c.yielded;
        const std::uint32_t budget = c.budget;
        c = outer;
        c.budget = budget;

        if (t->root().done()) {
            finish(t, 1);
            return;
        }
    }
    // Else a stale wake (meant for a wait the task has left): it stays suspended.
    switch (transition_to_idle(t, yielded)) {
    case to_idle::requeue:
        t->sched->schedule(t, true);
        break;
    case to_idle::freed:
        // Impossible while the registry holds its reference; kept total for clarity.
        t->drop(t, drop_kind::deallocate);
        break;
    case to_idle::idle:
        break;
    }
}

void cancel_for_shutdown(task_header* t) noexcept {
    if (transition_to_shutdown(t) != to_shutdown::cancel) {
        return; // complete, or marked for its runner to cancel after the poll
    }
    cancel_frames(t);
    // A queued task keeps its queue reference; the queue drain releases it.
    finish(t, 0);
}

void fail_unstarted(task_header* t, std::exception_ptr e) noexcept {
    switch (transition_to_running(t)) {
    case to_running::gone:
        release(t, 1); // cancelled meanwhile (shutdown): only our reference is left
        return;
    case to_running::cancel:
        cancel_frames(t);
        break;
    case to_running::run:
        t->root_promise->exception = std::move(e);
        break;
    }
    finish(t, 1);
}

void abort_task(task_header* t) noexcept {
    if (transition_to_cancelled(t) == to_cancelled::submit) {
        submit_and_release(t);
    }
}

bool is_complete(const task_header* t) noexcept {
    // acquire: pairs with finish(); the result is readable once this is true.
    return (t->state.load(std::memory_order_acquire) & complete) != 0;
}

void drop_join_handle(task_header* t) noexcept {
    if (transition_drop_join(t) == drop_join::complete) {
        // finish() saw our interest and left the report to us. Check while our reference
        // still keeps the frame alive.
        if (t->root_promise != nullptr && t->root_promise->exception) {
            report_dropped_exception(t);
        }
        release(t, 1, join_interest);
    }
}

join_wait register_join_waiter(task_header* t, const waker& w) noexcept {
    std::lock_guard guard(t->join_lock);
    if (t->join_waiter != nullptr) {
        return join_wait::busy;
    }
    t->join_waiter = &w;
    // Setting JOIN_WAKER fails once COMPLETE is set: either finish() sees the bit (and
    // takes the lock, after us), or we see COMPLETE and do not wait.
    if (!transition_set_join_waker(t)) {
        t->join_waiter = nullptr;
        return join_wait::complete;
    }
    return join_wait::linked;
}

void unregister_join_waiter(task_header* t) noexcept {
    std::lock_guard guard(t->join_lock);
    t->join_waiter = nullptr;
    transition_unset_join_waker(t);
}

/// Ids come from one process-wide counter, so they start at 1 and follow spawn order
/// across threads (`tokio::task::Id`). One relaxed increment per spawn.
std::uint64_t next_task_id() noexcept {
    static constinit std::atomic<std::uint64_t> next{1};
    return next.fetch_add(1, std::memory_order_relaxed);
}

void submit_new_task(scheduler& s, task_header* t) noexcept {
    t->sched = &s;
    runtime_core& core = s.core();
    if (!core.registry.insert(t)) {
        // The runtime is shutting down: the task is cancelled before it starts. Its
        // registry and queue references are dropped; handles keep theirs.
        transition_cancel_unstarted_begin(t);
        cancel_frames(t);
        t->drop(t, drop_kind::callable);
        transition_cancel_unstarted_end(t);
        return;
    }
    s.schedule(t, false);
}

[[noreturn]] void throw_empty_task() {
    throw std::logic_error("tako::task: awaiting or spawning an empty task "
                           "(moved-from, released, or already finished)");
}

} // namespace tako::detail

namespace tako {
std::optional<task_id> current_task_id() noexcept {
    const detail::task_header* t = detail::tls_poll.task;
    if (t == nullptr) {
        return std::nullopt;
    }
    return task_id{t->id};
}
} // namespace tako

namespace tako::detail {
std::uint32_t random_below(std::uint32_t n) noexcept {
    static constinit thread_local std::uint64_t state = 0;
    if (state == 0) {
        state = reinterpret_cast<std::uintptr_t>(&state) ^ 0x9E3779B97F4A7C15ull;
    }
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return static_cast<std::uint32_t>(state % n);
}
} // namespace tako::detail
