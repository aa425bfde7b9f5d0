#pragma once
/// \file
/// `tako::sync::oneshot`: send one value from one task to another
/// (`tokio::sync::oneshot`).
///
/// ```cpp
/// auto [tx, rx] = tako::sync::oneshot::channel<int>();
/// tako::spawn([tx = std::move(tx)]() mutable -> tako::task<> { (void)tx.send(42); co_return; });
/// auto v = co_await rx;    // std::expected<int, tako::sync::oneshot::recv_error>
/// ```
///
/// `channel<void>()` is a bare signal: `send()` takes no value and `co_await rx` gives
/// `std::expected<void, recv_error>`. A sender can also wait for the receiver to lose
/// interest (`closed()`), e.g. to stop computing an answer nobody will read:
///
/// ```cpp
/// auto [done_tx, done_rx] = tako::sync::oneshot::channel<void>();
/// auto [tx, rx] = tako::sync::oneshot::channel<int>();
/// auto worker = tako::spawn(
///     [](tako::sync::oneshot::sender<int> out, tako::sync::oneshot::sender<void> done)
///         -> tako::task<> {
///         auto r = co_await tako::select(out.closed(), compute());
///         if (r.index() == 1) {
///             (void)out.send(std::get<1>(r)); // the receiver may still leave meanwhile
///         }
///         done.send(); // the result needs no check: a signal carries nothing to lose
///     },
///     std::move(tx), std::move(done_tx));
/// rx.close(); // changed our mind: the worker's closed() completes, compute() is cancelled
/// co_await done_rx;
/// ```
///
/// Each half has one owner; the two owners may be on different threads (plain threads
/// outside the runtime included). Waking never resumes the other side inline.

#include <atomic>
#include <coroutine>
#include <exception>
#include <expected>
#include <mutex>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

#include "tako/detail/frame_allocator.hpp"
#include "tako/detail/spin_lock.hpp"
#include "tako/detail/task_header.hpp"
#include "tako/detail/wait_list.hpp"

namespace tako::sync::oneshot {

/// Why a receive produced no value.
enum class recv_error {
    closed, ///< the sender was destroyed without sending
    empty,  ///< try_recv only: nothing sent yet
};

/// Why `sender<void>::send()` failed (a `sender<T>` hands its value back instead).
enum class send_error {
    closed, ///< the receiver was destroyed or closed, or the sender was already used
};

namespace detail {

using namespace tako::detail;

/// The slot a sent value waits in: the value itself, or for `void` only the fact that
/// something was sent.
template <class T>
class value_slot {
public:
    [[nodiscard]] bool full() const noexcept { return value_.has_value(); }
    void put(T&& v) { value_.emplace(std::move(v)); }
    /// Precondition: full.
    T take() {
        T v = std::move(*value_);
        value_.reset();
        return v;
    }

private:
    std::optional<T> value_;
};

template <>
class value_slot<void> {
public:
    [[nodiscard]] bool full() const noexcept { return full_; }
    void put() noexcept { full_ = true; }
    void take() noexcept { full_ = false; }

private:
    bool full_ = false;
};

template <class T>
struct shared {
    spin_lock lock;
    bool sender_alive = true;
    bool receiver_alive = true;
    std::atomic<unsigned char> refs{2};
    value_slot<T> value;   ///< guarded by lock
    waker receiver_waiter; ///< guarded by lock: a task in `co_await rx`
    waker sender_waiter;   ///< guarded by lock: a task in `co_await tx.closed()`

    static shared* create() { return ::new (frame_allocate(sizeof(shared))) shared(); }
    void release() noexcept {
        // acq_rel: the last owner sees the other's writes before destroying the state.
        if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            this->~shared();
            frame_deallocate(this, sizeof(shared));
        }
    }
    /// Under lock: fires and empties one of the waker slots (if a task waits there). The
    /// slot lives here, not in the awaiter, so emptying it after firing is safe.
    static task_ref take(waker& slot) noexcept {
        task_ref r;
        if (slot) {
            r = slot.fire();
            slot = {};
        }
        return r;
    }
};

} // namespace detail

template <class T>
class receiver;

/// The sending half. Move-only; destroying it without sending closes the channel.
template <class T>
class sender {
public:
    /// Takes over `o`'s channel. `o` is left as a used sender: `send` fails, `is_closed()`
    /// is true, `closed()` completes at once.
    sender(sender&& o) noexcept : state_(std::exchange(o.state_, nullptr)) {}
    /// Closes this sender's channel unsent (as the destructor does), then takes over `o`'s.
    sender& operator=(sender&& o) noexcept {
        if (this != &o) {
            close();
            state_ = std::exchange(o.state_, nullptr);
        }
        return *this;
    }
    /// If it did not send: closes the channel, waking a waiting receiver with
    /// `recv_error::closed`.
    ~sender() { close(); }

    /// Sends `value`, consuming the sender. If the receiver is gone or closed (or this
    /// sender was already used) the value comes back as the error. Never blocks; wakes the
    /// receiver. `[[nodiscard]]`: a failed send hands the value back, so ignoring the result
    /// is spelled `(void)tx.send(v)`. Not for `sender<void>`, which has `send()`.
    template <class U = T>
    requires(!std::is_void_v<U>)
        [[nodiscard]] std::expected<void, U> send(std::type_identity_t<U> value) {
        if (deliver([&](detail::value_slot<T>& slot) { slot.put(std::move(value)); })) {
            return {};
        }
        return std::unexpected(std::move(value));
    }

    /// `sender<void>` only: sends the signal, consuming the sender. Fails with
    /// `send_error::closed` if the receiver is gone or closed (or this sender was already
    /// used); nothing is lost then, so ignoring the result is fine. Never blocks; wakes the
    /// receiver.
    std::expected<void, send_error> send() requires std::is_void_v<T> {
        if (deliver([](detail::value_slot<void>& slot) { slot.put(); })) {
            return {};
        }
        return std::unexpected(send_error::closed);
    }

    /// True once the receiver has been destroyed or closed (or this sender was used).
    [[nodiscard]] bool is_closed() const noexcept {
        if (state_ == nullptr) {
            return true;
        }
        std::lock_guard guard(state_->lock);
        return !state_->receiver_alive;
    }

    /// The awaiter of `closed()`. Resumed by the scheduler after the receiver's destruction
    /// or `close()` fired its waker (on whichever thread that ran).
    class closed_awaiter {
    public:
        explicit closed_awaiter(sender& tx) noexcept : tx_(tx) {}
        /// Only an awaiter that is not being awaited may be moved (e.g. into `select`).
        closed_awaiter(closed_awaiter&& o) noexcept : tx_(o.tx_) {}
        closed_awaiter(const closed_awaiter&) = delete;
        closed_awaiter& operator=(const closed_awaiter&) = delete;
        /// Unregisters the waker if the awaiting task is cancelled (or the `select` branch
        /// lost) while suspended. The receiver empties the slot when it fires, so a slot
        /// that holds another gate is not ours to clear.
        ~closed_awaiter() {
            if (linked_) {
                std::lock_guard guard(tx_.state_->lock);
                if (tx_.state_->sender_waiter.gate == &gate_) {
                    tx_.state_->sender_waiter = {};
                }
            }
        }

        bool await_ready() const noexcept { return false; }
        bool await_suspend(std::coroutine_handle<> h) noexcept {
            auto* s = tx_.state_;
            if (s == nullptr) {
                return tako::detail::complete_or_yield(h);
            }
            std::lock_guard guard(s->lock);
            if (!s->receiver_alive) {
                return tako::detail::complete_or_yield(h);
            }
            s->sender_waiter = tako::detail::record_suspension(h, gate_);
            linked_ = true;
            return true;
        }
        void await_resume() noexcept { linked_ = false; } // the receiver emptied the slot

    private:
        sender& tx_;
        tako::detail::wake_gate gate_;
        bool linked_ = false; ///< our waker may be in the slot (only the owning task reads)
    };

    /// Completes when the receiver is destroyed or calls `close()` (at once if that already
    /// happened, or if this sender was used). Tokio's `Sender::closed`: `select` it against
    /// the work that produces the value to stop early when nobody will read it.
    ///
    /// Cancel safety: cancel-safe; a cancelled wait unregisters itself and changes nothing.
    /// The sender must stay in place (not moved, sent or destroyed) while the returned
    /// awaiter exists, and only one `closed()` may wait at a time.
    [[nodiscard]] closed_awaiter closed() noexcept { return closed_awaiter(*this); }

private:
    template <class U>
    friend std::pair<sender<U>, receiver<U>> channel();
    explicit sender(detail::shared<T>* s) noexcept : state_(s) {}

    /// Consumes the sender: stores the value with `put(slot)` if the receiver is still
    /// there, and wakes a waiting receiver either way (one that closed and still waits
    /// learns that nothing will come). Returns whether the value was stored.
    template <class Put>
    bool deliver(Put&& put) {
        auto* s = std::exchange(state_, nullptr);
        if (s == nullptr) {
            return false; // already used
        }
        tako::detail::task_ref r;
        bool delivered = false;
        std::exception_ptr failed;
        {
            std::lock_guard guard(s->lock);
            s->sender_alive = false;
            if (s->receiver_alive) {
                try {
                    put(s->value);
                    delivered = true;
                } catch (...) {
                    failed = std::current_exception(); // T's move threw: nothing stored
                }
            }
            r = detail::shared<T>::take(s->receiver_waiter);
        }
        std::move(r).wake();
        s->release();
        if (failed) {
            std::rethrow_exception(failed); // the sender is consumed, as after a send
        }
        return delivered;
    }

    void close() noexcept {
        auto* s = std::exchange(state_, nullptr);
        if (s == nullptr) {
            return;
        }
        tako::detail::task_ref r;
        {
            std::lock_guard guard(s->lock);
            s->sender_alive = false;
            r = detail::shared<T>::take(s->receiver_waiter);
        }
        std::move(r).wake();
        s->release();
    }

    detail::shared<T>* state_;
};

/// The receiving half. `co_await rx` gives the value (`std::expected<T, recv_error>`; for
/// `T = void`, `std::expected<void, recv_error>`), or `recv_error::closed` if the sender was
/// destroyed without sending. Awaiting does not consume the receiver: an lvalue `rx` can be
/// borrowed by `select` in a loop.
///
/// Cancel safety: cancel-safe. If the awaiting task is cancelled (or the `select` branch
/// loses), a value sent later, or sent but not yet taken, stays in the channel for the next
/// `co_await rx` or `try_recv()`.
template <class T>
class receiver {
public:
    /// Takes over `o`'s channel. `o` is left without one: receiving from it gives
    /// `recv_error::closed`. Not while a task awaits `o`.
    receiver(receiver&& o) noexcept : state_(std::exchange(o.state_, nullptr)) {}
    /// Closes this receiver's channel (as the destructor does), then takes over `o`'s.
    receiver& operator=(receiver&& o) noexcept {
        if (this != &o) {
            reset();
            state_ = std::exchange(o.state_, nullptr);
        }
        return *this;
    }
    /// Closes the channel (a later `send` fails) and wakes a sender waiting in `closed()`.
    ~receiver() { reset(); }

    /// Never waits: the value if it was sent; `empty` if not yet; `closed` if it never will
    /// be (the sender is gone, or this receiver closed and nothing was sent before).
    std::expected<T, recv_error> try_recv() {
        if (state_ == nullptr) {
            return std::unexpected(recv_error::closed);
        }
        std::lock_guard guard(state_->lock);
        return take_locked();
    }

    /// Closes the channel: a later `send` fails (and returns its value), a sender waiting
    /// in `closed()` is woken, and `is_closed()` becomes true. A value sent before the close
    /// can still be received.
    void close() noexcept {
        if (state_ == nullptr) {
            return;
        }
        tako::detail::task_ref r;
        {
            std::lock_guard guard(state_->lock);
            state_->receiver_alive = false;
            r = detail::shared<T>::take(state_->sender_waiter);
        }
        std::move(r).wake();
    }

    /// The awaiter of `co_await rx`. Resumed by the scheduler once `send()` or the sender's
    /// destruction fired its waker (on whichever thread that ran).
    class awaiter {
    public:
        explicit awaiter(receiver& r) noexcept : rx_(r) {}
        awaiter(const awaiter&) = delete;
        awaiter& operator=(const awaiter&) = delete;
        /// Unlinks the waker if the awaiting task is cancelled while suspended.
        ~awaiter() {
            if (linked_) {
                std::lock_guard guard(rx_.state_->lock);
                rx_.state_->receiver_waiter = {};
            }
        }
        bool await_ready() noexcept { return false; }
        bool await_suspend(std::coroutine_handle<> h) noexcept {
            auto* s = rx_.state_;
            if (s == nullptr) {
                return false;
            }
            std::lock_guard guard(s->lock);
            if (s->value.full() || !s->sender_alive || !s->receiver_alive) {
                return tako::detail::complete_or_yield(h);
            }
            s->receiver_waiter = tako::detail::record_suspension(h, gate_);
            linked_ = true;
            return true;
        }
        std::expected<T, recv_error> await_resume() {
            linked_ = false; // the sender emptied the slot when it fired
            if (rx_.state_ == nullptr) {
                return std::unexpected(recv_error::closed);
            }
            std::lock_guard guard(rx_.state_->lock);
            auto r = rx_.take_locked();
            if (!r && r.error() == recv_error::empty) {
                return std::unexpected(recv_error::closed);
            }
            return r;
        }

    private:
        receiver& rx_;
        tako::detail::wake_gate gate_;
        bool linked_ = false;
    };

    /// Waits for the value; see the class comment (cancel-safe).
    awaiter operator co_await() & noexcept { return awaiter(*this); }
    awaiter operator co_await() && noexcept { return awaiter(*this); }

private:
    template <class U>
    friend std::pair<sender<U>, receiver<U>> channel();
    explicit receiver(detail::shared<T>* s) noexcept : state_(s) {}

    std::expected<T, recv_error> take_locked() {
        if (state_->value.full()) {
            if constexpr (std::is_void_v<T>) {
                state_->value.take();
                return {};
            } else {
                return state_->value.take();
            }
        }
        const bool open = state_->sender_alive && state_->receiver_alive;
        return std::unexpected(open ? recv_error::empty : recv_error::closed);
    }
    void reset() noexcept {
        if (auto* s = std::exchange(state_, nullptr)) {
            tako::detail::task_ref r;
            {
                std::lock_guard guard(s->lock);
                s->receiver_alive = false;
                r = detail::shared<T>::take(s->sender_waiter);
            }
            std::move(r).wake();
            s->release();
        }
    }

    detail::shared<T>* state_;
};

/// Creates a connected sender/receiver pair. `T` may be `void` (a signal without a value).
template <class T>
std::pair<sender<T>, receiver<T>> channel() {
    auto* s = detail::shared<T>::create();
    return {sender<T>(s), receiver<T>(s)};
}

} // namespace tako::sync::oneshot
