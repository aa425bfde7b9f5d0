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
/// the next `notified()` completes at once. `notify_waiters` wakes every task waiting now
/// and stores no permit. Thread-safe; never resumes a waiter inline.

#include <atomic>
#include <coroutine>

#include "tako/detail/spin_lock.hpp"
#include "tako/detail/task_header.hpp"

namespace tako::sync {

class notify {
public:
    notify() noexcept = default;
    notify(const notify&) = delete;
    notify& operator=(const notify&) = delete;
    /// Precondition: no task is waiting (their awaiters hold a reference to this).
    ~notify() = default;

    /// Wakes the longest-waiting task, or stores a permit (at most one) if none waits.
    void notify_one() noexcept;
    /// Wakes every task waiting right now; stores no permit.
    void notify_waiters() noexcept;

    class awaiter;
    /// Completes when notified. Cancel-safe: if a task woken by `notify_one` is cancelled
    /// before it resumes, the notification passes to the next waiter (or becomes the
    /// permit), so none is lost.
    [[nodiscard]] awaiter notified() noexcept;

    class awaiter {
    public:
        explicit awaiter(notify& n) noexcept : notify_(n) {}
        /// Only an awaiter that has not been awaited yet may be moved (e.g. into `select`).
        awaiter(awaiter&& o) noexcept : notify_(o.notify_) {}
        awaiter(const awaiter&) = delete;
        awaiter& operator=(const awaiter&) = delete;
        /// Unlinks from the waiter list (or forwards a notification it received).
        ~awaiter();

        bool await_ready() noexcept;
        // Resumed by the scheduler after notify_one/notify_waiters fires our node.
        bool await_suspend(std::coroutine_handle<> h) noexcept;
        void await_resume() noexcept { state_.store(done, std::memory_order_relaxed); }

    private:
        friend class notify;
        enum node_state : unsigned char { idle, waiting, fired_one, fired_all, done };
        notify& notify_;
        awaiter* prev_ = nullptr;
        awaiter* next_ = nullptr;
        detail::waker waker_;
        detail::wake_gate gate_;
        /// Written by notifiers under the lock; read without it only by this awaiter's
        /// runner when it cannot be racing (idle: never linked; done: resumed).
        std::atomic<node_state> state_{idle};
    };

private:
    void unlink(awaiter* a) noexcept;
    detail::task_ref fire_first() noexcept;

    detail::spin_lock lock_;
    awaiter* head_ = nullptr;
    awaiter* tail_ = nullptr;
    bool permit_ = false;
};

inline notify::awaiter notify::notified() noexcept {
    return awaiter(*this);
}

} // namespace tako::sync
