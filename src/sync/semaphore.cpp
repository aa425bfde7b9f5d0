#include "tako/sync/semaphore.hpp"

#include <algorithm>
#include <stdexcept>

#include "runtime/scheduler.hpp"

namespace tako::sync {

// How permits move (as Tokio's batch_semaphore):
//
// - `permits_` holds the free permits. It is decremented lock-free (the acquire fast path,
//   try_acquire, forget_permits) and incremented only under lock_, and only when the queue
//   is empty. A waiter that must queue first takes, under the lock, whatever is free. So
//   while anyone waits the counter is 0, and a newcomer's lock-free fast path cannot
//   overtake the queue: FIFO fairness, with an uncontended acquire costing one CAS.
// - Released permits are assigned to the head of the queue under lock_ (its `left_`
//   shrinks). Only the head can hold a partial assignment. A waiter whose `left_` reaches
//   0 is unlinked, marked granted and fired (its gate opened) under the lock, last: from
//   then on it belongs to its task again.
// - An awaiter destroyed while queued (its task cancelled, a lost select) unlinks itself
//   under lock_ and gives back its partial assignment; one destroyed after it was granted
//   but before its task resumed it gives back all its permits. Both go through
//   add_permits_locked, so they reach the next waiters.
// - close() sets the closed bit under lock_ and moves every waiter to a local list, which
//   it fails in batches (a waiter destroyed meanwhile unlinks itself from that list, under
//   the lock). Waiters never queue on a closed semaphore, so released permits then simply
//   become free.

namespace {

/// True on a thread that drives tasks, where blocking would stall the runtime.
bool on_runtime_thread() noexcept {
    return detail::tls_thread.is_runtime_thread;
}

} // namespace

// ---------------------------------------------------------------- permits

void semaphore_permit::merge(semaphore_permit&& other) {
    if (other.sem_ == nullptr || other.permits_ == 0) {
        other.forget();
        return;
    }
    if (sem_ != nullptr && sem_ != other.sem_) {
        throw std::invalid_argument("tako::sync::semaphore_permit::merge: the permits come from "
                                    "different semaphores");
    }
    sem_ = other.sem_;
    permits_ += std::exchange(other.permits_, 0);
}

std::optional<semaphore_permit> semaphore_permit::split(std::size_t n) noexcept {
    if (n > permits_) {
        return std::nullopt;
    }
    permits_ -= n;
    return semaphore_permit(sem_, n);
}

void owned_semaphore_permit::merge(owned_semaphore_permit&& other) {
    if (other.sem_ == nullptr || other.permits_ == 0) {
        other.forget();
        return;
    }
    if (sem_ != nullptr && sem_ != other.sem_) {
        throw std::invalid_argument("tako::sync::owned_semaphore_permit::merge: the permits come "
                                    "from different semaphores");
    }
    if (sem_ == nullptr) {
        sem_ = other.sem_;
    }
    permits_ += std::exchange(other.permits_, 0);
}

std::optional<owned_semaphore_permit> owned_semaphore_permit::split(std::size_t n) {
    if (n > permits_) {
        return std::nullopt;
    }
    permits_ -= n;
    return owned_semaphore_permit(sem_, n);
}

// ---------------------------------------------------------------- semaphore

semaphore::semaphore(std::size_t permits) : permits_(0) {
    if (permits > max_permits) {
        throw std::invalid_argument("tako::sync::semaphore: more permits than max_permits");
    }
    permits_.store(permits << permit_shift, std::memory_order_relaxed);
}

semaphore::acquire_awaiter semaphore::acquire_many(std::size_t n) {
    if (n > max_permits) {
        throw std::invalid_argument("tako::sync::semaphore::acquire_many: more permits than "
                                    "max_permits");
    }
    return acquire_awaiter(*this, n);
}

semaphore::owned_acquire_awaiter semaphore::acquire_owned() {
    return owned_acquire_awaiter(shared_from_this(), 1);
}

semaphore::owned_acquire_awaiter semaphore::acquire_many_owned(std::size_t n) {
    if (n > max_permits) {
        throw std::invalid_argument("tako::sync::semaphore::acquire_many_owned: more permits "
                                    "than max_permits");
    }
    return owned_acquire_awaiter(shared_from_this(), n);
}

std::expected<owned_semaphore_permit, try_acquire_error> semaphore::try_acquire_owned() {
    return try_acquire_many_owned(1);
}

std::expected<owned_semaphore_permit, try_acquire_error>
semaphore::try_acquire_many_owned(std::size_t n) {
    std::shared_ptr<semaphore> self = shared_from_this();
    auto p = try_acquire_many(n);
    if (!p) {
        return std::unexpected(p.error());
    }
    p->forget();
    return owned_semaphore_permit(std::move(self), n);
}

std::expected<semaphore_permit, acquire_error> semaphore::blocking_acquire() {
    return blocking_acquire_many(1);
}

std::expected<semaphore_permit, acquire_error> semaphore::blocking_acquire_many(std::size_t n) {
    if (on_runtime_thread()) {
        throw std::logic_error(
            "tako::sync::semaphore: a blocking acquire (blocking_acquire, mutex::blocking_lock, "
            "rw_lock::blocking_read/blocking_write) was called on a thread that drives tasks "
            "(a runtime worker or block_on thread), where it would stall the runtime; "
            "co_await the async version instead, or call it from spawn_blocking or a plain "
            "thread");
    }
    if (n > max_permits) {
        throw std::invalid_argument("tako::sync::semaphore::blocking_acquire_many: more permits "
                                    "than max_permits");
    }
    acquire_awaiter w(*this, n);
    w.blocking_ = true;
    if (!w.try_fast()) {
        bool complete = false;
        {
            std::lock_guard guard(lock_);
            complete = w.take_locked();
            if (!complete) {
                w.set_state(acquire_awaiter::wait_state::waiting);
                waiters_.push_back(w.node());
            }
        }
        if (!complete) {
            // acquire: pairs with complete_locked's release store; we then see the outcome
            // and the permits' previous holders' writes.
            for (auto s = w.state_.load(std::memory_order_acquire);
                 s == acquire_awaiter::wait_state::waiting;
                 s = w.state_.load(std::memory_order_acquire)) {
                w.state_.wait(s, std::memory_order_acquire);
            }
            // complete_locked notifies under the lock: once we hold it, it no longer
            // touches `w`, which this function is about to destroy.
            std::lock_guard barrier(lock_);
        }
    }
    return w.await_resume();
}

void semaphore::add_permits(std::size_t n) {
    if (n == 0) {
        return;
    }
    std::unique_lock guard(lock_);
    const std::size_t free = permits_.load(std::memory_order_relaxed) >> permit_shift;
    if (n > max_permits || free > max_permits - n) {
        throw std::overflow_error("tako::sync::semaphore::add_permits: the permits would exceed "
                                  "max_permits");
    }
    add_permits_locked(guard, n);
}

std::size_t semaphore::forget_permits(std::size_t n) noexcept {
    std::size_t cur = permits_.load(std::memory_order_acquire);
    for (;;) {
        const std::size_t take = std::min(n, cur >> permit_shift);
        if (take == 0) {
            return 0;
        }
        if (permits_.compare_exchange_weak(cur, cur - (take << permit_shift),
                                           std::memory_order_acq_rel, std::memory_order_acquire)) {
            return take;
        }
    }
}

void semaphore::release(std::size_t n) noexcept {
    std::unique_lock guard(lock_);
    add_permits_locked(guard, n);
}

detail::task_ref semaphore::complete_locked(acquire_awaiter& w,
                                            acquire_awaiter::wait_state s) noexcept {
    if (w.blocking_) {
        // release: the blocked thread sees the outcome. Notified under the lock: the
        // thread takes the lock once before it destroys `w` (blocking_acquire_many).
        w.state_.store(s, std::memory_order_release);
        w.state_.notify_one();
        return {};
    }
    w.set_state(s);
    return w.node().fire(); // last: `w` may be destroyed as soon as its gate opens
}

void semaphore::add_permits_locked(std::unique_lock<detail::spin_lock>& guard,
                                   std::size_t n) noexcept {
    for (;;) {
        if (waiters_.empty()) {
            // The common case, without building a wake list. release: whoever takes these
            // permits lock-free sees the releaser's writes.
            permits_.fetch_add(n << permit_shift, std::memory_order_release);
            guard.unlock();
            return;
        }
        if (acquire_awaiter& head = acquire_awaiter::of(waiters_.front()); head.left_ >= n) {
            // All `n` go to the head (a mutex hand-over, a reader leaving while a writer
            // waits): at most one task to wake.
            head.left_ -= n;
            detail::task_ref r;
            if (head.left_ == 0) {
                head.unlink();
                r = complete_locked(head, acquire_awaiter::wait_state::granted);
            }
            guard.unlock();
            std::move(r).wake();
            return;
        }
        detail::wake_list wakes;
        bool nobody_waits = false;
        while (n > 0 && !wakes.full()) {
            detail::wait_node* front = waiters_.front();
            if (front == nullptr) {
                nobody_waits = true;
                break;
            }
            acquire_awaiter& w = acquire_awaiter::of(front);
            if (w.left_ > n) {
                w.left_ -= n; // a partial assignment: the head keeps it while it waits
                n = 0;
                break;
            }
            n -= w.left_;
            w.left_ = 0;
            front->unlink();
            if (detail::task_ref r = complete_locked(w, acquire_awaiter::wait_state::granted)) {
                wakes.push(std::move(r));
            }
        }
        if (nobody_waits) {
            // release: whoever takes these permits lock-free sees the releaser's writes.
            permits_.fetch_add(n << permit_shift, std::memory_order_release);
            n = 0;
        }
        guard.unlock();
        wakes.wake_all();
        if (n == 0) {
            return;
        }
        guard.lock();
    }
}

void semaphore::close() noexcept {
    detail::wait_list closing;
    std::unique_lock guard(lock_);
    permits_.fetch_or(closed_bit, std::memory_order_release);
    closing.splice_back(waiters_);
    for (;;) {
        detail::wake_list wakes;
        std::size_t returned = 0;
        while (!wakes.full()) {
            detail::wait_node* n = closing.pop_front();
            if (n == nullptr) {
                break;
            }
            acquire_awaiter& w = acquire_awaiter::of(n);
            returned += w.needed_ - w.left_; // its partial assignment becomes free
            w.left_ = w.needed_;
            if (detail::task_ref r = complete_locked(w, acquire_awaiter::wait_state::closed)) {
                wakes.push(std::move(r));
            }
        }
        if (returned != 0) {
            permits_.fetch_add(returned << permit_shift, std::memory_order_release);
        }
        const bool more = !closing.empty();
        guard.unlock();
        wakes.wake_all();
        if (!more) {
            return;
        }
        guard.lock();
    }
}

// ---------------------------------------------------------------- acquire_awaiter

bool semaphore::acquire_awaiter::take_locked() noexcept {
    // Under the lock the counter can only go down (increments take the lock), so a zero
    // read here stays zero until we unlock.
    std::atomic<std::size_t>& word = sem_->permits_;
    std::size_t cur = word.load(std::memory_order_acquire);
    for (;;) {
        if ((cur & closed_bit) != 0) {
            set_state(wait_state::closed);
            return true;
        }
        const std::size_t free = cur >> permit_shift;
        if (free >= left_) {
            if (word.compare_exchange_weak(cur, cur - (left_ << permit_shift),
                                           std::memory_order_acq_rel, std::memory_order_acquire)) {
                left_ = 0;
                set_state(wait_state::granted);
                return true;
            }
        } else if (free == 0) {
            return false;
        } else if (word.compare_exchange_weak(cur, cur & closed_bit, std::memory_order_acq_rel,
                                              std::memory_order_acquire)) {
            left_ -= free; // take what is free: nobody may overtake us while we wait
            return false;
        }
    }
}

bool semaphore::acquire_awaiter::take_or_queue(std::coroutine_handle<> h) noexcept {
    std::lock_guard guard(sem_->lock_);
    if (take_locked()) {
        return false;
    }
    arm(h);
    set_state(wait_state::waiting);
    sem_->waiters_.push_back(node());
    return true;
}

/// Runs when the task that yielded (budget spent) before acquiring is resumed: takes the
/// permits and continues at `h` at once, or queues with `h` as the point to resume.
struct semaphore::acquire_awaiter::after_yield {
    acquire_awaiter* self;
    std::coroutine_handle<> h;
    bool await_ready() const noexcept { return false; }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<>) const noexcept {
        if (self->take_or_queue(h)) {
            return std::noop_coroutine(); // queued: the task is suspended at `h`
        }
        (void)detail::consume_budget(); // a fresh budget: this cannot fail
        return h;
    }
    void await_resume() const noexcept {}
};

detail::deferred_step semaphore::acquire_awaiter::acquire_after_yield(acquire_awaiter* self,
                                                                      std::coroutine_handle<> h) {
    co_await after_yield{self, h};
}

bool semaphore::acquire_awaiter::await_suspend(std::coroutine_handle<> h) noexcept {
    if (state() == wait_state::idle) {
        if (!detail::has_budget()) {
            // Yield before taking anything; acquire when the task runs again.
            retry_ = acquire_after_yield(this, h);
            if (retry_) {
                detail::yield_at(retry_.handle());
                return true;
            }
            // No memory for the step: take the permits now and yield holding them.
        }
        if (take_or_queue(h)) {
            return true;
        }
    }
    // Complete (now, or in await_ready with the budget spent): finish, or yield first.
    return detail::complete_or_yield(h);
}

void semaphore::acquire_awaiter::leave() noexcept {
    std::unique_lock guard(sem_->lock_);
    switch (state()) {
    case wait_state::waiting: {
        unlink();
        const std::size_t assigned = needed_ - left_;
        left_ = needed_;
        set_state(wait_state::idle);
        if (assigned != 0) {
            sem_->add_permits_locked(guard, assigned); // to the next waiters
        }
        return;
    }
    case wait_state::granted:
        set_state(wait_state::idle);
        if (needed_ != 0) {
            sem_->add_permits_locked(guard, needed_); // granted, never handed over
        }
        return;
    default:
        return;
    }
}

} // namespace tako::sync
