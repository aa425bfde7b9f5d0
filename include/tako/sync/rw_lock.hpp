#pragma once
/// \file
/// `tako::sync::rw_lock<T>`: an asynchronous reader-writer lock that owns the value it
/// guards (`tokio::sync::RwLock`).
///
/// ```cpp
/// #include <tako/sync/rw_lock.hpp>
///
/// tako::task<void> reader_and_writer(tako::sync::rw_lock<std::vector<int>>& table) {
///     {
///         auto r = co_await table.read(); // shared: many readers at once
///         use(static_cast<int>(r->size()));
///     }
///     auto w = co_await table.write(); // exclusive: waits for the readers to leave
///     w->push_back(1);
///     auto r = std::move(w).downgrade(); // keep reading; no writer can get in between
///     use(r->back());
/// }
/// ```
///
/// Fair, with writer preference as Tokio's: the lock is a FIFO `semaphore` with
/// `max_readers` permits; a reader takes 1 and a writer all of them. A writer that waits
/// therefore blocks every reader that comes after it (no writer starvation), and
/// `try_read` fails while a writer waits. At most `max_readers` read guards exist at once.
///
/// Thread-safe. Locking allocates nothing; an uncontended read or write lock is one
/// compare-and-swap.

#include <concepts>
#include <coroutine>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "tako/sync/semaphore.hpp"

namespace tako::sync {

template <class T>
class rw_lock;

/// Shared, read-only access to an `rw_lock<T>`'s value (Tokio's `RwLockReadGuard`).
/// Move-only; releases its share when destroyed. The lock must outlive it. A moved-from
/// guard holds nothing and must not be dereferenced.
template <class T>
class [[nodiscard]] rw_lock_read_guard {
public:
    rw_lock_read_guard(rw_lock_read_guard&& o) noexcept
        : permit_(std::move(o.permit_)), value_(std::exchange(o.value_, nullptr)) {}
    /// Releases the share held so far, then takes `o`'s.
    rw_lock_read_guard& operator=(rw_lock_read_guard&& o) noexcept {
        if (this != &o) {
            permit_ = std::move(o.permit_);
            value_ = std::exchange(o.value_, nullptr);
        }
        return *this;
    }
    rw_lock_read_guard(const rw_lock_read_guard&) = delete;
    rw_lock_read_guard& operator=(const rw_lock_read_guard&) = delete;
    /// Releases the share: a waiting writer gets the lock once the last reader leaves.
    ~rw_lock_read_guard() = default;

    /// The guarded value, read-only.
    [[nodiscard]] const T& operator*() const noexcept { return *value_; }
    /// The guarded value, read-only.
    [[nodiscard]] const T* operator->() const noexcept { return value_; }

private:
    friend class rw_lock<T>;
    template <class U>
    friend class rw_lock_write_guard;
    rw_lock_read_guard(semaphore_permit p, const T* v) noexcept
        : permit_(std::move(p)), value_(v) {}

    semaphore_permit permit_; ///< one permit
    const T* value_;
};

/// Exclusive access to an `rw_lock<T>`'s value (Tokio's `RwLockWriteGuard`). Move-only;
/// unlocks when destroyed. The lock must outlive it. A moved-from guard holds nothing and
/// must not be dereferenced.
template <class T>
class [[nodiscard]] rw_lock_write_guard {
public:
    rw_lock_write_guard(rw_lock_write_guard&& o) noexcept
        : permit_(std::move(o.permit_)), value_(std::exchange(o.value_, nullptr)) {}
    /// Unlocks what was held so far, then takes `o`'s lock.
    rw_lock_write_guard& operator=(rw_lock_write_guard&& o) noexcept {
        if (this != &o) {
            permit_ = std::move(o.permit_);
            value_ = std::exchange(o.value_, nullptr);
        }
        return *this;
    }
    rw_lock_write_guard(const rw_lock_write_guard&) = delete;
    rw_lock_write_guard& operator=(const rw_lock_write_guard&) = delete;
    /// Unlocks: the waiters at the head of the queue (one writer, or readers) get the lock.
    ~rw_lock_write_guard() = default;

    /// The guarded value.
    [[nodiscard]] T& operator*() const noexcept { return *value_; }
    /// The guarded value.
    [[nodiscard]] T* operator->() const noexcept { return value_; }

    /// Turns the write lock into a read lock atomically: no writer can take the lock in
    /// between (Tokio's `downgrade`). Readers queued behind a waiting writer still wait.
    [[nodiscard]] rw_lock_read_guard<T> downgrade() && noexcept {
        // Gives back all permits but one; they go to the waiters in FIFO order.
        (void)permit_.split(permit_.num_permits() - 1);
        return rw_lock_read_guard<T>(std::move(permit_), std::exchange(value_, nullptr));
    }

private:
    friend class rw_lock<T>;
    rw_lock_write_guard(semaphore_permit p, T* v) noexcept : permit_(std::move(p)), value_(v) {}

    semaphore_permit permit_; ///< all `max_readers` permits
    T* value_;
};

/// An asynchronous reader-writer lock owning a `T` (`tokio::sync::RwLock<T>`). Fair, writer
/// preferring. Not copyable or movable (guards refer to it).
template <class T>
class rw_lock {
public:
    /// The default and largest-sensible read concurrency (Tokio's `MAX_READS`, `u32::MAX >>
    /// 3`).
    static constexpr std::size_t default_max_readers = 0x1FFFFFFF;

    /// An unlocked lock holding a value-initialized `T`, with `default_max_readers`.
    rw_lock() requires std::default_initializable<T>
        : max_readers_(default_max_readers), sem_(default_max_readers), value_() {}
    /// An unlocked lock holding `value`, allowing at most `max_readers` read guards at once
    /// (Tokio's `with_max_readers`). Throws `std::invalid_argument` if `max_readers` is 0
    /// or above `semaphore::max_permits`.
    explicit rw_lock(T value, std::size_t max_readers = default_max_readers)
        : max_readers_(checked(max_readers)), sem_(max_readers), value_(std::move(value)) {}
    /// An unlocked lock holding a `T` made from `args`, with `default_max_readers`.
    template <class... Args>
    explicit rw_lock(std::in_place_t, Args&&... args)
        : max_readers_(default_max_readers), sem_(default_max_readers),
          value_(std::forward<Args>(args)...) {}
    rw_lock(const rw_lock&) = delete;
    rw_lock& operator=(const rw_lock&) = delete;
    /// Precondition: unlocked, and no task waits to lock it.
    ~rw_lock() = default;

    class read_awaiter;
    class write_awaiter;

    /// Waits for shared access: `co_await l.read()` gives an `rw_lock_read_guard<T>`. Waits
    /// while a writer holds the lock or waits for it. Cancel safety: cancelling the wait
    /// gives back a share handed over meanwhile; the place in the queue is lost.
    [[nodiscard]] read_awaiter read() noexcept { return read_awaiter(*this); }
    /// Waits for exclusive access: `co_await l.write()` gives an `rw_lock_write_guard<T>`.
    /// Cancel safety: cancelling the wait gives back the lock, or the shares assigned so
    /// far while it waited for readers to leave; the place in the queue is lost.
    [[nodiscard]] write_awaiter write() noexcept { return write_awaiter(*this); }
    /// Shared access if no writer holds or waits for the lock; never waits.
    [[nodiscard]] std::optional<rw_lock_read_guard<T>> try_read() noexcept {
        auto p = sem_.try_acquire();
        if (!p) {
            return std::nullopt;
        }
        return rw_lock_read_guard<T>(std::move(*p), &value_);
    }
    /// Exclusive access if the lock is free and nobody waits; never waits.
    [[nodiscard]] std::optional<rw_lock_write_guard<T>> try_write() noexcept {
        auto p = sem_.try_acquire_many(max_readers_);
        if (!p) {
            return std::nullopt;
        }
        return rw_lock_write_guard<T>(std::move(*p), &value_);
    }
    /// Blocks the calling thread for shared access. For plain threads and `spawn_blocking`
    /// work: throws `std::logic_error` on a thread that drives tasks.
    [[nodiscard]] rw_lock_read_guard<T> blocking_read() {
        auto p = sem_.blocking_acquire(); // never closed
        return rw_lock_read_guard<T>(std::move(*p), &value_);
    }
    /// Blocks the calling thread for exclusive access; as `blocking_read`.
    [[nodiscard]] rw_lock_write_guard<T> blocking_write() {
        auto p = sem_.blocking_acquire_many(max_readers_); // never closed
        return rw_lock_write_guard<T>(std::move(*p), &value_);
    }

    /// How many read guards may exist at once.
    [[nodiscard]] std::size_t max_readers() const noexcept { return max_readers_; }
    /// The value, without locking. The caller guarantees exclusive access: no guard is
    /// alive and no one locks meanwhile (Tokio's `get_mut` takes `&mut self`).
    [[nodiscard]] T& get_mut() noexcept { return value_; }
    /// Moves the value out (Tokio's `into_inner`). Same precondition as `get_mut`.
    [[nodiscard]] T into_inner() && noexcept(std::is_nothrow_move_constructible_v<T>) {
        return std::move(value_);
    }

    /// Awaiter of `read()`; also the wait node. Only an awaiter that is not being awaited
    /// may be moved (e.g. into `select`).
    class read_awaiter {
    public:
        explicit read_awaiter(rw_lock& l) noexcept : lock_(&l), inner_(l.sem_, 1) {}
        read_awaiter(read_awaiter&&) noexcept = default;
        read_awaiter(const read_awaiter&) = delete;
        read_awaiter& operator=(const read_awaiter&) = delete;
        /// Leaves the queue, or gives back a share handed over but not taken.
        ~read_awaiter() = default;

        bool await_ready() noexcept { return inner_.await_ready(); }
        bool await_suspend(std::coroutine_handle<> h) noexcept { return inner_.await_suspend(h); }
        /// The read guard.
        rw_lock_read_guard<T> await_resume() noexcept {
            auto p = inner_.await_resume(); // never closed
            return rw_lock_read_guard<T>(std::move(*p), &lock_->value_);
        }

    private:
        rw_lock* lock_;
        semaphore::acquire_awaiter inner_;
    };

    /// Awaiter of `write()`; also the wait node. Only an awaiter that is not being awaited
    /// may be moved.
    class write_awaiter {
    public:
        explicit write_awaiter(rw_lock& l) noexcept : lock_(&l), inner_(l.sem_, l.max_readers_) {}
        write_awaiter(write_awaiter&&) noexcept = default;
        write_awaiter(const write_awaiter&) = delete;
        write_awaiter& operator=(const write_awaiter&) = delete;
        /// Leaves the queue (giving back shares assigned so far), or unlocks again if the
        /// lock was handed over but not taken.
        ~write_awaiter() = default;

        bool await_ready() noexcept { return inner_.await_ready(); }
        bool await_suspend(std::coroutine_handle<> h) noexcept { return inner_.await_suspend(h); }
        /// The write guard.
        rw_lock_write_guard<T> await_resume() noexcept {
            auto p = inner_.await_resume(); // never closed
            return rw_lock_write_guard<T>(std::move(*p), &lock_->value_);
        }

    private:
        rw_lock* lock_;
        semaphore::acquire_awaiter inner_;
    };

private:
    static std::size_t checked(std::size_t max_readers) {
        if (max_readers == 0 || max_readers > semaphore::max_permits) {
            throw std::invalid_argument("tako::sync::rw_lock: max_readers must be between 1 and "
                                        "semaphore::max_permits");
        }
        return max_readers;
    }

    std::size_t max_readers_;
    semaphore sem_;
    T value_;
};

} // namespace tako::sync
