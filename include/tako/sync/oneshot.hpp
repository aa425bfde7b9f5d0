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

#include <atomic>
#include <coroutine>
#include <expected>
#include <mutex>
#include <new>
#include <optional>
#include <utility>

#include "tako/detail/frame_allocator.hpp"
#include "tako/detail/spin_lock.hpp"
#include "tako/detail/task_header.hpp"

namespace tako::sync::oneshot {

/// Why a receive produced no value.
enum class recv_error {
    closed, ///< the sender was destroyed without sending
    empty,  ///< try_recv only: nothing sent yet
};

namespace detail {

using namespace tako::detail;

template <class T>
struct shared {
    spin_lock lock;
    bool sender_alive = true;
    bool receiver_alive = true;
    std::atomic<unsigned char> refs{2};
    std::optional<T> value;
    waker receiver_waiter; ///< guarded by lock

    static shared* create() { return ::new (frame_allocate(sizeof(shared))) shared(); }
    void release() noexcept {
        // acq_rel: the last owner sees the other's writes before destroying the state.
        if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            this->~shared();
            frame_deallocate(this, sizeof(shared));
        }
    }
    /// Under lock: takes the receiver's waker, if it waits.
    task_ref take_waiter() noexcept {
        task_ref r;
        if (receiver_waiter) {
            r = receiver_waiter.fire();
            receiver_waiter = {};
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
    sender(sender&& o) noexcept : state_(std::exchange(o.state_, nullptr)) {}
    sender& operator=(sender&& o) noexcept {
        if (this != &o) {
            close();
            state_ = std::exchange(o.state_, nullptr);
        }
        return *this;
    }
    ~sender() { close(); }

    /// Sends `value`, consuming the sender. If the receiver is gone the value comes back
    /// as the error. Never blocks; wakes the receiver. `[[nodiscard]]`: a failed send hands
    /// the value back, so ignoring the result is spelled `(void)tx.send(v)`.
    [[nodiscard]] std::expected<void, T> send(T value) {
        auto* s = std::exchange(state_, nullptr);
        if (s == nullptr) {
            return std::unexpected(std::move(value)); // already used
        }
        tako::detail::task_ref r;
        bool delivered = false;
        {
            std::lock_guard guard(s->lock);
            s->sender_alive = false;
            if (s->receiver_alive) {
                s->value.emplace(std::move(value));
                delivered = true;
            }
            // A receiver that closed and still waits learns the channel is done.
            r = s->take_waiter();
        }
        std::move(r).wake();
        s->release();
        if (!delivered) {
            return std::unexpected(std::move(value));
        }
        return {};
    }

    /// True once the receiver has been destroyed or closed.
    [[nodiscard]] bool is_closed() const noexcept {
        if (state_ == nullptr) {
            return true;
        }
        std::lock_guard guard(state_->lock);
        return !state_->receiver_alive;
    }

private:
    template <class U>
    friend std::pair<sender<U>, receiver<U>> channel();
    explicit sender(detail::shared<T>* s) noexcept : state_(s) {}

    void close() noexcept {
        auto* s = std::exchange(state_, nullptr);
        if (s == nullptr) {
            return;
        }
        tako::detail::task_ref r;
        {
            std::lock_guard guard(s->lock);
            s->sender_alive = false;
            r = s->take_waiter();
        }
        std::move(r).wake();
        s->release();
    }

    detail::shared<T>* state_;
};

/// The receiving half. `co_await rx` gives the value, or `recv_error::closed` if the
/// sender was destroyed without sending. Cancel-safe: if the awaiting task is cancelled,
/// a value sent later stays in the channel.
template <class T>
class receiver {
public:
    receiver(receiver&& o) noexcept : state_(std::exchange(o.state_, nullptr)) {}
    receiver& operator=(receiver&& o) noexcept {
        if (this != &o) {
            reset();
            state_ = std::exchange(o.state_, nullptr);
        }
        return *this;
    }
    ~receiver() { reset(); }

    /// The value if it was sent; `empty` if not yet; `closed` if it never will be.
    std::expected<T, recv_error> try_recv() {
        if (state_ == nullptr) {
            return std::unexpected(recv_error::closed);
        }
        std::lock_guard guard(state_->lock);
        return take_locked();
    }

    /// Closes the channel: a later `send` fails and returns its value.
    void close() noexcept {
        if (state_ != nullptr) {
            std::lock_guard guard(state_->lock);
            state_->receiver_alive = false;
        }
    }

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
        // Resumed by the scheduler once send() or the sender's destruction fired our waker.
        bool await_suspend(std::coroutine_handle<> h) noexcept {
            auto* s = rx_.state_;
            if (s == nullptr) {
                return false;
            }
            std::lock_guard guard(s->lock);
            if (s->value || !s->sender_alive || !s->receiver_alive) {
                if (tako::detail::consume_budget()) {
                    return false;
                }
                tako::detail::yield_at(h);
                return true;
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
            return r ? std::move(r) : std::unexpected(recv_error::closed);
        }

    private:
        receiver& rx_;
        tako::detail::wake_gate gate_;
        bool linked_ = false;
    };

    awaiter operator co_await() & noexcept { return awaiter(*this); }
    awaiter operator co_await() && noexcept { return awaiter(*this); }

private:
    template <class U>
    friend std::pair<sender<U>, receiver<U>> channel();
    explicit receiver(detail::shared<T>* s) noexcept : state_(s) {}

    std::expected<T, recv_error> take_locked() {
        if (state_->value) {
            T v = std::move(*state_->value);
            state_->value.reset();
            return v;
        }
        const bool open = state_->sender_alive && state_->receiver_alive;
        return std::unexpected(open ? recv_error::empty : recv_error::closed);
    }
    void reset() noexcept {
        if (auto* s = std::exchange(state_, nullptr)) {
            {
                std::lock_guard guard(s->lock);
                s->receiver_alive = false;
            }
            s->release();
        }
    }

    detail::shared<T>* state_;
};

/// Creates a connected sender/receiver pair.
template <class T>
std::pair<sender<T>, receiver<T>> channel() {
    auto* s = detail::shared<T>::create();
    return {sender<T>(s), receiver<T>(s)};
}

} // namespace tako::sync::oneshot
