#pragma once
/// \file
/// `tako::sync::barrier`: lets `n` tasks wait for each other (`tokio::sync::Barrier`).
///
/// ```cpp
/// #include <tako/sync/barrier.hpp>
///
/// tako::task<void> phases() {
///     auto b = std::make_shared<tako::sync::barrier>(3); // shared: the tasks may outlive us
///     std::vector<tako::join_handle<bool>> hs;
///     for (int i = 0; i < 3; ++i) {
///         hs.push_back(tako::spawn([b]() -> tako::task<bool> {
///             auto r = co_await b->wait(); // all three continue together
///             co_return r.is_leader();     // true for exactly one of them
///         }));
///     }
///     int leaders = 0;
///     for (auto& h : hs) {
///         leaders += (co_await h).value_or(false) ? 1 : 0;
///     }
/// }
/// ```
///
/// `co_await b.wait()` counts the calling task as arrived and suspends it until `n` tasks
/// have arrived; then all of them continue, and the barrier starts over for the next
/// *generation* (it is reusable). Exactly one task per generation, the last to arrive,
/// gets a result whose `is_leader()` is true. A barrier for `0` tasks behaves as one for
/// `1` (every wait completes at once, as the leader), as in Tokio.
///
/// Thread-safe; never resumes a waiter inline (the leader wakes the others in batches of
/// `detail::wake_list::capacity`, unlocking between batches).
///
/// **Cancel safety**: `wait()` is *not* cancel-safe, as Tokio's is not: a task counts as
/// arrived as soon as its `wait()` is first awaited, and cancelling it afterwards does not
/// take the arrival back. The generation then completes when `n` arrivals were counted,
/// including the cancelled one, so fewer than `n` tasks continue together. An awaiter that
/// is created but never awaited counts for nothing.

#include <coroutine>
#include <cstddef>
#include <mutex>

#include "tako/detail/spin_lock.hpp"
#include "tako/detail/wait_list.hpp"

namespace tako::sync {

/// What `barrier::wait` gives (`tokio::sync::BarrierWaitResult`).
class barrier_wait_result {
public:
    /// True for exactly one task of each generation: the one whose arrival completed it.
    [[nodiscard]] bool is_leader() const noexcept { return leader_; }

private:
    friend class barrier;
    explicit barrier_wait_result(bool leader) noexcept : leader_(leader) {}
    bool leader_;
};

/// A reusable barrier for `n` tasks (`tokio::sync::Barrier`). Not copyable or movable;
/// it must outlive every `wait()` awaiter on it.
class barrier {
public:
    /// A barrier that releases its waiters each time `n` of them have arrived (`n == 0`
    /// behaves as `1`).
    explicit barrier(std::size_t n) noexcept : n_(n == 0 ? 1 : n) {}
    barrier(const barrier&) = delete;
    barrier& operator=(const barrier&) = delete;
    /// Precondition: no task is waiting (their awaiters refer to this barrier).
    ~barrier() = default;

    class awaiter;
    /// Arrives at the barrier when awaited and completes once `n` tasks have arrived in
    /// this generation. Not cancel-safe (see the file comment): a cancelled waiter stays
    /// counted.
    [[nodiscard]] awaiter wait() noexcept;

    /// The awaiter of `wait()`. Its wait node is a private base, so the leader finds the
    /// awaiter from the node.
    class awaiter : private detail::wait_node {
    public:
        explicit awaiter(barrier& b) noexcept : barrier_(b) {}
        /// Only an awaiter that has not been awaited may be moved (e.g. into `select`).
        awaiter(awaiter&& o) noexcept : detail::wait_node(), barrier_(o.barrier_) {}
        awaiter(const awaiter&) = delete;
        awaiter& operator=(const awaiter&) = delete;
        /// Leaves the waiter list if the waiting task is cancelled before its generation
        /// completes (its arrival stays counted).
        ~awaiter() {
            if (phase_ != waiting) {
                return; // never linked, or resumed after the leader let go of it
            }
            std::lock_guard guard(barrier_.lock_);
            if (is_linked()) {
                unlink();
            }
        }

        /// Never ready: arriving takes the lock, in `await_suspend`.
        bool await_ready() const noexcept { return false; }
        /// Arrives; the last arrival of a generation releases the others and completes at
        /// once (or after a yield, if the task's budget is spent). Resumed by the scheduler
        /// once the leader fired our node (its gate is open).
        bool await_suspend(std::coroutine_handle<> h) noexcept {
            std::unique_lock guard(barrier_.lock_);
            if (++barrier_.arrived_ < barrier_.n_) {
                arm(h);
                barrier_.waiters_.push_back(*this);
                phase_ = waiting;
                return true;
            }
            leader_ = true;
            barrier_.release_generation(guard);
            return detail::complete_or_yield(h);
        }
        /// Whether this task led the generation.
        barrier_wait_result await_resume() noexcept {
            phase_ = done;
            return barrier_wait_result(leader_);
        }

    private:
        friend class barrier;
        /// Written and read only by the awaiting task.
        enum phase_t : unsigned char { idle, waiting, done };

        barrier& barrier_;
        phase_t phase_ = idle;
        bool leader_ = false;
    };

private:
    /// Under `lock_` (held by `guard`, which is unlocked on return): ends the generation
    /// and fires every waiter of it in batches, unlocking to wake each batch. Waiters of the
    /// next generation (arriving meanwhile) go to the emptied `waiters_` and are not woken.
    void release_generation(std::unique_lock<detail::spin_lock>& guard) noexcept {
        arrived_ = 0;
        // A waiter cancelled meanwhile unlinks itself from the batch under the lock.
        detail::fire_all(guard, waiters_);
    }

    detail::spin_lock lock_;
    detail::wait_list waiters_; ///< this generation's waiters; guarded by lock_
    const std::size_t n_;
    std::size_t arrived_ = 0; ///< arrivals in this generation; guarded by lock_
};

inline barrier::awaiter barrier::wait() noexcept {
    return awaiter(*this);
}

} // namespace tako::sync
