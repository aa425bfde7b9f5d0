#pragma once
/// \file
/// `tako::sync::notify`: wake one task or all waiting tasks (`tokio::sync::Notify`).
///
/// ```cpp
/// auto ready = std::make_shared<tako::sync::notify>(); // shared: the task may outlive us
/// auto h = tako::spawn([ready]() -> tako::task<> { co_await ready->notified(); /* … */ });
/// ready->notify_one();
/// co_await h;
/// ```
///
/// `notify_one` wakes the longest-waiting task, or stores one permit if nobody waits, so
/// the next `notified()` completes at once; `notify_last` wakes the newest waiter instead.
/// `notify_waiters` wakes every `notified()` created before the call (awaited yet or not,
/// as Tokio's) and stores no permit. Thread-safe; never resumes a waiter inline.

#include <atomic>
#include <coroutine>
#include <cstdint>

#include "tako/detail/spin_lock.hpp"
#include "tako/detail/wait_list.hpp"

namespace tako::sync {

class notify {
public:
    notify() noexcept = default;
    notify(const notify&) = delete;
    notify& operator=(const notify&) = delete;
    /// Precondition: no task is waiting (their awaiters hold a reference to this). A task
    /// woken by this notify may destroy it at once: the destructor waits until the
    /// notifier has released its lock.
    ~notify();

    /// Wakes the longest-waiting task, or stores a permit (at most one) if none waits.
    void notify_one() noexcept;
    /// Wakes the most recently arrived waiting task, or stores a permit if none waits.
    void notify_last() noexcept;
    /// Wakes every `notified()` created before this call; stores no permit.
    void notify_waiters() noexcept;

    class awaiter;
    /// Completes when notified. Cancel-safe: if a task woken by `notify_one` is cancelled
    /// before it resumes, the notification passes to the next waiter (or becomes the
    /// permit), so none is lost.
    [[nodiscard]] awaiter notified() noexcept;

    /// The wait node is a private base, so the notifier finds the awaiter from its node.
    class awaiter : private detail::wait_node {
    public:
        explicit awaiter(notify& n) noexcept;
        /// Only an awaiter that is neither enabled nor awaited may be moved (e.g. into
        /// `select`).
        awaiter(awaiter&& o) noexcept;
        awaiter(const awaiter&) = delete;
        awaiter& operator=(const awaiter&) = delete;
        /// Unlinks from the waiter list (or forwards a notification it received).
        ~awaiter();

        /// Joins the waiter list now, before the awaiter is awaited (Tokio's
        /// `Notified::enable`): a `notify_one` from here on is kept for this awaiter.
        /// Returns true if it was already notified. Call it from the awaiting task.
        bool enable() noexcept;

        bool await_ready() noexcept;
        // Resumed by the scheduler once a notifier fired our node (its gate is open).
        bool await_suspend(std::coroutine_handle<> h) noexcept;
        void await_resume() noexcept { state_.store(done, std::memory_order_relaxed); }

    private:
        friend class notify;
        enum node_state : unsigned char {
            idle,      ///< not linked
            enabled,   ///< linked, not yet awaited (no waker)
            waiting,   ///< linked, awaited
            fired_one, ///< taken by notify_one / notify_last
            fired_all, ///< taken by notify_waiters
            done,      ///< resumed
        };
        /// Under the lock: takes a permit or a notify_waiters since creation.
        bool try_complete_locked() noexcept;

        detail::wait_node& node() noexcept { return *this; }
        static awaiter& of(detail::wait_node* n) noexcept { return static_cast<awaiter&>(*n); }
        node_state state() const noexcept { return state_.load(std::memory_order_relaxed); }
        void set_state(node_state s) noexcept { state_.store(s, std::memory_order_relaxed); }

        notify& notify_;
        std::uint64_t epoch_; ///< notify_waiters calls seen at creation
        /// Written under the notify's lock while linked; read without it only by the
        /// awaiting task, which acts on it alone when no notifier can touch the node
        /// (idle: never linked; done: resumed after the notifier let go).
        std::atomic<node_state> state_{idle};
    };

private:
    /// Under lock_: hands a notification to the oldest (or newest) waiter, or stores the
    /// permit. Returns the task to wake, if any.
    detail::task_ref fire_one(bool newest) noexcept;
    void notify_one_impl(bool newest) noexcept;

    detail::spin_lock lock_;
    detail::wait_list waiters_;
    bool permit_ = false;
    /// notify_waiters calls so far; written under lock_, read relaxed by notified().
    std::atomic<std::uint64_t> epoch_{0};
};

inline notify::awaiter notify::notified() noexcept {
    return awaiter(*this);
}

} // namespace tako::sync
