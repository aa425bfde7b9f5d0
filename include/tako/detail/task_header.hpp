#pragma once
/// \file
/// The header every spawned task starts with, the waker, and the per-thread poll context.
///
/// Execution model (docs/execution-model.md): a spawned task is one chain of `task<T>`
/// frames plus this header. One atomic state word holds the flags and the reference count.
/// A suspended leaf awaiter records where the chain resumes together with its own
/// `wake_gate` (`record_suspension`) and keeps the returned `waker`; the resource that
/// completes it calls `waker::fire()` under its own lock (opening the gate) and
/// `task_ref::wake()` after releasing it. Waking only schedules; the thread that holds
/// RUNNING resumes or destroys frames, and it resumes a leaf only once the leaf's gate is
/// open: a late wake meant for an earlier wait finds the current gate closed and is
/// dropped (the stale-wake rule).

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <source_location>

#include "tako/detail/spin_lock.hpp"

namespace tako::detail {

class scheduler;
struct task_header;
struct promise_base;

/// One `task_local` value in scope; entries chain to the enclosing scope.
struct local_entry {
    const void* key;
    void* value;
    local_entry* prev;
};

/// The fired flag of one branch of an in-task combinator (`join`, `select`). Flags chain
/// to the enclosing combinator's branch so nested combinators know which branch to resume.
struct branch_flag {
    std::atomic<bool> fired{false};
    branch_flag* parent = nullptr;
};

/// A leaf awaiter's own "my event happened" flag. `record_suspension` closes it; the
/// resource opens it through `waker::fire`. The scheduler resumes the leaf only when it is
/// open, so a wake-up meant for an earlier wait of the same task cannot resume this one.
struct wake_gate {
    std::atomic<bool> open{false};
};

/// Where a suspended chain (a task, or one combinator branch) continues, and the gate that
/// must be open first (null: resume on any wake, e.g. after a yield or in a combinator
/// driver that re-checks its branches).
struct suspension {
    std::coroutine_handle<> handle;
    const wake_gate* gate = nullptr;

    /// True if a wake may resume `handle` now; false for a stale wake.
    [[nodiscard]] bool ready() const noexcept {
        // acquire: pairs with waker::fire's release; the leaf then sees what fired it.
        return gate == nullptr || gate->open.load(std::memory_order_acquire);
    }
};

/// A counted reference to a task that is consumed by waking it (or released unused).
class task_ref {
public:
    task_ref() noexcept = default;
    explicit task_ref(task_header* t) noexcept : task_(t) {}
    task_ref(task_ref&& o) noexcept : task_(o.task_) { o.task_ = nullptr; }
    task_ref& operator=(task_ref&& o) noexcept {
        if (this != &o) {
            reset();
            task_ = o.task_;
            o.task_ = nullptr;
        }
        return *this;
    }
    ~task_ref() { reset(); }

    /// Schedules the task unless it is running, already notified or finished; never
    /// resumes it inline. Safe from any thread.
    void wake() && noexcept;
    void reset() noexcept;
    explicit operator bool() const noexcept { return task_ != nullptr; }

private:
    task_header* task_ = nullptr;
};

/// Who to wake when a wait node fires: the task, the innermost combinator branch, and the
/// gate of the leaf that waits.
struct waker {
    task_header* task = nullptr;
    branch_flag* branch = nullptr;
    wake_gate* gate = nullptr;

    explicit operator bool() const noexcept { return task != nullptr; }

    /// Takes a task reference, marks the branch chain fired and, last, opens the leaf's
    /// gate. Call it under the lock (or inside the atomic protocol) that the waiting
    /// awaiter's destructor takes while the awaiter may still be linked. Opening the gate
    /// hands the awaiter back to its task, which may resume and destroy it at once (even
    /// before the lock is released): the resource must not touch the awaiter, or this
    /// waker stored in it, after `fire()` returns.
    [[nodiscard]] task_ref fire() const noexcept;
};

/// What the running thread knows about the task it is resuming. Set by the scheduler
/// around each resumption; never read across a suspension (docs/execution-model.md).
struct poll_context {
    task_header* task = nullptr;
    branch_flag* branch = nullptr;
    /// Where a suspending leaf records the handle the task resumes next, and its gate.
    suspension* resume_slot = nullptr;
    /// Head of the task-local scopes of the chain being resumed (task or branch).
    local_entry** locals = nullptr;
    /// Stack position when the scheduler started resuming the task (see transfer_to).
    char* stack_base = nullptr;
    /// Cooperative budget left in this scheduling of the task (docs/execution-model.md).
    std::uint32_t budget = 0;
    /// The task asked to be re-queued at the back (yield_now, budget or stack exhausted).
    bool yielded = false;
};

extern constinit thread_local poll_context tls_poll;

/// Bits of `task_header::state`; the reference count lives above them.
namespace task_state {
inline constexpr std::uint64_t running = 1;        ///< a thread holds the frames
inline constexpr std::uint64_t notified = 2;       ///< queued, or to be re-queued by the runner
inline constexpr std::uint64_t complete = 4;       ///< result (or cancellation) is final
inline constexpr std::uint64_t cancelled = 8;      ///< abort requested
inline constexpr std::uint64_t join_interest = 16; ///< a join_handle still exists
/// A waker (or abort) is between setting NOTIFIED and finishing the queue push. Runtime
/// shutdown waits for it to clear before it cancels the task and frees the scheduler.
inline constexpr std::uint64_t scheduling = 32;
/// Set by a second waker that found `scheduling` set: the first one pushes once more.
inline constexpr std::uint64_t push_again = 64;
/// `join_waiter` holds a waker; completion takes `join_lock` only when this is set.
inline constexpr std::uint64_t join_waker = 128;
inline constexpr std::uint64_t ref_one = 256;
} // namespace task_state

enum class drop_kind : unsigned char {
    callable,   ///< destroy the owned callable (task ended or was cancelled)
    deallocate, ///< the last reference is gone: destroy the frames and free the block
};

/// Bytes in front of every `task<T>` frame: room for the header of a spawned task, so that
/// a task is one allocation (header, then its root frame). A frame that is only awaited
/// leaves the room unused; only the last word (`frame_size`, `hosts_task`) is written.
/// docs/task-layout.md says why this layout won.
inline constexpr std::size_t task_prefix_size = 128;

/// The type-erased part of every spawned task (docs/task-layout.md). It lives in the
/// prefix of the task's root frame. The first 64 bytes are what running a task touches.
///
/// Who may touch what, and when:
/// | field                        | written by                          | read by                         |
/// |------------------------------|-------------------------------------|---------------------------------|
/// | state                        | any thread, atomically              | any thread                      |
/// | queue_next                   | the queue that holds the task       | that queue                      |
/// | sched, drop, id, name,       | the spawning thread, before the     | any thread holding a reference  |
/// | location, frame_size         | task is published                   |                                 |
/// | root_promise, resume_point,  | the thread holding RUNNING (or the  | the thread holding RUNNING; the |
/// | locals, unconstrained_depth, | cancelling thread, which holds it)  | join side after COMPLETE        |
/// | callable                     |                                     |                                 |
/// | list_prev, list_next         | the registry, under its shard lock  | the registry                    |
/// | join_waiter                  | under join_lock                     | under join_lock                 |
struct task_header {
    std::atomic<std::uint64_t> state{0};
    task_header* queue_next = nullptr; ///< intrusive link for run and inject queues
    scheduler* sched = nullptr;
    void (*drop)(task_header*, drop_kind) noexcept = nullptr;
    /// The root frame's promise (result or exception); null once the frames are destroyed.
    promise_base* root_promise = nullptr;
    suspension resume_point;       ///< where the task continues when it next runs (and may)
    local_entry* locals = nullptr; ///< task_local scopes of the root chain
    // -- end of the hot cache line --
    task_header* list_prev = nullptr; ///< the runtime's registry of live tasks
    task_header* list_next = nullptr;
    std::uint64_t id = 0;
    const waker* join_waiter = nullptr; ///< in the task awaiting this one's join_handle
    void* callable = nullptr;           ///< the boxed callable that made the root frame
    const char* name = nullptr;
    std::source_location location;
    std::uint32_t frame_size = 0;            ///< bytes of the root frame after this header
    std::uint16_t unconstrained_depth = 0;   ///< > 0 while inside tako::unconstrained
    spin_lock join_lock;                     ///< guards join_waiter
    /// Last byte of the prefix: set while a header lives here (then the frame's delete
    /// leaves the block to the header); a frame that is only awaited has it clear.
    std::uint8_t hosts_task = 0;

    /// The root frame: it starts right after the header.
    [[nodiscard]] std::coroutine_handle<> root() noexcept {
        return std::coroutine_handle<>::from_address(this + 1);
    }

    void ref_inc() noexcept {
        // relaxed: a new reference is always made from an existing one, which keeps the
        // task alive; only the decrement that frees needs ordering.
        state.fetch_add(task_state::ref_one, std::memory_order_relaxed);
    }
    /// Drops one reference; frees the block when it was the last.
    void ref_dec() noexcept;
};

static_assert(sizeof(task_header) == task_prefix_size,
              "the header fills the frame prefix exactly");
static_assert(task_prefix_size % __STDCPP_DEFAULT_NEW_ALIGNMENT__ == 0,
              "frames after the prefix keep operator new's alignment");

/// The last word of a frame prefix, as `promise_base::operator new` writes it for every
/// frame (same layout as the header's last word).
struct frame_trailer {
    std::uint32_t frame_size;
    std::uint16_t unconstrained_depth;
    std::uint8_t join_lock;
    std::uint8_t hosts_task;
};
static_assert(sizeof(frame_trailer) == 8);
static_assert(offsetof(task_header, frame_size) == task_prefix_size - sizeof(frame_trailer) &&
                  offsetof(task_header, hosts_task) == task_prefix_size - 1,
              "the header's last word is laid out as frame_trailer");

/// Records that the running task suspends at `h` until `gate` opens, closes the gate, and
/// returns whom to wake. Call it from a leaf awaiter's `await_suspend` on the runner
/// thread, before the waker is published to the resource (under its lock). The gate must
/// live as long as the suspension: a member of the awaiter.
[[nodiscard]] inline waker record_suspension(std::coroutine_handle<> h, wake_gate& gate) noexcept {
    poll_context& c = tls_poll;
    // relaxed: the waker is published to the firing thread under the resource's lock (or
    // by a release RMW), which orders this store before any fire.
    gate.open.store(false, std::memory_order_relaxed);
    *c.resume_slot = suspension{h, &gate};
    return waker{c.task, c.branch, &gate};
}

/// Records that a combinator driver suspends at `h` and is resumed on any wake of its
/// chain: it re-checks its branches each time, so a stale wake costs only a poll.
inline void record_driver_suspension(std::coroutine_handle<> h) noexcept {
    *tls_poll.resume_slot = suspension{h, nullptr};
}

/// Asks the scheduler to resume `h` later, from the back of the queue, instead of now.
inline void yield_at(std::coroutine_handle<> h) noexcept {
    poll_context& c = tls_poll;
    *c.resume_slot = suspension{h, nullptr};
    for (branch_flag* b = c.branch; b != nullptr; b = b->parent) {
        // release: the combinator that reads the flag then resumes this branch.
        b->fired.store(true, std::memory_order_release);
    }
    c.yielded = true;
}

/// Spends one unit of the cooperative budget. Returns false when it is exhausted: the
/// caller must then suspend with `yield_at` even though its result is ready.
[[nodiscard]] inline bool consume_budget() noexcept {
    poll_context& c = tls_poll;
    if (c.task == nullptr || c.task->unconstrained_depth > 0) {
        return true;
    }
    if (c.budget == 0) {
        return false;
    }
    --c.budget;
    return true;
}

/// Whether the running task may still complete an operation without yielding (the budget
/// is not spent, or the task runs unconstrained). Spends nothing.
[[nodiscard]] inline bool has_budget() noexcept {
    const poll_context& c = tls_poll;
    return c.task == nullptr || c.task->unconstrained_depth > 0 || c.budget != 0;
}

/// Stack growth after which a transfer between frames is turned into a reschedule: g++
/// emits no tail call for symmetric transfer at -O0/-O1 or under ASan, so a loop of
/// immediately-ready awaits would otherwise grow the stack without bound.
inline constexpr std::ptrdiff_t max_stack_growth = 128 * 1024;

/// Symmetric-transfer target for `next`, or a no-op after rescheduling `next` when the
/// stack has grown past `max_stack_growth` since the task was resumed.
inline std::coroutine_handle<> transfer_to(std::coroutine_handle<> next) noexcept {
    poll_context& c = tls_poll;
    char* sp = static_cast<char*>(__builtin_frame_address(0));
    if (c.stack_base != nullptr && c.stack_base - sp > max_stack_growth) [[unlikely]] {
        yield_at(next);
        return std::noop_coroutine();
    }
    return next;
}

} // namespace tako::detail
