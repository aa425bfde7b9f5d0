#pragma once
/// \file
/// `tako::cancellation_token`: a cancellation signal shared by many tasks, with child
/// tokens (`tokio_util::sync::CancellationToken`).
///
/// ```cpp
/// #include <tako/sync/cancellation_token.hpp>
///
/// tako::task<void> serve(tako::cancellation_token stop) {
///     // Each connection gets a child: cancelling `stop` cancels them all.
///     auto worker = tako::spawn([](tako::cancellation_token token) -> tako::task<int> {
///         auto r = co_await token.run_until_cancelled(slow_operation());
///         co_return r.value_or(-1); // -1: cancelled before slow_operation finished
///     }, stop.child_token());
///
///     co_await stop.cancelled(); // completes once someone calls stop.cancel()
///     (void)co_await worker;
/// }
/// ```
///
/// A `cancellation_token` is a cheap, copyable handle: every copy refers to the same
/// token. `cancel()` cancels it once and for all, wakes every task waiting in
/// `cancelled()`, and cancels every token made from it with `child_token()`, their children
/// too; cancelling a child leaves its parent alone. A child made from a cancelled token is
/// cancelled from birth. `drop_guard()` gives an object that cancels the token when it is
/// destroyed, unless disarmed. `run_until_cancelled(w)` runs `w` until it finishes or the
/// token is cancelled, whichever comes first.
///
/// Tokens form a tree (each node points to its parent; each parent keeps an intrusive list
/// of its children). When the last handle of a token goes away it leaves the tree, handing
/// its children to its parent, so dropped children do not pile up under a long-lived
/// parent. Locks are taken parent-before-child only (a child that needs its parent's lock
/// only *tries* it, or lets go and starts over), so no two threads deadlock.
///
/// Thread-safe. Never resumes a waiter inline: `cancel()` wakes waiters in batches of
/// `detail::wake_list::capacity`, unlocking between batches.

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <mutex>
#include <optional>
#include <utility>

#include "tako/detail/branches.hpp"
#include "tako/detail/spin_lock.hpp"
#include "tako/detail/wait_list.hpp"
#include "tako/select.hpp"
#include "tako/task.hpp"

namespace tako {

namespace detail {

/// The shared state of one token: its cancelled flag, its waiters and its place in the
/// token tree. Freed when the last reference goes.
///
/// References (`refs`): one per `cancellation_token` handle, one held by a child for its
/// parent (`parent`), one held by a parent's child list for each child in it, and
/// temporary ones taken by `cancel` and `leave_tree`. `handles` counts the handles alone:
/// when it drops to zero nobody can cancel or wait on this token any more, and it leaves
/// the tree. Ancestors are older than their descendants, and a node only ever moves closer
/// to the root (adopted by its grandparent) or off the tree: so "blocking lock requests go
/// from a node to a younger one" holds everywhere, and the locks cannot deadlock.
struct token_node {
    std::atomic<std::size_t> refs{1};
    std::atomic<std::size_t> handles{1};
    /// Set (release) under `lock`, once; read without it (acquire).
    std::atomic<bool> cancelled{false};
    spin_lock lock;
    token_node* parent = nullptr;       ///< guarded by lock; a reference to the parent
    token_node* first_child = nullptr;  ///< guarded by lock; the list holds a reference each
    token_node* prev_sibling = nullptr; ///< guarded by the parent's lock
    token_node* next_sibling = nullptr; ///< guarded by the parent's lock
    wait_list waiters;                  ///< `cancelled()` awaiters; guarded by lock
    /// Used only by the `cancel` call that cancelled this node (its notify chain).
    token_node* notify_next = nullptr;
};

inline void token_ref(token_node* n) noexcept {
    // relaxed: a reference is always made from one that keeps the node alive.
    n->refs.fetch_add(1, std::memory_order_relaxed);
}

/// Drops a reference; frees the node when it was the last. Never under the node's lock.
inline void token_unref(token_node* n) noexcept {
    // acq_rel: whoever frees the node sees every other owner's writes.
    if (n->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        delete n;
    }
}

/// Drops a reference that is known not to be the last (another one is held throughout).
/// Safe under the node's lock.
inline void token_unref_not_last(token_node* n) noexcept {
    n->refs.fetch_sub(1, std::memory_order_relaxed);
}

/// Links `c` at the front of `p`'s child list. Under `p`'s lock.
inline void token_link_child(token_node* p, token_node* c) noexcept {
    c->prev_sibling = nullptr;
    c->next_sibling = p->first_child;
    if (p->first_child != nullptr) {
        p->first_child->prev_sibling = c;
    }
    p->first_child = c;
}

/// Unlinks `c` from `p`'s child list. Under `p`'s lock.
inline void token_unlink_child(token_node* p, token_node* c) noexcept {
    if (c->prev_sibling != nullptr) {
        c->prev_sibling->next_sibling = c->next_sibling;
    } else {
        p->first_child = c->next_sibling;
    }
    if (c->next_sibling != nullptr) {
        c->next_sibling->prev_sibling = c->prev_sibling;
    }
    c->prev_sibling = c->next_sibling = nullptr;
}

/// Unlinks and returns `p`'s first child (with the list's reference), or null. Under `p`'s
/// lock.
inline token_node* token_pop_child(token_node* p) noexcept {
    token_node* c = p->first_child;
    if (c != nullptr) {
        token_unlink_child(p, c);
    }
    return c;
}

/// A new node: a child of `p`, or cancelled from birth if `p` is cancelled.
inline token_node* token_new_child(token_node* p) {
    auto* c = new token_node;
    std::lock_guard guard(p->lock);
    if (p->cancelled.load(std::memory_order_relaxed)) {
        c->cancelled.store(true, std::memory_order_relaxed); // published with the handle
        return c;
    }
    c->parent = p;
    token_ref(p);
    token_ref(c); // the list's reference
    token_link_child(p, c);
    return c;
}

/// Fires every waiter of the cancelled node `n` in batches, unlocking to wake each batch.
/// An awaiter destroyed meanwhile unlinks itself under `n`'s lock.
inline void token_wake_waiters(token_node* n) noexcept {
    std::unique_lock guard(n->lock);
    fire_all(guard, n->waiters);
}

/// Cancels `n` and all its descendants (Tokio's `tree_node::cancel`), holding at most
/// three locks, each a child of the previous. Children are detached; grandchildren that
/// have children of their own are adopted by `n` and handled in a later round; the others
/// are cancelled at once. Waiters are woken after every lock is released. The caller holds
/// a reference to `n`.
inline void token_cancel(token_node* n) noexcept {
    token_node* to_wake = nullptr; // cancelled descendants, each with a reference
    {
        std::lock_guard guard(n->lock);
        if (n->cancelled.load(std::memory_order_relaxed)) {
            return;
        }
        while (token_node* c = token_pop_child(n)) { // the list's reference is ours now
            std::unique_lock child_guard(c->lock);
            c->parent = nullptr;
            token_unref_not_last(n); // the caller's reference keeps n
            if (c->cancelled.load(std::memory_order_relaxed)) {
                child_guard.unlock();
                token_unref(c);
                continue;
            }
            while (token_node* g = token_pop_child(c)) {
                std::unique_lock grandchild_guard(g->lock);
                g->parent = nullptr;
                token_unref_not_last(c); // our reference keeps c
                if (g->cancelled.load(std::memory_order_relaxed)) {
                    grandchild_guard.unlock();
                    token_unref(g);
                    continue;
                }
                if (g->first_child == nullptr) {
                    g->cancelled.store(true, std::memory_order_release);
                    g->notify_next = to_wake;
                    to_wake = g;
                } else {
                    g->parent = n; // adopted: its children are handled in a later round
                    token_ref(n);
                    grandchild_guard.unlock();
                    token_link_child(n, g);
                }
            }
            c->cancelled.store(true, std::memory_order_release);
            c->notify_next = to_wake;
            to_wake = c;
        }
        n->cancelled.store(true, std::memory_order_release);
    }
    token_wake_waiters(n);
    while (to_wake != nullptr) {
        token_node* next = to_wake->notify_next;
        token_wake_waiters(to_wake);
        token_unref(to_wake);
        to_wake = next;
    }
}

/// The last handle of `n` is gone: takes `n` out of the tree. Its children go to its
/// parent (or become roots if it has none). The caller holds a reference to `n`.
inline void token_leave_tree(token_node* n) noexcept {
    for (;;) {
        std::unique_lock guard(n->lock);
        token_node* p = n->parent;
        if (p == nullptr) {
            while (token_node* c = token_pop_child(n)) {
                {
                    std::lock_guard child_guard(c->lock);
                    c->parent = nullptr;
                }
                token_unref_not_last(n); // c's reference to n; the caller's keeps n
                token_unref(c);          // the list's reference
            }
            return;
        }
        bool extra_ref = false;
        std::unique_lock<spin_lock> parent_guard(p->lock, std::try_to_lock);
        if (!parent_guard.owns_lock()) {
            // Parent before child: let go, take both in order, and check that p is still
            // the parent (it may have left the tree meanwhile and handed n on).
            token_ref(p);
            guard.unlock();
            parent_guard.lock();
            guard.lock();
            extra_ref = true;
            if (n->parent != p) {
                guard.unlock();
                parent_guard.unlock();
                token_unref(p);
                continue;
            }
        }
        while (token_node* c = token_pop_child(n)) { // the list's reference moves to p's
            {
                std::lock_guard child_guard(c->lock);
                c->parent = p;
            }
            token_ref(p);
            token_unref_not_last(n);
            token_link_child(p, c);
        }
        token_unlink_child(p, n);
        n->parent = nullptr;
        guard.unlock();
        parent_guard.unlock();
        token_unref_not_last(n); // p's list reference; the caller's keeps n
        token_unref(p);          // n's reference to p
        if (extra_ref) {
            token_unref(p);
        }
        return;
    }
}

} // namespace detail

class drop_guard;

/// A cancellation signal (`tokio_util::sync::CancellationToken`). A cheap handle: copies
/// refer to the same token. Thread-safe. A moved-from token is still valid (moving
/// copies).
class cancellation_token {
public:
    /// A new token, not cancelled, with no parent. Allocates.
    cancellation_token() : node_(new detail::token_node) {}
    /// Another handle to the same token.
    cancellation_token(const cancellation_token& o) noexcept : node_(o.node_) {
        // relaxed: made from a live handle, so neither count can be zero.
        node_->handles.fetch_add(1, std::memory_order_relaxed);
        detail::token_ref(node_);
    }
    cancellation_token& operator=(const cancellation_token& o) noexcept {
        cancellation_token copy(o);
        std::swap(node_, copy.node_);
        return *this;
    }
    /// Drops this handle. When it was the token's last, the token leaves the tree: its
    /// children stay cancellable through its parent. Does not cancel anything.
    ~cancellation_token() {
        if (node_->handles.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            detail::token_leave_tree(node_);
        }
        detail::token_unref(node_);
    }

    /// A new token that is cancelled when this one is (or any of its ancestors), but
    /// whose own cancellation does not affect this one. Cancelled from birth if this token
    /// is. Allocates.
    [[nodiscard]] cancellation_token child_token() const {
        return cancellation_token(detail::token_new_child(node_));
    }

    /// Cancels this token and every token made from it with `child_token()` (recursively),
    /// waking every task waiting in their `cancelled()`. Idempotent.
    void cancel() const noexcept { detail::token_cancel(node_); }

    /// True once this token is cancelled (by `cancel()`, or through an ancestor).
    [[nodiscard]] bool is_cancelled() const noexcept {
        return node_->cancelled.load(std::memory_order_acquire);
    }

    class cancelled_awaiter;
    /// Completes once the token is cancelled; at once if it already is. The awaiter keeps
    /// its own handle, so it may outlive this one. Cancel-safe: nothing is lost if the
    /// waiting task is cancelled (the token stays cancelled for the next wait).
    [[nodiscard]] cancelled_awaiter cancelled() const noexcept;

    /// A guard that cancels this token when destroyed, unless `disarm()`ed
    /// (`CancellationToken::drop_guard`).
    [[nodiscard]] tako::drop_guard drop_guard() const noexcept;

    /// Runs `work` (a `task<T>` or any awaitable, as for `tako::select`) until it finishes
    /// or this token is cancelled, whichever comes first; gives its result, or
    /// `std::nullopt` if the token was cancelled first (then `work` is destroyed, i.e.
    /// cancelled). The token is checked first each time, so a token that is already
    /// cancelled wins without running `work`. For `void` work the value is
    /// `std::monostate`. Built on `tako::select_biased`: as cancel-safe as `work`.
    template <class A>
    [[nodiscard]] auto run_until_cancelled(A&& work) const;

private:
    explicit cancellation_token(detail::token_node* n) noexcept : node_(n) {}

    detail::token_node* node_; ///< never null
};

/// The awaiter of `cancellation_token::cancelled()`. Its wait node is a private base.
class cancellation_token::cancelled_awaiter : private detail::wait_node {
public:
    explicit cancelled_awaiter(const cancellation_token& t) noexcept : token_(t) {}
    /// Only an awaiter that is not being awaited may be moved (e.g. into `select`).
    cancelled_awaiter(cancelled_awaiter&& o) noexcept : detail::wait_node(), token_(o.token_) {}
    cancelled_awaiter(const cancelled_awaiter&) = delete;
    cancelled_awaiter& operator=(const cancelled_awaiter&) = delete;
    /// Leaves the token's waiter list if the waiting task is cancelled meanwhile.
    ~cancelled_awaiter() {
        if (!waiting_) {
            return; // never linked, or resumed after the canceller let go of it
        }
        std::lock_guard guard(token_.node_->lock);
        if (is_linked()) {
            unlink();
        }
    }

    /// Ready if the token is cancelled (and the task's budget allows completing now).
    bool await_ready() const noexcept { return token_.is_cancelled() && detail::consume_budget(); }
    /// Resumed by the scheduler once `cancel()` fired our node (its gate is open).
    bool await_suspend(std::coroutine_handle<> h) noexcept {
        detail::token_node* n = token_.node_;
        {
            std::lock_guard guard(n->lock);
            if (!n->cancelled.load(std::memory_order_relaxed)) {
                arm(h);
                n->waiters.push_back(*this);
                waiting_ = true;
                return true;
            }
        }
        return detail::complete_or_yield(h);
    }
    /// The token is cancelled.
    void await_resume() noexcept { waiting_ = false; }

private:
    cancellation_token token_;
    bool waiting_ = false; ///< linked at some point; only the awaiting task touches it
};

inline cancellation_token::cancelled_awaiter cancellation_token::cancelled() const noexcept {
    return cancelled_awaiter(*this);
}

/// Cancels its token when destroyed, unless disarmed
/// (`tokio_util::sync::DropGuard`). Move-only.
class [[nodiscard]] drop_guard {
public:
    /// A guard for `token`.
    explicit drop_guard(cancellation_token token) noexcept : token_(std::move(token)) {}
    drop_guard(drop_guard&& o) noexcept : token_(std::move(o.token_)) { o.token_.reset(); }
    drop_guard& operator=(drop_guard&& o) noexcept {
        if (this != &o) {
            fire();
            token_ = std::move(o.token_);
            o.token_.reset();
        }
        return *this;
    }
    drop_guard(const drop_guard&) = delete;
    drop_guard& operator=(const drop_guard&) = delete;
    /// Cancels the token, unless disarmed.
    ~drop_guard() { fire(); }

    /// Gives up the guard without cancelling: returns the token (a disarmed or moved-from
    /// guard gives a new, unrelated token).
    cancellation_token disarm() {
        if (!token_) {
            return cancellation_token();
        }
        cancellation_token t = std::move(*token_);
        token_.reset();
        return t;
    }

private:
    void fire() noexcept {
        if (token_) {
            token_->cancel();
            token_.reset();
        }
    }

    std::optional<cancellation_token> token_; ///< empty once disarmed or moved from
};

inline drop_guard cancellation_token::drop_guard() const noexcept {
    return tako::drop_guard(*this);
}

namespace detail {

template <class R>
task<std::optional<value_or_monostate<R>>> run_until_cancelled_impl(cancellation_token token,
                                                                    task<R> work) {
    auto r = co_await tako::select_biased(token.cancelled(), std::move(work));
    if (r.index() == 0) {
        co_return std::nullopt;
    }
    co_return std::optional<value_or_monostate<R>>(std::in_place, std::move(std::get<1>(r)));
}

} // namespace detail

template <class A>
auto cancellation_token::run_until_cancelled(A&& work) const {
    // The work becomes a branch task now (a borrowed lvalue stays borrowed, as in select),
    // so nothing refers to this call's arguments once it returns.
    using R = detail::branch_result_t<A>;
    return detail::run_until_cancelled_impl<R>(*this, detail::as_branch(std::forward<A>(work)));
}

} // namespace tako
