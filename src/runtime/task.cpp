// The task state machine (docs/execution-model.md): running, waking, completing,
// cancelling and joining a spawned task. Every transition is one RMW on the state word.

#include <cassert>
#include <cstdio>
#include <stdexcept>
#include <thread>

#include "runtime/blocking_pool.hpp"
#include "runtime/scheduler.hpp"
#include "tako/task.hpp"

namespace tako::detail {

using namespace task_state;

constinit thread_local poll_context tls_poll{};

namespace {

constexpr std::uint64_t ref_mask = ~(ref_one - 1);

std::uint64_t refs(std::uint64_t s) noexcept {
    return (s & ref_mask) / ref_one;
}

/// Drops `n` references (and clears `bits`, which must be set); frees the cell if they
/// were the last.
void release(task_header* t, std::uint64_t n, std::uint64_t bits = 0) noexcept {
    // acq_rel: the decrement that frees must see every other owner's writes (acquire),
    // and ours must be visible to whoever frees (release).
    std::uint64_t prev = t->state.fetch_sub(n * ref_one + bits, std::memory_order_acq_rel);
    assert(refs(prev) >= n);
    if (refs(prev) == n) {
        t->drop(t, drop_kind::deallocate);
    }
}

/// Hands the result over to the awaiting task, if any. Runs after COMPLETE is set.
void notify_join_waiter(task_header* t) noexcept {
    task_ref r;
    {
        std::lock_guard guard(t->join_lock);
        if (t->join_waiter) {
            r = t->join_waiter.fire();
            t->join_waiter = {};
        }
    }
    std::move(r).wake();
}

/// The runner finished `t` (body returned, threw, or frames were destroyed by
/// cancellation). Drops the lifecycle reference plus `extra_refs`.
void finish(task_header* t, std::uint64_t extra_refs) noexcept {
    t->drop(t, drop_kind::callable);
    t->sched->core().registry.remove(t);
    std::uint64_t s = t->state.load(std::memory_order_relaxed);
    std::uint64_t next = 0;
    do {
        next = (s & ~(running | notified)) | complete;
        // acq_rel: release publishes the result to the join_handle; acquire orders
        // the join_interest read.
    } while (!t->state.compare_exchange_weak(s, next, std::memory_order_acq_rel,
                                             std::memory_order_relaxed));
    if (!(s & join_interest) && t->root && t->root_promise->exception) {
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
    if (t->root) {
        // Destroys the whole chain outermost-first; every awaiter unlinks its wait node
        // in its destructor (docs/execution-model.md).
        std::coroutine_handle<> root = t->root;
        t->root = nullptr;
        task_header* const outer = std::exchange(tls_cancelling, t);
        destroy_frames(root, *t->root_promise);
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
    std::uint64_t s = t->state.load(std::memory_order_acquire);
    for (;;) {
        if (s & push_again) {
            if (t->state.compare_exchange_weak(s, s & ~push_again, std::memory_order_acq_rel,
                                               std::memory_order_acquire)) {
                sched->schedule(t, false);
                s = t->state.load(std::memory_order_acquire);
            }
            continue;
        }
        if (t->state.compare_exchange_weak(s, s - ref_one - scheduling, std::memory_order_acq_rel,
                                           std::memory_order_acquire)) {
            break;
        }
    }
    if (pinned) {
        sched->unpin();
    }
    if (refs(s) == 1) {
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

void destroy_frames(std::coroutine_handle<> h, promise_base& p) noexcept {
    // A local's destructor that throws during destroy() is caught by the body's implicit
    // handler: unhandled_exception runs, then the final suspend, and destroy() returns with
    // the frame suspended there, not freed. No continuation: the final suspend must not
    // resume anyone. Then the frame is destroyed once more, from its final suspend point.
    bool threw = false;
    p.continuation = nullptr;
    p.threw_while_destroyed = &threw;
    try {
        h.destroy();
    } catch (...) {
        report_destructor_exception(std::current_exception()); // a parameter's destructor
        return;
    }
    if (threw) {
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
    std::uint64_t s = t->state.load(std::memory_order_relaxed);
    std::uint64_t next = 0;
    bool submit = false;
    do {
        submit = false;
        if (s & (complete | notified)) {
            next = s - ref_one; // coalesced, or nothing left to run
        } else if (s & running) {
            next = (s | notified) - ref_one; // the runner re-queues it
        } else if (s & scheduling) {
            // Another waker is still pushing an earlier notification: it pushes once more
            // for us. Our reference becomes the queue's.
            next = s | notified | push_again;
        } else {
            // A new reference for the queue; ours is kept until the push is done.
            next = (s | notified | scheduling) + ref_one;
            submit = true;
        }
        // acq_rel: release makes the resource's writes (the fired node) visible to
        // the runner, which acquires in run_task.
    } while (!t->state.compare_exchange_weak(s, next, std::memory_order_acq_rel,
                                             std::memory_order_relaxed));
    if (submit) {
        submit_and_release(t);
    } else if (refs(next) == 0) {
        t->drop(t, drop_kind::deallocate);
    }
}

void run_task(task_header* t) noexcept {
    std::uint64_t s = t->state.load(std::memory_order_relaxed);
    std::uint64_t next = 0;
    do {
        if (s & (complete | running)) {
            // Cancelled at shutdown while queued (complete), or being cancelled right now
            // by the shutdown thread (running): only our queue reference is left to drop.
            release(t, 1);
            return;
        }
        next = (s & ~notified) | running;
        // acquire: the previous runner's frame writes and the waker's node writes.
    } while (!t->state.compare_exchange_weak(s, next, std::memory_order_acquire,
                                             std::memory_order_relaxed));
    if (s & cancelled) {
        cancel_frames(t);
        finish(t, 1);
        return;
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

        if (t->root.done()) {
            finish(t, 1);
            return;
        }
    }
    // Else a stale wake (meant for a wait the task has left): it stays suspended.
    s = t->state.load(std::memory_order_relaxed);
    bool requeue = false;
    do {
        requeue = yielded || (s & notified);
        next = s & ~running;
        next = requeue ? (next | notified) : next - ref_one;
        // release: our frame writes are visible to the next runner.
    } while (!t->state.compare_exchange_weak(s, next, std::memory_order_acq_rel,
                                             std::memory_order_relaxed));
    if (requeue) {
        t->sched->schedule(t, true);
    }
}

void cancel_for_shutdown(task_header* t) noexcept {
    std::uint64_t s = t->state.load(std::memory_order_acquire);
    do {
        while (s & (scheduling | push_again)) {
            // Another thread is pushing the task to its queue: let it finish, so the
            // queue drain sees the entry and the scheduler outlives the push.
            std::this_thread::yield();
            s = t->state.load(std::memory_order_acquire);
        }
        if (s & (running | complete)) {
            return; // a blocking task still running: it completes on its own
        }
    } while (!t->state.compare_exchange_weak(s, s | running | cancelled, std::memory_order_acquire,
                                             std::memory_order_relaxed));
    cancel_frames(t);
    // A queued task keeps its queue reference; the queue drain releases it.
    finish(t, 0);
}

void fail_unstarted(task_header* t, std::exception_ptr e) noexcept {
    std::uint64_t s = t->state.load(std::memory_order_relaxed);
    do {
        if (s & (complete | running)) {
            release(t, 1); // cancelled meanwhile (shutdown): only our reference is left
            return;
        }
    } while (!t->state.compare_exchange_weak(s, (s & ~notified) | running,
                                             std::memory_order_acquire, std::memory_order_relaxed));
    if (s & cancelled) {
        cancel_frames(t);
    } else {
        t->root_promise->exception = std::move(e);
    }
    finish(t, 1);
}

void abort_task(task_header* t) noexcept {
    std::uint64_t s = t->state.load(std::memory_order_relaxed);
    std::uint64_t next = 0;
    bool submit = false;
    do {
        submit = false;
        if (s & (complete | cancelled)) {
            return;
        }
        if (s & (running | notified)) {
            next = s | cancelled | notified; // the runner (or the queue) cancels it
        } else if (s & scheduling) {
            next = (s | cancelled | notified | push_again) + ref_one; // see task_ref::wake
        } else {
            // One reference for the queue, one held until the push is done.
            next = (s | cancelled | notified | scheduling) + 2 * ref_one;
            submit = true;
        }
    } while (!t->state.compare_exchange_weak(s, next, std::memory_order_acq_rel,
                                             std::memory_order_relaxed));
    if (submit) {
        submit_and_release(t);
    }
}

bool is_complete(const task_header* t) noexcept {
    // acquire: pairs with finish(); the result is readable once this is true.
    return (t->state.load(std::memory_order_acquire) & complete) != 0;
}

void drop_join_handle(task_header* t) noexcept {
    // Clearing join_interest and dropping the handle's reference is one RMW (the handle
    // holds the bit, so subtracting it clears it). acquire: a completed task's result is
    // visible.
    std::uint64_t s = t->state.load(std::memory_order_acquire);
    for (;;) {
        if (s & complete) {
            // finish() saw our interest and left the report to us. Check while our
            // reference still keeps the frame alive.
            if (t->root && t->root_promise->exception) {
                report_dropped_exception(t);
            }
            release(t, 1, join_interest);
            return;
        }
        // Not complete: the lifecycle reference keeps the task alive past this CAS.
        if (t->state.compare_exchange_weak(s, s - join_interest - ref_one,
                                           std::memory_order_acq_rel, std::memory_order_acquire)) {
            return;
        }
    }
}

join_wait register_join_waiter(task_header* t, waker w) noexcept {
    std::lock_guard guard(t->join_lock);
    if (t->join_waiter) {
        return join_wait::busy;
    }
    t->join_waiter = w;
    // Setting JOIN_WAKER fails once COMPLETE is set: either finish() sees the bit (and
    // takes the lock, after us), or we see COMPLETE and do not wait.
    std::uint64_t s = t->state.load(std::memory_order_acquire);
    do {
        if (s & complete) {
            t->join_waiter = {};
            return join_wait::complete;
        }
    } while (!t->state.compare_exchange_weak(s, s | join_waker, std::memory_order_acq_rel,
                                             std::memory_order_acquire));
    return join_wait::linked;
}

void unregister_join_waiter(task_header* t) noexcept {
    std::lock_guard guard(t->join_lock);
    t->join_waiter = {};
    std::uint64_t s = t->state.load(std::memory_order_relaxed);
    while (!(s & complete) &&
           !t->state.compare_exchange_weak(s, s & ~join_waker, std::memory_order_relaxed)) {
    }
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
        t->state.fetch_or(running | cancelled, std::memory_order_relaxed);
        cancel_frames(t);
        t->drop(t, drop_kind::callable);
        t->state.fetch_sub(2 * ref_one, std::memory_order_relaxed);
        t->state.fetch_xor(running | complete | notified, std::memory_order_release);
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
