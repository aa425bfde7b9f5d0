#include "tako/sync/notify.hpp"

#include <mutex>

namespace tako::sync {

// The waiter list, the permit and each linked awaiter's state_ are guarded by lock_, which
// is also what an awaiter's destructor takes while it may be linked: a notifier never
// touches a destroyed awaiter. A node is fired (its gate opened) only after it is unlinked
// and its state set, since the awaiting task may resume and destroy it at once.

notify::~notify() {
    // A woken task can resume (its gate is open) while the notifier still holds lock_;
    // taking it once here waits until the notifier is done with this object.
    std::lock_guard guard(lock_);
}

detail::task_ref notify::fire_one(bool newest) noexcept {
    detail::wait_node* n = newest ? waiters_.pop_back() : waiters_.pop_front();
    if (n == nullptr) {
        permit_ = true;
        return {};
    }
    awaiter& a = awaiter::of(n);
    const bool awaited = a.state() == awaiter::waiting;
    a.set_state(awaiter::fired_one);
    if (!awaited) {
        return {}; // enabled, not yet awaited: it completes when it is
    }
    return n->fire();
}

void notify::notify_one_impl(bool newest) noexcept {
    detail::task_ref r;
    {
        std::lock_guard guard(lock_);
        r = fire_one(newest);
    }
    std::move(r).wake();
}

void notify::notify_one() noexcept {
    notify_one_impl(false);
}

void notify::notify_last() noexcept {
    notify_one_impl(true);
}

void notify::notify_waiters() noexcept {
    // Every waiter moves to a local list at once (so waiters arriving meanwhile are not
    // woken); it is fired in batches, unlocking to wake each batch. An awaiter destroyed
    // meanwhile unlinks itself from the local list under the lock.
    std::unique_lock guard(lock_);
    epoch_.store(epoch_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    detail::fire_all(guard, waiters_, [](detail::wait_node& n) noexcept {
        awaiter& a = awaiter::of(&n);
        const bool awaited = a.state() == awaiter::waiting;
        a.set_state(awaiter::fired_all);
        return awaited; // an enabled, unawaited one completes when it is awaited
    });
}

notify::awaiter::awaiter(notify& n) noexcept
    : notify_(n), epoch_(n.epoch_.load(std::memory_order_acquire)) {}

notify::awaiter::awaiter(awaiter&& o) noexcept : notify_(o.notify_), epoch_(o.epoch_) {}

bool notify::awaiter::try_complete_locked() noexcept {
    const node_state s = state();
    if (s == fired_one || s == fired_all) {
        return true;
    }
    if (epoch_ != notify_.epoch_.load(std::memory_order_relaxed)) {
        if (is_linked()) {
            unlink();
        }
        set_state(fired_all);
        return true;
    }
    if (notify_.permit_) {
        notify_.permit_ = false;
        if (is_linked()) {
            unlink();
        }
        set_state(fired_one);
        return true;
    }
    return false;
}

bool notify::awaiter::enable() noexcept {
    std::lock_guard guard(notify_.lock_);
    const node_state s = state();
    if (s != idle) {
        return s == fired_one || s == fired_all;
    }
    if (try_complete_locked()) {
        return true;
    }
    set_state(enabled);
    notify_.waiters_.push_back(node());
    return false;
}

bool notify::awaiter::await_ready() noexcept {
    std::lock_guard guard(notify_.lock_);
    // A permit (or a notify_waiters since creation) is taken here; whether we may complete
    // now is the budget's call, else await_suspend yields first and completes after.
    return try_complete_locked() && detail::consume_budget();
}

bool notify::awaiter::await_suspend(std::coroutine_handle<> h) noexcept {
    {
        std::lock_guard guard(notify_.lock_);
        if (!try_complete_locked()) {
            arm(h);
            if (state() == idle) {
                notify_.waiters_.push_back(node());
            }
            set_state(waiting);
            return true;
        }
    }
    return detail::complete_or_yield(h);
}

notify::awaiter::~awaiter() {
    const node_state s = state();
    if (s == idle || s == done) {
        return; // never linked, or resumed after a notifier finished with it
    }
    detail::task_ref r;
    {
        std::lock_guard guard(notify_.lock_);
        if (is_linked()) {
            unlink();
        } else if (state() == fired_one) {
            r = notify_.fire_one(false); // pass the notification on
        }
    }
    std::move(r).wake();
}

} // namespace tako::sync
