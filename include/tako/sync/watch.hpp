#pragma once
/// \file
/// `tako::sync::watch`: one value that a sender updates and any number of receivers
/// observe, seeing only the latest (`tokio::sync::watch`).
///
/// ```cpp
/// #include <tako/sync/watch.hpp>
///
/// tako::task<void> follow() {
///     auto [tx, rx] = tako::sync::watch::channel<int>(0);
///     tx.send_replace(1);
///     tx.send_replace(2);
///     auto changed = co_await rx.changed(); // std::expected<void, watch::recv_error>
///     if (changed) {
///         use(*rx.borrow_and_update()); // 2: the sends before we looked are one change
///     }
///     auto ready = co_await rx.wait_for([](const int& v) { return v >= 2; });
///     if (ready) {
///         use(**ready); // a guard: read the value, drop the guard before the next co_await
///     }
/// }
/// ```
///
/// The channel holds one `T` and a version number. Each send (`send`, `send_replace`,
/// `send_modify`, and `send_if_modified` when its function says it modified the value)
/// bumps the version and wakes every waiting receiver. A receiver remembers the version
/// it last *saw*; `changed()` completes once the version moved past it and marks the
/// newest version seen, so several sends before the receiver looks are a single change
/// (it observes the latest value, not each one). `borrow()` reads without marking,
/// `borrow_and_update()` reads and marks.
///
/// **Guards.** `borrow`, `borrow_and_update` and `wait_for` give a `ref<T>`: a read guard
/// holding a shared lock (`std::shared_mutex`) on the value. While any guard lives, every
/// send waits (blocking its thread), so keep guards short: read or copy what you need and
/// drop the guard. A guard must not be held across a `co_await` (nor returned out of a
/// coroutine, nor out of a `select` / `join` branch): the task may resume on another
/// thread, and a shared lock must be released by the thread that took it. Sending from
/// the thread that holds a guard deadlocks.
///
/// **Closing.** When the last sender is destroyed, `changed()` and `wait_for` report
/// `recv_error::closed` once the receiver has seen the last version. When the last
/// receiver is destroyed, `send` fails and hands the value back (the other sends still
/// store it) and `sender::closed()` completes; `subscribe()` opens the channel again.
///
/// Thread safety: senders and receivers may be used from any thread; a receiver (and
/// each copy of it) belongs to one task at a time, since `changed()` updates the version
/// it saw. Waking only schedules: no receiver runs inside a send.

#include <atomic>
#include <cassert>
#include <concepts>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <expected>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <type_traits>
#include <utility>

#include "tako/detail/frame_allocator.hpp"
#include "tako/detail/spin_lock.hpp"
#include "tako/detail/closed_awaiter.hpp"
#include "tako/detail/wait_list.hpp"

namespace tako::sync::watch {

/// Why a wait on a receiver ended without a change.
enum class recv_error {
    closed, ///< every sender is gone and this receiver has seen the last version
};

/// The value of a failed `sender::send`, handed back: there was no receiver.
template <class T>
struct send_error {
    T value; ///< the value that was not sent
};

template <class T>
class sender;
template <class T>
class receiver;
template <class T>
class ref;
template <class T>
std::pair<sender<T>, receiver<T>> channel(T initial);

namespace detail {

/// Bit 0 of `shared::state`: every sender is gone. The version is the rest.
inline constexpr std::uint64_t closed_bit = 1;
/// What a send adds to `shared::state`.
inline constexpr std::uint64_t version_step = 2;

/// The shared batch-firing loop (see tako::detail::fire_all).
using tako::detail::fire_all;

template <class T>
struct shared {
    template <class U>
    explicit shared(U&& initial) : value(std::forward<U>(initial)) {}
    shared(const shared&) = delete;
    shared& operator=(const shared&) = delete;

    std::shared_mutex value_lock; ///< guards `value`; the version moves only under it
    T value;
    /// version (a multiple of `version_step`) | `closed_bit`. Bumped with `value_lock`
    /// held exclusively, so a reader holding it shared sees the version of its value.
    std::atomic<std::uint64_t> state{0};

    /// Guards the two lists and the changes of `rx_count`; a state change is published
    /// under it too (see `publish`). Taken after `value_lock`, never before it.
    tako::detail::spin_lock lock;
    tako::detail::wait_list waiters;        ///< changed() / wait_for awaiters
    tako::detail::wait_list closed_waiters; ///< sender::closed() awaiters

    /// For `sender::closed()` (`tako::detail::closed_awaiter`).
    auto& closed_lock() noexcept { return lock; }
    bool has_receivers_locked() const noexcept { return rx_count.load(std::memory_order_relaxed) != 0; }
    std::atomic<std::size_t> rx_count{1};   ///< changed under `lock`; read anywhere
    std::atomic<std::size_t> tx_count{1};

    [[nodiscard]] std::uint64_t version() const noexcept {
        return state.load(std::memory_order_acquire) & ~closed_bit;
    }

    /// Bumps the version (or, `close`, sets the closed bit) and takes every waiting
    /// receiver into `woken`, in one critical section: a receiver checks the state and
    /// parks under the same lock, so it is either taken here (and had not seen this
    /// change) or sees the change and does not park. (Publishing first and taking the
    /// waiters after would fire a receiver that had already seen the change and parked
    /// again for the next one.) A bump happens with `value_lock` held exclusively.
    void publish(bool close, tako::detail::wait_list& woken) noexcept {
        std::lock_guard guard(lock);
        // release: a receiver that acquires the new state sees the new value.
        if (close) {
            state.fetch_or(closed_bit, std::memory_order_release);
        } else {
            state.fetch_add(version_step, std::memory_order_release);
        }
        woken.splice_back(waiters);
    }

    /// Fires what `publish` took, in batches.
    void wake(tako::detail::wait_list& woken) noexcept {
        std::unique_lock guard(lock);
        fire_all(guard, woken);
    }
};

/// Builds guards (their constructor is private).
struct ref_access {
    template <class T>
    static ref<T> make(std::shared_lock<std::shared_mutex> lock, const T& value, bool changed) {
        return ref<T>(std::move(lock), value, changed);
    }
};

/// The coroutine that carries on a `wait_for` that had to wait: the scheduler resumes it
/// (instead of the awaiting coroutine) whenever its wait node fires or after a budget
/// yield; it re-checks the predicate, parks again if it still fails, and transfers to the
/// awaiting coroutine when it holds, with the guard taken on this same thread. It is not
/// part of the task's chain: the awaiter owns its frame and destroys it.
struct wait_driver {
    struct promise_type {
        std::coroutine_handle<> continuation; ///< the coroutine awaiting `wait_for`

        static void* operator new(std::size_t size) { return tako::detail::frame_allocate(size); }
        static void operator delete(void* frame, std::size_t size) noexcept {
            tako::detail::frame_deallocate(frame, size);
        }
        wait_driver get_return_object() noexcept {
            return wait_driver{std::coroutine_handle<promise_type>::from_promise(*this)};
        }
        std::suspend_always initial_suspend() noexcept { return {}; }
        struct final_awaiter {
            bool await_ready() noexcept { return false; }
            // A plain symmetric transfer: the awaiting coroutine continues on this thread,
            // where the guard was taken (never re-queued, unlike task's final transfer).
            std::coroutine_handle<>
            await_suspend(std::coroutine_handle<promise_type> self) noexcept {
                return self.promise().continuation;
            }
            void await_resume() noexcept {}
        };
        final_awaiter final_suspend() noexcept { return {}; }
        void return_void() noexcept {}
        void unhandled_exception() noexcept { std::terminate(); } // the body catches all
    };
    std::coroutine_handle<promise_type> handle;
};

} // namespace detail

/// A read guard on the channel's value (Tokio's `watch::Ref`): holds a shared lock until
/// destroyed. Move-only. Never hold one across a `co_await` (see the file comment); every
/// send waits while it lives.
template <class T>
class ref {
public:
    ref(ref&&) noexcept = default;
    ref& operator=(ref&&) noexcept = default;
    ref(const ref&) = delete;
    ref& operator=(const ref&) = delete;
    ~ref() = default;

    /// The value.
    [[nodiscard]] const T& operator*() const noexcept { return *value_; }
    /// The value's members.
    [[nodiscard]] const T* operator->() const noexcept { return value_; }
    /// The value.
    [[nodiscard]] const T& get() const noexcept { return *value_; }
    /// True if the value had not been seen by the receiver when the guard was taken (the
    /// receiver's version differed). Always false for `sender::borrow`.
    [[nodiscard]] bool has_changed() const noexcept { return has_changed_; }

private:
    friend struct detail::ref_access;
    ref(std::shared_lock<std::shared_mutex> lock, const T& value, bool changed) noexcept
        : lock_(std::move(lock)), value_(&value), has_changed_(changed) {}

    std::shared_lock<std::shared_mutex> lock_;
    const T* value_;
    bool has_changed_;
};

/// The sending half. Copyable: the channel closes when the last copy is destroyed.
/// Thread-safe. A moved-from sender may only be assigned to or destroyed.
template <class T>
class sender {
public:
    sender(const sender& o) noexcept : s_(o.s_) {
        if (s_) {
            s_->tx_count.fetch_add(1, std::memory_order_relaxed);
        }
    }
    sender(sender&& o) noexcept = default;
    sender& operator=(const sender& o) noexcept {
        if (this != &o) {
            sender copy(o);
            release();
            s_ = std::move(copy.s_);
        }
        return *this;
    }
    sender& operator=(sender&& o) noexcept {
        if (this != &o) {
            release();
            s_ = std::move(o.s_);
        }
        return *this;
    }
    /// The last sender closes the channel: waiting receivers wake with `closed` (after
    /// seeing a last change they had not seen).
    ~sender() { release(); }

    /// Replaces the value and wakes every waiting receiver, if there is a receiver; with
    /// none, the value comes back in the error and the channel's value is unchanged.
    [[nodiscard]] std::expected<void, send_error<T>> send(T value) const {
        if (receiver_count() == 0) {
            return std::unexpected(send_error<T>{std::move(value)});
        }
        (void)send_replace(std::move(value));
        return {};
    }

    /// Calls `modify` on the value (under the exclusive lock), then counts it as a change
    /// and wakes every waiting receiver, whether or not there are receivers. If `modify`
    /// throws, the exception propagates and nobody is woken (the value keeps whatever
    /// `modify` did). `modify` must not touch the channel.
    template <class F>
    requires std::invocable<F&, T&>
    void send_modify(F&& modify) const {
        (void)send_if_modified([&modify](T& v) {
            std::invoke(modify, v);
            return true;
        });
    }

    /// Calls `modify` on the value (under the exclusive lock); if it returns true, counts
    /// it as a change and wakes every waiting receiver; if false, nothing changes for the
    /// receivers (no version bump, no wake: return false only if the value is as it was).
    /// Returns what `modify` returned. If `modify` throws, as `send_modify`.
    template <class F>
    requires std::is_invocable_r_v<bool, F&, T&>
    bool send_if_modified(F&& modify) const {
        tako::detail::wait_list woken;
        {
            std::unique_lock guard(s_->value_lock);
            if (!static_cast<bool>(std::invoke(modify, s_->value))) {
                return false;
            }
            s_->publish(false, woken);
        }
        s_->wake(woken);
        return true;
    }

    /// Replaces the value (receivers or not), wakes every waiting receiver and returns the
    /// previous value.
    T send_replace(T value) const {
        tako::detail::wait_list woken;
        {
            std::unique_lock guard(s_->value_lock);
            using std::swap;
            swap(s_->value, value);
            s_->publish(false, woken);
        }
        s_->wake(woken);
        return value;
    }

    /// A read guard on the current value (`has_changed()` is false). See "guards" above.
    [[nodiscard]] ref<T> borrow() const {
        return detail::ref_access::make(std::shared_lock(s_->value_lock), s_->value, false);
    }

    /// A new receiver that has seen the current value (its `changed()` waits for the next
    /// send). Reopens a channel whose receivers were all gone.
    [[nodiscard]] receiver<T> subscribe() const {
        {
            std::lock_guard guard(s_->lock);
            s_->rx_count.fetch_add(1, std::memory_order_relaxed);
        }
        return receiver<T>(s_, s_->version());
    }

    /// The number of live receivers.
    [[nodiscard]] std::size_t receiver_count() const noexcept {
        return s_->rx_count.load(std::memory_order_relaxed);
    }

    /// True if there is no receiver (`send` would fail).
    [[nodiscard]] bool is_closed() const noexcept { return receiver_count() == 0; }

    /// True if both senders belong to the same channel.
    [[nodiscard]] bool same_channel(const sender& o) const noexcept { return s_ == o.s_; }

    /// What `closed()` returns: one wait, parked on the channel's closed-waiter list.
    using closed_awaiter = tako::detail::closed_awaiter<detail::shared<T>>;
    /// Completes when the channel has no receiver (at once if it has none now). If a new
    /// receiver subscribes between the last one's destruction and the waiting task's
    /// resumption, it completes all the same. Cancel-safe: it takes nothing.
    [[nodiscard]] closed_awaiter closed() const noexcept { return closed_awaiter(*s_); }


private:
    template <class U>
    friend std::pair<sender<U>, receiver<U>> channel(U initial);
    explicit sender(std::shared_ptr<detail::shared<T>> s) noexcept : s_(std::move(s)) {}

    void release() noexcept {
        std::shared_ptr<detail::shared<T>> s = std::move(s_);
        // acq_rel: the last sender's close comes after every other sender's sends.
        if (s && s->tx_count.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            tako::detail::wait_list woken;
            s->publish(true, woken);
            s->wake(woken);
        }
    }

    std::shared_ptr<detail::shared<T>> s_;
};

/// The receiving half: observes the value and its changes. Copyable: a copy has seen the
/// same version. Each copy belongs to one task at a time. Its `changed()` / `wait_for`
/// awaiters refer to it: it must not be moved or destroyed while one exists. A moved-from
/// receiver may only be assigned to or destroyed.
template <class T>
class receiver {
public:
    receiver(const receiver& o) : s_(o.s_), version_(o.version_) {
        if (s_) {
            std::lock_guard guard(s_->lock);
            s_->rx_count.fetch_add(1, std::memory_order_relaxed);
        }
    }
    receiver(receiver&& o) noexcept : s_(std::move(o.s_)), version_(o.version_) {}
    receiver& operator=(const receiver& o) {
        if (this != &o) {
            receiver copy(o);
            *this = std::move(copy);
        }
        return *this;
    }
    receiver& operator=(receiver&& o) noexcept {
        if (this != &o) {
            reset();
            s_ = std::move(o.s_);
            version_ = o.version_;
        }
        return *this;
    }
    /// The last receiver completes the senders' `closed()`.
    ~receiver() { reset(); }

    /// A read guard on the current value, without marking it seen; its `has_changed()`
    /// says whether this receiver had seen it. See "guards" above.
    [[nodiscard]] ref<T> borrow() const {
        std::shared_lock lock(s_->value_lock);
        const bool changed = s_->version() != version_;
        return detail::ref_access::make(std::move(lock), s_->value, changed);
    }

    /// A read guard on the current value, which this receiver now has seen (`changed()`
    /// waits for a later send); `has_changed()` says whether it had been seen before.
    [[nodiscard]] ref<T> borrow_and_update() {
        std::shared_lock lock(s_->value_lock);
        const std::uint64_t v = s_->version();
        const bool changed = v != version_;
        version_ = v;
        return detail::ref_access::make(std::move(lock), s_->value, changed);
    }

    /// True if the value changed since this receiver last saw it; `recv_error::closed` if
    /// every sender is gone (as Tokio, even with a change not yet seen).
    [[nodiscard]] std::expected<bool, recv_error> has_changed() const noexcept {
        const std::uint64_t st = s_->state.load(std::memory_order_acquire);
        if ((st & detail::closed_bit) != 0) {
            return std::unexpected(recv_error::closed);
        }
        return (st & ~detail::closed_bit) != version_;
    }

    /// Forgets having seen the current value: `changed()` completes at once.
    void mark_changed() noexcept { version_ -= detail::version_step; }

    /// Marks the current value seen, without reading it.
    void mark_unchanged() noexcept { version_ = s_->version(); }

    /// True if both receivers belong to the same channel.
    [[nodiscard]] bool same_channel(const receiver& o) const noexcept { return s_ == o.s_; }

    class changed_awaiter;
    /// Waits until the value changed since this receiver last saw it, then marks the
    /// newest version seen: `co_await rx.changed()` gives `std::expected<void,
    /// recv_error>`. Sends made before the receiver resumes are one change. A change made
    /// before the last sender was destroyed is reported first; after that,
    /// `recv_error::closed`. Then read the value with `borrow_and_update()` (or
    /// `borrow()`).
    ///
    /// Cancel-safe: a `changed()` destroyed before it completes (its task cancelled, or
    /// it lost a `select`) has not marked anything seen; the next `changed()` reports the
    /// change. Each call makes a new awaiter, so it can run in a `select` loop.
    [[nodiscard]] changed_awaiter changed() noexcept { return changed_awaiter(*this); }

    template <class Pred>
    class wait_for_awaiter;
    /// Waits until `pred(value)` holds and gives a guard on that value:
    /// `std::expected<ref<T>, recv_error>`. Checks the current value first (it may
    /// complete at once), then after each change; marks each version it checks seen (as
    /// `changed()`), so a value skipped between two checks is never tested. After the
    /// last sender is gone: `recv_error::closed`, once the last version was checked.
    /// `pred` runs on the awaiting task, with the value read-locked (it must not send on
    /// this channel); if it throws, the exception comes out of the `co_await`.
    ///
    /// Cancel-safe: destroying it before it completes takes nothing (versions it already
    /// checked stay seen, as they would in Tokio). Do not pass it to `select` / `join`:
    /// the guard would leave the combinator's branch (see "guards"); wait with
    /// `changed()` there and `borrow()` after.
    template <std::predicate<const T&> Pred>
    [[nodiscard]] wait_for_awaiter<std::decay_t<Pred>> wait_for(Pred&& pred) {
        return wait_for_awaiter<std::decay_t<Pred>>(*this, std::forward<Pred>(pred));
    }

    /// What `changed()` returns: one wait, parked on the channel's wait list.
    class changed_awaiter : private tako::detail::wait_node {
    public:
        explicit changed_awaiter(receiver& rx) noexcept : rx_(&rx) {}
        /// Only an awaiter that is not being awaited may be moved (e.g. into `select`).
        changed_awaiter(changed_awaiter&& o) noexcept : rx_(o.rx_) {}
        changed_awaiter(const changed_awaiter&) = delete;
        changed_awaiter& operator=(const changed_awaiter&) = delete;
        /// Unlinks from the channel if the awaiting task is cancelled while parked.
        ~changed_awaiter() {
            if (linked_) {
                std::lock_guard guard(rx_->s_->lock);
                if (is_linked()) {
                    unlink();
                }
            }
        }

        bool await_ready() const noexcept { return rx_->ready() && tako::detail::consume_budget(); }
        // Completes now (or after a budget yield) if there is a change or the close; else
        // parks until a send or the close fires our node (resumed only then: our gate).
        bool await_suspend(std::coroutine_handle<> h) noexcept {
            {
                std::lock_guard guard(rx_->s_->lock);
                if (!rx_->ready()) { // checked under the lock a firer takes: no lost wake
                    arm(h);
                    rx_->s_->waiters.push_back(*this);
                    linked_ = true;
                    return true;
                }
            }
            return tako::detail::complete_or_yield(h);
        }
        // Marks seen only now: a changed() cancelled before this point took nothing.
        std::expected<void, recv_error> await_resume() noexcept {
            linked_ = false;
            return rx_->take_change();
        }

    private:
        receiver* rx_;
        bool linked_ = false; ///< may be linked: the destructor must look, under the lock
    };

    /// What `wait_for(pred)` returns. Parks on the channel's wait list; when woken, its
    /// driver coroutine re-checks `pred` on this thread before resuming the awaiting
    /// coroutine, so the guard it gives was taken where it is used.
    template <class Pred>
    class wait_for_awaiter : private tako::detail::wait_node {
    public:
        wait_for_awaiter(receiver& rx, Pred pred) : rx_(&rx), pred_(std::move(pred)) {}
        /// Only an awaiter that is not being awaited may be moved.
        wait_for_awaiter(wait_for_awaiter&& o) noexcept(std::is_nothrow_move_constructible_v<Pred>)
            : rx_(o.rx_), pred_(std::move(o.pred_)) {}
        wait_for_awaiter(const wait_for_awaiter&) = delete;
        wait_for_awaiter& operator=(const wait_for_awaiter&) = delete;
        /// Unlinks from the channel if the awaiting task is cancelled while parked.
        ~wait_for_awaiter() {
            if (linked_) {
                std::lock_guard guard(rx_->s_->lock);
                if (is_linked()) {
                    unlink();
                }
            }
            if (driver_) {
                driver_.destroy(); // suspended (parked, queued after a yield, or finished)
            }
        }

        bool await_ready() {
            if (!tako::detail::consume_budget()) {
                deferred_ = true; // the first check runs after a yield
                return false;
            }
            return check();
        }
        bool await_suspend(std::coroutine_handle<> h) {
            driver_ = drive(this).handle;
            driver_.promise().continuation = h;
            if (deferred_) {
                tako::detail::yield_at(driver_);
                return true;
            }
            for (;;) {
                if (park(driver_)) {
                    return true;
                }
                if (check()) { // a change came in meanwhile, and pred holds (or closed)
                    return false;
                }
            }
        }
        std::expected<ref<T>, recv_error> await_resume() {
            linked_ = false;
            if (error_) {
                std::rethrow_exception(std::exchange(error_, nullptr));
            }
            assert(result_.has_value());
            return std::move(*result_);
        }

    private:
        struct park_awaiter {
            wait_for_awaiter* self;
            bool parked = false;
            bool await_ready() const noexcept { return false; }
            bool await_suspend(std::coroutine_handle<> driver) noexcept {
                parked = self->park(driver);
                return parked;
            }
            void await_resume() noexcept {
                if (parked) { // fired: a send or the close
                    self->linked_ = false;
                    (void)self->observe();
                }
            }
        };

        static detail::wait_driver drive(wait_for_awaiter* self) {
            try {
                if (self->deferred_ && self->check()) {
                    co_return;
                }
                for (;;) {
                    co_await park_awaiter{self};
                    if (self->check()) {
                        co_return;
                    }
                }
            } catch (...) {
                self->error_ = std::current_exception();
            }
        }

        /// One round of the predicate, on the current value: true when finished (`result_`
        /// holds the guard or the close). Marks the version checked seen.
        bool check() {
            detail::shared<T>& s = *rx_->s_;
            std::shared_lock lock(s.value_lock);
            const std::uint64_t v = s.version();
            const bool changed = v != rx_->version_;
            rx_->version_ = v;
            if (!closed_ || changed) {
                if (std::invoke(pred_, std::as_const(s.value))) {
                    result_.emplace(detail::ref_access::make(std::move(lock), s.value, changed));
                    return true;
                }
            }
            if (closed_) {
                result_.emplace(std::unexpected(recv_error::closed));
                return true;
            }
            return false;
        }

        /// A change (now seen) or the close since the last check; true if either.
        bool observe() noexcept {
            const std::uint64_t st = rx_->s_->state.load(std::memory_order_acquire);
            const std::uint64_t v = st & ~detail::closed_bit;
            if (v != rx_->version_) {
                rx_->version_ = v;
                return true;
            }
            if ((st & detail::closed_bit) != 0) {
                closed_ = true;
                return true;
            }
            return false;
        }

        /// Under the channel's lock: if nothing happened since the last check, arms the
        /// node to resume `at` (the driver) and links it; true then. Else `observe`s.
        bool park(std::coroutine_handle<> at) noexcept {
            std::lock_guard guard(rx_->s_->lock);
            if (observe()) {
                return false;
            }
            arm(at);
            rx_->s_->waiters.push_back(*this);
            linked_ = true;
            return true;
        }

        receiver* rx_;
        Pred pred_;
        std::coroutine_handle<detail::wait_driver::promise_type> driver_;
        std::optional<std::expected<ref<T>, recv_error>> result_;
        std::exception_ptr error_;
        bool closed_ = false;   ///< the last observation was the close, with no change
        bool deferred_ = false; ///< the budget was spent: the first check is the driver's
        bool linked_ = false;   ///< may be linked: the destructor must look, under the lock
    };

private:
    friend class sender<T>;
    template <class U>
    friend std::pair<sender<U>, receiver<U>> channel(U initial);
    receiver(std::shared_ptr<detail::shared<T>> s, std::uint64_t version) noexcept
        : s_(std::move(s)), version_(version) {}

    /// A change not yet seen, or the close.
    [[nodiscard]] bool ready() const noexcept {
        const std::uint64_t st = s_->state.load(std::memory_order_acquire);
        return (st & ~detail::closed_bit) != version_ || (st & detail::closed_bit) != 0;
    }

    /// Marks the newest version seen if it is new; else reports the close.
    std::expected<void, recv_error> take_change() noexcept {
        const std::uint64_t st = s_->state.load(std::memory_order_acquire);
        const std::uint64_t v = st & ~detail::closed_bit;
        if (v != version_) {
            version_ = v;
            return {};
        }
        assert((st & detail::closed_bit) != 0);
        return std::unexpected(recv_error::closed);
    }

    void reset() noexcept {
        std::shared_ptr<detail::shared<T>> s = std::move(s_);
        if (!s) {
            return;
        }
        std::unique_lock guard(s->lock);
        if (s->rx_count.fetch_sub(1, std::memory_order_relaxed) == 1) {
            detail::fire_all(guard, s->closed_waiters);
        }
    }

    std::shared_ptr<detail::shared<T>> s_;
    std::uint64_t version_; ///< the version this receiver last saw
};

/// A channel holding `initial`, with one receiver, which has seen it.
template <class T>
std::pair<sender<T>, receiver<T>> channel(T initial) {
    auto s = std::make_shared<detail::shared<T>>(std::move(initial));
    receiver<T> rx(s, 0);
    return {sender<T>(std::move(s)), std::move(rx)};
}

} // namespace tako::sync::watch
