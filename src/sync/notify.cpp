#include "tako/sync/notify.hpp"

#include <mutex>
#include <vector>

namespace tako::sync {

// Every field of the waiter list and each awaiter's state_ is guarded by lock_, which is
// also what an awaiter's destructor takes: a notifier never touches a destroyed awaiter.

void notify::unlink(awaiter* a) noexcept {
    (a->prev_ != nullptr ? a->prev_->next_ : head_) = a->next_;
    (a->next_ != nullptr ? a->next_->prev_ : tail_) = a->prev_;
    a->prev_ = a->next_ = nullptr;
}

detail::task_ref notify::fire_first() noexcept {
    awaiter* a = head_;
    if (a == nullptr) {
        permit_ = true;
        return {};
    }
    unlink(a);
    a->state_.store(awaiter::fired_one, std::memory_order_relaxed);
    return a->waker_.fire();
}

void notify::notify_one() noexcept {
    detail::task_ref r;
    {
        std::lock_guard guard(lock_);
        r = fire_first();
    }
    std::move(r).wake();
}

void notify::notify_waiters() noexcept {
    std::vector<detail::task_ref> refs;
    {
        std::lock_guard guard(lock_);
        while (awaiter* a = head_) {
            unlink(a);
            a->state_.store(awaiter::fired_all, std::memory_order_relaxed);
            refs.push_back(a->waker_.fire());
        }
    }
    for (auto& r : refs) {
        std::move(r).wake();
    }
}

bool notify::awaiter::await_ready() noexcept {
    std::lock_guard guard(notify_.lock_);
    if (notify_.permit_ && detail::consume_budget()) {
        notify_.permit_ = false;
        state_.store(done, std::memory_order_relaxed);
        return true;
    }
    return false;
}

bool notify::awaiter::await_suspend(std::coroutine_handle<> h) noexcept {
    std::lock_guard guard(notify_.lock_);
    if (notify_.permit_) {
        // The budget is spent: take the permit, but let other tasks run first.
        notify_.permit_ = false;
        state_.store(done, std::memory_order_relaxed);
        detail::yield_at(h);
        return true;
    }
    waker_ = detail::record_suspension(h, gate_);
    state_.store(waiting, std::memory_order_relaxed);
    prev_ = notify_.tail_;
    (notify_.tail_ != nullptr ? notify_.tail_->next_ : notify_.head_) = this;
    notify_.tail_ = this;
    return true;
}

notify::awaiter::~awaiter() {
    const auto s = state_.load(std::memory_order_relaxed);
    if (s == idle || s == done) {
        return;
    }
    detail::task_ref r;
    {
        std::lock_guard guard(notify_.lock_);
        const auto now = state_.load(std::memory_order_relaxed);
        if (now == waiting) {
            notify_.unlink(this);
        } else if (now == fired_one) {
            r = notify_.fire_first(); // pass the notification on
        }
    }
    std::move(r).wake();
}

} // namespace tako::sync
