#pragma once
/// \file
/// The one way to wait (docs/execution-model.md): an intrusive wait node that an awaiter
/// embeds, a FIFO list of them that a primitive guards with its lock, a wake list that
/// collects task references under that lock and wakes them after it (no allocation), and
/// the ready-or-yield step every leaf awaiter takes when its result is already there.
///
/// A primitive (a semaphore, a channel, a notify) uses them like this:
///
/// ```text
/// // await_suspend, under the primitive's lock:
/// node_.arm(h);                 // records the suspension, closes the node's gate
/// waiters_.push_back(node_);
/// // the event, under the lock:
/// wait_node* n = waiters_.pop_front();
/// /* hand n's awaiter its result (a permit, a value) */
/// wakes.push(n->fire());        // after this, n belongs to its task again
/// // after unlocking:
/// wakes.wake_all();
/// // the awaiter's destructor, under the lock:
/// if (node_.is_linked()) node_.unlink();
/// ```

#include <coroutine>
#include <cstddef>
#include <mutex>
#include <new>
#include <utility>

#include "tako/detail/task_header.hpp"

namespace tako::detail {

/// One waiting task: links, the waker, and the gate the scheduler checks before resuming
/// the awaiter (the stale-wake rule). Embedded in an awaiter; every field but the gate is
/// guarded by the owning primitive's lock. Not copyable or movable while linked.
class wait_node {
public:
    wait_node() noexcept = default;
    wait_node(const wait_node&) = delete;
    wait_node& operator=(const wait_node&) = delete;

    /// Records the running task's suspension at `h` and closes the gate. Call it in
    /// `await_suspend`, under the primitive's lock, before linking the node.
    void arm(std::coroutine_handle<> h) noexcept { waker_ = record_suspension(h, gate_); }

    /// Takes the waker's task reference, marks its branch and opens the gate. The node must
    /// already be unlinked and the awaiter told its outcome: once the gate is open the
    /// awaiting task may resume and destroy the node at once. Under the primitive's lock.
    [[nodiscard]] task_ref fire() noexcept { return waker_.fire(); }

    [[nodiscard]] bool is_linked() const noexcept { return next_ != nullptr; }
    /// Removes the node from whichever list holds it. Under the primitive's lock.
    void unlink() noexcept {
        prev_->next_ = next_;
        next_->prev_ = prev_;
        prev_ = next_ = nullptr;
    }

private:
    friend class wait_list;
    wait_node* prev_ = nullptr;
    wait_node* next_ = nullptr; ///< null when not linked
    waker waker_;
    wake_gate gate_;
};

/// A FIFO of wait nodes: circular, around a sentinel, so a node unlinks itself without
/// knowing its list (a notifier can move all waiters to a local list and fire them in
/// batches while their awaiters are still free to leave). Guarded by the owner's lock.
class wait_list {
public:
    wait_list() noexcept { head_.prev_ = head_.next_ = &head_; }
    wait_list(const wait_list&) = delete;
    wait_list& operator=(const wait_list&) = delete;
    /// Precondition: empty (every awaiter unlinks itself before it is destroyed).
    ~wait_list() = default;

    [[nodiscard]] bool empty() const noexcept { return head_.next_ == &head_; }
    [[nodiscard]] wait_node* front() noexcept { return empty() ? nullptr : head_.next_; }
    [[nodiscard]] wait_node* back() noexcept { return empty() ? nullptr : head_.prev_; }

    void push_back(wait_node& n) noexcept {
        n.prev_ = head_.prev_;
        n.next_ = &head_;
        head_.prev_->next_ = &n;
        head_.prev_ = &n;
    }
    void push_front(wait_node& n) noexcept {
        n.next_ = head_.next_;
        n.prev_ = &head_;
        head_.next_->prev_ = &n;
        head_.next_ = &n;
    }
    /// Unlinks and returns the oldest node, or null.
    wait_node* pop_front() noexcept {
        wait_node* n = front();
        if (n != nullptr) {
            n->unlink();
        }
        return n;
    }
    /// Unlinks and returns the newest node, or null.
    wait_node* pop_back() noexcept {
        wait_node* n = back();
        if (n != nullptr) {
            n->unlink();
        }
        return n;
    }
    /// Moves every node of `other` to the back of this list.
    void splice_back(wait_list& other) noexcept {
        if (other.empty()) {
            return;
        }
        wait_node* first = other.head_.next_;
        wait_node* last = other.head_.prev_;
        other.head_.prev_ = other.head_.next_ = &other.head_;
        first->prev_ = head_.prev_;
        last->next_ = &head_;
        head_.prev_->next_ = first;
        head_.prev_ = last;
    }

private:
    wait_node head_; ///< sentinel; never armed or fired
};

/// Task references collected under a lock and woken after it, without allocating. When it
/// is full the caller wakes what it holds (after unlocking) and goes on: see
/// `fire_all`-style loops in notify.cpp.
class wake_list {
public:
    static constexpr std::size_t capacity = 32;

    wake_list() noexcept = default;
    wake_list(const wake_list&) = delete;
    wake_list& operator=(const wake_list&) = delete;
    ~wake_list() { wake_all(); }

    [[nodiscard]] bool full() const noexcept { return size_ == capacity; }
    [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
    /// Precondition: not full.
    void push(task_ref r) noexcept { ::new (slot(size_++)) task_ref(std::move(r)); }
    /// Wakes (schedules) every collected task. Call it with no lock held.
    void wake_all() noexcept {
        for (std::size_t i = 0; i < size_; ++i) {
            task_ref* r = std::launder(slot(i));
            std::move(*r).wake();
            r->~task_ref();
        }
        size_ = 0;
    }

private:
    // Raw storage: building an empty list costs one store, not 32 (it is made on every
    // release of a contended primitive).
    task_ref* slot(std::size_t i) noexcept { return reinterpret_cast<task_ref*>(storage_) + i; }
    alignas(task_ref) unsigned char storage_[capacity * sizeof(task_ref)];
    std::size_t size_ = 0;
};

/// Fires every node of `waiters`, waking their tasks in batches of `wake_list::capacity`:
/// fire under the lock, unlock, wake, lock again. The nodes move to a local list first, so
/// a node linked meanwhile waits for the next event, and an awaiter destroyed meanwhile
/// unlinks itself from the local list under the same lock. `prepare(node)` runs under the
/// lock just before a node is fired (tell its awaiter the outcome there); a node for which
/// it returns false is taken off the list but not fired (e.g. it has no waker yet).
/// Called with `guard` locked; returns with it unlocked.
template <class Lock, class Prepare>
void fire_all(std::unique_lock<Lock>& guard, wait_list& waiters, Prepare prepare) noexcept {
    wait_list batch;
    batch.splice_back(waiters);
    for (;;) {
        wake_list wakes;
        while (!wakes.full()) {
            wait_node* n = batch.pop_front();
            if (n == nullptr) {
                break;
            }
            if (prepare(*n)) {
                wakes.push(n->fire()); // unlinked and told: from here it is its task's
            }
        }
        const bool more = !batch.empty();
        guard.unlock();
        wakes.wake_all();
        if (!more) {
            return;
        }
        guard.lock();
    }
}

/// `fire_all` for waiters that need no outcome but the wake.
template <class Lock>
void fire_all(std::unique_lock<Lock>& guard, wait_list& waiters) noexcept {
    fire_all(guard, waiters, [](wait_node&) noexcept { return true; });
}

/// The step every leaf awaiter takes when its result is ready in `await_suspend`: complete
/// now (return false: do not suspend) if the task's cooperative budget allows, else
/// re-queue the task and complete when it next runs (return true).
[[nodiscard]] inline bool complete_or_yield(std::coroutine_handle<> h) noexcept {
    if (consume_budget()) {
        return false;
    }
    yield_at(h);
    return true;
}

} // namespace tako::detail
