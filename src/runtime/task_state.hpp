#pragma once
// The task state machine's transitions (docs/execution-model.md): each is a small function
// on the state word that changes the bits and the reference count and returns what
// happened. The effects (running frames, queueing, freeing, waking the joiner) are the
// caller's: src/runtime/task.cpp. Most transitions are one CAS loop; the exceptions say so.

#include <atomic>
#include <cassert>
#include <cstdint>
#include <thread>

#include "tako/detail/task_header.hpp"

namespace tako::detail::task_transition {

using namespace task_state;

inline constexpr std::uint64_t ref_mask = ~(ref_one - 1);

[[nodiscard]] inline std::uint64_t refs(std::uint64_t s) noexcept {
    return (s & ref_mask) / ref_one;
}

/// Drops `n` references and clears `bits` (which must be set). True if they were the last:
/// the caller frees the task.
[[nodiscard]] inline bool drop_refs(task_header* t, std::uint64_t n,
                                    std::uint64_t bits = 0) noexcept {
    // acq_rel: the decrement that frees must see every other owner's writes (acquire),
    // and ours must be visible to whoever frees (release).
    const std::uint64_t prev = t->state.fetch_sub(n * ref_one + bits, std::memory_order_acq_rel);
    assert(refs(prev) >= n);
    return refs(prev) == n;
}

enum class to_running : unsigned char {
    run,    ///< RUNNING taken: poll the task
    cancel, ///< RUNNING taken, CANCELLED was set: destroy the frames
    gone,   ///< complete, or another thread holds it for cancellation: drop the queue ref
};
/// A queued task is taken off its queue: NOTIFIED → RUNNING.
[[nodiscard]] inline to_running transition_to_running(task_header* t) noexcept {
    std::uint64_t s = t->state.load(std::memory_order_relaxed);
    do {
        if (s & (complete | running)) {
            return to_running::gone;
        }
        // acquire: the previous runner's frame writes and the waker's node writes.
    } while (!t->state.compare_exchange_weak(s, (s & ~notified) | running,
                                             std::memory_order_acquire,
                                             std::memory_order_relaxed));
    return (s & cancelled) ? to_running::cancel : to_running::run;
}

enum class to_idle : unsigned char {
    idle,    ///< RUNNING released, the queue reference dropped (not the last)
    requeue, ///< woken (or yielded) during the poll: the caller queues it again
    freed,   ///< RUNNING released and the reference was the last: the caller frees it
};
/// The runner is done with a poll that did not finish the task.
[[nodiscard]] inline to_idle transition_to_idle(task_header* t, bool yielded) noexcept {
    std::uint64_t s = t->state.load(std::memory_order_relaxed);
    std::uint64_t next = 0;
    bool requeue = false;
    do {
        requeue = yielded || (s & notified);
        next = s & ~running;
        next = requeue ? (next | notified) : next - ref_one;
        // release: our frame writes are visible to the next runner.
    } while (!t->state.compare_exchange_weak(s, next, std::memory_order_acq_rel,
                                             std::memory_order_relaxed));
    if (requeue) {
        return to_idle::requeue;
    }
    return refs(next) == 0 ? to_idle::freed : to_idle::idle;
}

/// The runner finished the task (returned, threw, or was cancelled): RUNNING → COMPLETE.
/// Returns the state before, whose JOIN_INTEREST and JOIN_WAKER say who must be told.
[[nodiscard]] inline std::uint64_t transition_to_complete(task_header* t) noexcept {
    std::uint64_t s = t->state.load(std::memory_order_relaxed);
    // acq_rel: release publishes the result to the join_handle; acquire orders the
    // join_interest read.
    while (!t->state.compare_exchange_weak(s, (s & ~(running | notified)) | complete,
                                           std::memory_order_acq_rel,
                                           std::memory_order_relaxed)) {
    }
    return s;
}

enum class to_notified : unsigned char {
    nothing, ///< coalesced with a pending notification, running, or complete; ref dropped
    freed,   ///< as `nothing`, and the reference was the last: the caller frees the task
    handed,  ///< another waker is pushing: it pushes once more, with our reference
    submit,  ///< NOTIFIED|SCHEDULING set and a queue reference added: the caller pushes
};
/// A waker consumes its reference to wake the task.
[[nodiscard]] inline to_notified transition_to_notified(task_header* t) noexcept {
    std::uint64_t s = t->state.load(std::memory_order_relaxed);
    std::uint64_t next = 0;
    to_notified what = to_notified::nothing;
    do {
        if (s & (complete | notified)) {
            next = s - ref_one; // coalesced, or nothing left to run
            what = to_notified::nothing;
        } else if (s & running) {
            next = (s | notified) - ref_one; // the runner re-queues it
            what = to_notified::nothing;
        } else if (s & scheduling) {
            next = s | notified | push_again; // our reference becomes the queue's
            what = to_notified::handed;
        } else {
            // A new reference for the queue; ours is kept until the push is done.
            next = (s | notified | scheduling) + ref_one;
            what = to_notified::submit;
        }
        // acq_rel: release makes the resource's writes (the fired node) visible to the
        // runner, which acquires in transition_to_running.
    } while (!t->state.compare_exchange_weak(s, next, std::memory_order_acq_rel,
                                             std::memory_order_relaxed));
    if (what == to_notified::nothing && refs(next) == 0) {
        return to_notified::freed;
    }
    return what;
}

enum class to_cancelled : unsigned char {
    nothing, ///< already complete or cancelled
    marked,  ///< running or queued: its runner (or the queue) cancels it
    submit,  ///< idle: marked, and the caller pushes it (two references added)
};
/// `abort()`: sets CANCELLED and makes sure a runner will see it.
[[nodiscard]] inline to_cancelled transition_to_cancelled(task_header* t) noexcept {
    std::uint64_t s = t->state.load(std::memory_order_relaxed);
    std::uint64_t next = 0;
    to_cancelled what = to_cancelled::nothing;
    do {
        if (s & (complete | cancelled)) {
            return to_cancelled::nothing;
        }
        if (s & (running | notified)) {
            next = s | cancelled | notified;
            what = to_cancelled::marked;
        } else if (s & scheduling) {
            next = (s | cancelled | notified | push_again) + ref_one; // see transition_to_notified
            what = to_cancelled::marked;
        } else {
            // One reference for the queue, one held until the push is done.
            next = (s | cancelled | notified | scheduling) + 2 * ref_one;
            what = to_cancelled::submit;
        }
    } while (!t->state.compare_exchange_weak(s, next, std::memory_order_acq_rel,
                                             std::memory_order_relaxed));
    return what;
}

enum class after_push : unsigned char {
    push_again, ///< another waker came meanwhile: push once more and call again
    done,       ///< SCHEDULING cleared and the pusher's reference dropped
    freed,      ///< as `done`, and it was the last reference: the caller frees the task
};
/// The holder of SCHEDULING pushed the task: either hand it one more push (PUSH_AGAIN was
/// set, now cleared) or clear SCHEDULING and drop the pusher's reference.
[[nodiscard]] inline after_push transition_after_push(task_header* t) noexcept {
    std::uint64_t s = t->state.load(std::memory_order_acquire);
    for (;;) {
        if (s & push_again) {
            if (t->state.compare_exchange_weak(s, s & ~push_again, std::memory_order_acq_rel,
                                               std::memory_order_acquire)) {
                return after_push::push_again;
            }
            continue;
        }
        if (t->state.compare_exchange_weak(s, s - ref_one - scheduling,
                                           std::memory_order_acq_rel,
                                           std::memory_order_acquire)) {
            return refs(s) == 1 ? after_push::freed : after_push::done;
        }
    }
}

enum class to_shutdown : unsigned char {
    cancel, ///< RUNNING|CANCELLED taken: the caller destroys the frames
    marked, ///< being polled on another thread: CANCELLED|NOTIFIED set, so its runner
            ///< queues it again after the poll and the next run destroys the frames
    skip,   ///< already complete
};
/// Runtime shutdown takes a task to cancel it. Not one CAS loop: it waits (yielding the
/// thread) while another thread holds SCHEDULING, so the queue drain sees the entry and
/// the scheduler outlives the push. A task being polled (a blocking task, a task inside
/// block_in_place, a current_thread runtime driven by another thread's block_on) cannot be
/// destroyed here; it is marked instead, as `abort()` does.
[[nodiscard]] inline to_shutdown transition_to_shutdown(task_header* t) noexcept {
    std::uint64_t s = t->state.load(std::memory_order_acquire);
    std::uint64_t next = 0;
    to_shutdown what = to_shutdown::skip;
    do {
        while (s & (scheduling | push_again)) {
            std::this_thread::yield();
            s = t->state.load(std::memory_order_acquire);
        }
        if (s & complete) {
            return to_shutdown::skip;
        }
        if (s & running) {
            next = s | cancelled | notified;
            what = to_shutdown::marked;
        } else {
            next = s | running | cancelled;
            what = to_shutdown::cancel;
        }
    } while (!t->state.compare_exchange_weak(s, next, std::memory_order_acq_rel,
                                             std::memory_order_relaxed));
    return what;
}

enum class drop_join : unsigned char {
    dropped,  ///< JOIN_INTEREST and the handle's reference are gone (the task is not done)
    complete, ///< the task is complete: the caller reports an unobserved exception first,
              ///< then calls `drop_refs(t, 1, join_interest)`
};
/// The join_handle goes away. Clearing JOIN_INTEREST and dropping the handle's reference
/// is one RMW while the task runs (the handle holds the bit, so subtracting clears it).
[[nodiscard]] inline drop_join transition_drop_join(task_header* t) noexcept {
    // acquire: a completed task's result is visible.
    std::uint64_t s = t->state.load(std::memory_order_acquire);
    for (;;) {
        if (s & complete) {
            return drop_join::complete;
        }
        // Not complete: the lifecycle reference keeps the task alive past this CAS.
        if (t->state.compare_exchange_weak(s, s - join_interest - ref_one,
                                           std::memory_order_acq_rel,
                                           std::memory_order_acquire)) {
            return drop_join::dropped;
        }
    }
}

/// Sets JOIN_WAKER unless the task is complete. False: complete, nothing set.
[[nodiscard]] inline bool transition_set_join_waker(task_header* t) noexcept {
    std::uint64_t s = t->state.load(std::memory_order_acquire);
    do {
        if (s & complete) {
            return false;
        }
    } while (!t->state.compare_exchange_weak(s, s | join_waker, std::memory_order_acq_rel,
                                             std::memory_order_acquire));
    return true;
}

/// Clears JOIN_WAKER unless the task is complete (then completion owns the slot).
inline void transition_unset_join_waker(task_header* t) noexcept {
    std::uint64_t s = t->state.load(std::memory_order_relaxed);
    while (!(s & complete) &&
           !t->state.compare_exchange_weak(s, s & ~join_waker, std::memory_order_relaxed)) {
    }
}

/// A task spawned onto a runtime that is shutting down is cancelled before it was ever
/// queued: it becomes COMPLETE (cancelled) with the registry and queue references dropped;
/// handles keep theirs. Only the spawning thread can see the task yet.
inline void transition_cancel_unstarted_begin(task_header* t) noexcept {
    t->state.fetch_or(running | cancelled, std::memory_order_relaxed);
}
inline void transition_cancel_unstarted_end(task_header* t) noexcept {
    t->state.fetch_sub(2 * ref_one, std::memory_order_relaxed);
    // release: the (cancelled) outcome is published to whoever sees COMPLETE.
    t->state.fetch_xor(running | complete | notified, std::memory_order_release);
}

} // namespace tako::detail::task_transition
