#pragma once
/// \file
/// `tako::sync::mutex<T>`: an asynchronous mutex that owns the value it guards
/// (`tokio::sync::Mutex`).
///
/// ```cpp
/// #include <tako/sync/mutex.hpp>
///
/// tako::task<void> count_to(tako::sync::mutex<std::vector<int>>& shared, int n) {
///     for (int i = 0; i < n; ++i) {
///         tako::sync::mutex_guard<std::vector<int>> g = co_await shared.lock(); // may wait
///         g->push_back(i); // only the holder of the guard reaches the value
///     } // the guard unlocks when it is destroyed; the next waiter (FIFO) gets the lock
/// }
/// ```
///
/// A task may hold the guard across `co_await` (that is what an async mutex is for); a
/// `std::mutex` is the better choice when it is never held across a suspension. Waiters
/// get the lock in arrival order (it is a `semaphore` with one permit), so a hot loop
/// cannot starve them. `lock_owned()` gives a guard that keeps a `std::shared_ptr`-owned
/// mutex alive, to move into another task; `blocking_lock()` locks from a plain thread:
///
/// ```cpp
/// #include <tako/sync/mutex.hpp>
/// #include <thread>
///
/// tako::task<void> share_with_a_thread() {
///     auto m = std::make_shared<tako::sync::mutex<int>>(0);
///     std::thread t([m] { *m->blocking_lock() += 1; }); // not on a runtime thread
///     {
///         auto g = co_await m->lock_owned(); // an owned_mutex_guard: keeps `m` alive
///         *g += 1;
///     }
///     t.join(); // (a real task would not block its worker like this)
/// }
/// ```
///
/// Thread-safe. Locking allocates nothing; locking an unlocked mutex is one
/// compare-and-swap.

#include <concepts>
#include <coroutine>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "tako/sync/semaphore.hpp"

namespace tako::sync {

template <class T>
class mutex;

/// Exclusive access to a `mutex<T>`'s value (Tokio's `MutexGuard`). Move-only; unlocks the
/// mutex when destroyed. The mutex must outlive it. A moved-from guard holds nothing and
/// must not be dereferenced.
template <class T>
class [[nodiscard]] mutex_guard {
public:
    mutex_guard(mutex_guard&& o) noexcept
        : permit_(std::move(o.permit_)), value_(std::exchange(o.value_, nullptr)) {}
    /// Unlocks the mutex held so far, then takes `o`'s lock.
    mutex_guard& operator=(mutex_guard&& o) noexcept {
        if (this != &o) {
            permit_ = std::move(o.permit_);
            value_ = std::exchange(o.value_, nullptr);
        }
        return *this;
    }
    mutex_guard(const mutex_guard&) = delete;
    mutex_guard& operator=(const mutex_guard&) = delete;
    /// Unlocks: the longest-waiting locker gets the mutex.
    ~mutex_guard() = default;

    /// The guarded value.
    [[nodiscard]] T& operator*() const noexcept { return *value_; }
    /// The guarded value.
    [[nodiscard]] T* operator->() const noexcept { return value_; }

private:
    friend class mutex<T>;
    mutex_guard(semaphore_permit p, T* v) noexcept : permit_(std::move(p)), value_(v) {}

    semaphore_permit permit_; ///< the mutex's single permit
    T* value_;
};

/// As `mutex_guard`, and it keeps the mutex alive (Tokio's `OwnedMutexGuard`): from
/// `mutex::lock_owned` on a `std::shared_ptr`-owned mutex, so it can move into another task.
template <class T>
class [[nodiscard]] owned_mutex_guard {
public:
    owned_mutex_guard(owned_mutex_guard&& o) noexcept
        : mutex_(std::move(o.mutex_)), permit_(std::move(o.permit_)),
          value_(std::exchange(o.value_, nullptr)) {}
    /// Unlocks the mutex held so far, then takes `o`'s lock.
    owned_mutex_guard& operator=(owned_mutex_guard&& o) noexcept {
        if (this != &o) {
            permit_ = std::move(o.permit_); // unlocks ours while our mutex is still alive
            mutex_ = std::move(o.mutex_);
            value_ = std::exchange(o.value_, nullptr);
        }
        return *this;
    }
    owned_mutex_guard(const owned_mutex_guard&) = delete;
    owned_mutex_guard& operator=(const owned_mutex_guard&) = delete;
    /// Unlocks, then drops the reference to the mutex.
    ~owned_mutex_guard() = default;

    /// The guarded value.
    [[nodiscard]] T& operator*() const noexcept { return *value_; }
    /// The guarded value.
    [[nodiscard]] T* operator->() const noexcept { return value_; }
    /// The mutex this guard locks.
    [[nodiscard]] const std::shared_ptr<mutex<T>>& get_mutex() const noexcept { return mutex_; }

private:
    friend class mutex<T>;
    owned_mutex_guard(std::shared_ptr<mutex<T>> m, semaphore_permit p, T* v) noexcept
        : mutex_(std::move(m)), permit_(std::move(p)), value_(v) {}

    std::shared_ptr<mutex<T>> mutex_; ///< declared first: outlives the permit
    semaphore_permit permit_;
    T* value_;
};

/// An asynchronous mutex owning a `T` (`tokio::sync::Mutex<T>`). Fair: lockers are served
/// in arrival order. Not copyable or movable (guards refer to it). Derives from
/// `std::enable_shared_from_this` so that `lock_owned` works on a `std::make_shared` one.
template <class T>
class mutex : public std::enable_shared_from_this<mutex<T>> {
public:
    /// An unlocked mutex holding a value-initialized `T`.
    mutex() requires std::default_initializable<T> : value_() {}
    /// An unlocked mutex holding `value`.
    explicit mutex(T value) noexcept(std::is_nothrow_move_constructible_v<T>)
        : value_(std::move(value)) {}
    /// An unlocked mutex holding a `T` made from `args`.
    template <class... Args>
    explicit mutex(std::in_place_t, Args&&... args) : value_(std::forward<Args>(args)...) {}
    mutex(const mutex&) = delete;
    mutex& operator=(const mutex&) = delete;
    /// Precondition: unlocked, and no task waits to lock it.
    ~mutex() = default;

    class lock_awaiter;
    class owned_lock_awaiter;

    /// Waits for the lock: `co_await m.lock()` gives a `mutex_guard<T>`. Cancel safety:
    /// cancelling the wait (aborting the task, losing a `select`) leaves the mutex
    /// unlocked if it had just been handed over, but loses the place in the queue.
    [[nodiscard]] lock_awaiter lock() noexcept { return lock_awaiter(*this); }
    /// As `lock`, giving an `owned_mutex_guard<T>` that keeps the mutex alive. `*this` must
    /// be owned by a `std::shared_ptr` (throws `std::bad_weak_ptr` otherwise). Cancel
    /// safety: as `lock`.
    [[nodiscard]] owned_lock_awaiter lock_owned() {
        return owned_lock_awaiter(this->shared_from_this());
    }
    /// The lock if it is free now and nobody waits for it; never waits.
    [[nodiscard]] std::optional<mutex_guard<T>> try_lock() noexcept {
        auto p = sem_.try_acquire();
        if (!p) {
            return std::nullopt;
        }
        return mutex_guard<T>(std::move(*p), &value_);
    }
    /// As `try_lock`, giving an owned guard (`*this` owned by a `std::shared_ptr`).
    [[nodiscard]] std::optional<owned_mutex_guard<T>> try_lock_owned() {
        auto self = this->shared_from_this();
        auto p = sem_.try_acquire();
        if (!p) {
            return std::nullopt;
        }
        return owned_mutex_guard<T>(std::move(self), std::move(*p), &value_);
    }
    /// Blocks the calling thread until it holds the lock (in the same queue as tasks). For
    /// plain threads and `spawn_blocking` work: throws `std::logic_error` on a thread that
    /// drives tasks (a runtime worker or `block_on` thread), where it would stall the
    /// runtime (Tokio panics there).
    [[nodiscard]] mutex_guard<T> blocking_lock() {
        auto p = sem_.blocking_acquire(); // never closed: it has a value
        return mutex_guard<T>(std::move(*p), &value_);
    }

    /// The value, without locking. The caller guarantees exclusive access: no guard is
    /// alive and no one locks meanwhile (Tokio's `get_mut` takes `&mut self`).
    [[nodiscard]] T& get_mut() noexcept { return value_; }
    /// Moves the value out (Tokio's `into_inner`). Same precondition as `get_mut`.
    [[nodiscard]] T into_inner() && noexcept(std::is_nothrow_move_constructible_v<T>) {
        return std::move(value_);
    }

    /// Awaiter of `lock()`; also the wait node. Only an awaiter that is not being awaited
    /// may be moved (e.g. into `select`).
    class lock_awaiter {
    public:
        explicit lock_awaiter(mutex& m) noexcept : mutex_(&m), inner_(m.sem_, 1) {}
        lock_awaiter(lock_awaiter&&) noexcept = default;
        lock_awaiter(const lock_awaiter&) = delete;
        lock_awaiter& operator=(const lock_awaiter&) = delete;
        /// Leaves the queue, or unlocks again if the lock was handed over but not taken.
        ~lock_awaiter() = default;

        bool await_ready() noexcept { return inner_.await_ready(); }
        bool await_suspend(std::coroutine_handle<> h) noexcept { return inner_.await_suspend(h); }
        /// The guard.
        mutex_guard<T> await_resume() noexcept {
            auto p = inner_.await_resume(); // never closed
            return mutex_guard<T>(std::move(*p), &mutex_->value_);
        }

    private:
        mutex* mutex_;
        semaphore::acquire_awaiter inner_;
    };

    /// Awaiter of `lock_owned()`; keeps the mutex alive.
    class owned_lock_awaiter {
    public:
        explicit owned_lock_awaiter(std::shared_ptr<mutex> m) noexcept
            : mutex_(std::move(m)), inner_(mutex_->sem_, 1) {}
        /// Only an awaiter that is not being awaited may be moved.
        owned_lock_awaiter(owned_lock_awaiter&& o) noexcept
            : mutex_(o.mutex_), inner_(std::move(o.inner_)) {}
        owned_lock_awaiter(const owned_lock_awaiter&) = delete;
        owned_lock_awaiter& operator=(const owned_lock_awaiter&) = delete;
        ~owned_lock_awaiter() = default;

        bool await_ready() noexcept { return inner_.await_ready(); }
        bool await_suspend(std::coroutine_handle<> h) noexcept { return inner_.await_suspend(h); }
        /// The owned guard.
        owned_mutex_guard<T> await_resume() noexcept {
            auto p = inner_.await_resume(); // never closed
            T* v = &mutex_->value_;
            return owned_mutex_guard<T>(mutex_, std::move(*p), v);
        }

    private:
        std::shared_ptr<mutex> mutex_; ///< declared first: outlives `inner_`
        semaphore::acquire_awaiter inner_;
    };

private:
    semaphore sem_{1};
    T value_;
};

} // namespace tako::sync
