#pragma once
/// \file
/// `tako::sync::semaphore`: a fair (FIFO) counting semaphore that hands out permits one at a
/// time or in batches (`tokio::sync::Semaphore`, built like Tokio's `batch_semaphore`).
///
/// ```cpp
/// #include <tako/sync/semaphore.hpp>
///
/// tako::task<void> fetch_all(std::vector<std::string> all) {
///     auto limit = std::make_shared<tako::sync::semaphore>(3); // at most 3 fetches at once
///     std::vector<tako::join_handle<void>> running;
///     for (const std::string& url : all) {
///         auto permit = co_await limit->acquire_owned(); // waits while 3 are running
///         if (!permit) {
///             break; // limit->close() was called
///         }
///         running.push_back(tako::spawn(
///             [](tako::sync::owned_semaphore_permit p, std::string u) -> tako::task<> {
///                 auto held = std::move(p); // a local: released when the body ends
///                 co_await fetch_size(u);
///             },
///             std::move(*permit), url));
///     }
///     for (auto& h : running) {
///         (void)co_await h;
///     }
/// }
/// ```
///
/// Move a permit passed as a coroutine parameter into a local, as above: a spawned task's
/// parameters live in its root frame, which the runtime keeps until the `join_handle` is
/// awaited or dropped, so a permit left there would stay out after the body ends.
///
/// Permits come back when the `semaphore_permit` that holds them is destroyed (or call its
/// `forget()` to keep them out for good). Waiters are served strictly in arrival order:
/// `acquire_many(5)` at the head of the queue blocks a later `acquire()` even while one
/// permit is free, as in Tokio. Released permits are assigned to waiters under the
/// semaphore's lock before they are woken, and a waiter that leaves (its task cancelled,
/// or it lost a `select`) gives back whatever it had been assigned, so nothing is lost.
/// `close()` fails every waiter, and every later acquire, with `closed`.
///
/// ```cpp
/// #include <tako/sync/semaphore.hpp>
///
/// tako::task<void> with_patience(tako::sync::semaphore& sem) {
///     auto r = co_await tako::select(sem.acquire(), tako::time::sleep(10ms));
///     if (r.index() == 0 && std::get<0>(r).has_value()) {
///         tako::sync::semaphore_permit& p = *std::get<0>(r); // released at the end of scope
///         use(static_cast<int>(p.num_permits()));
///     } // a lost acquire keeps nothing: the semaphore has its permit back
/// }
/// ```
///
/// Thread-safe; waiting allocates nothing (the waiter is the awaiter itself). Acquiring
/// when permits are free and nobody waits is one compare-and-swap; releasing takes a short
/// spin lock.

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include "tako/detail/deferred_step.hpp"
#include "tako/detail/spin_lock.hpp"
#include "tako/detail/wait_list.hpp"

namespace tako::sync {

class semaphore;

/// Why an awaited acquire gave no permit.
enum class acquire_error {
    closed, ///< the semaphore was closed (before or while waiting)
};

/// Why `try_acquire` gave no permit.
enum class try_acquire_error {
    closed,     ///< the semaphore is closed
    no_permits, ///< not enough permits are free now (or earlier waiters come first)
};

/// Permits taken from a `semaphore` (Tokio's `SemaphorePermit`). Move-only; destroying it
/// gives its permits back. It refers to the semaphore, which must outlive it; use
/// `owned_semaphore_permit` to hand permits to another task.
class [[nodiscard]] semaphore_permit {
public:
    /// A permit that holds nothing (e.g. to assign one later).
    semaphore_permit() noexcept = default;
    semaphore_permit(semaphore_permit&& o) noexcept
        : sem_(std::exchange(o.sem_, nullptr)), permits_(std::exchange(o.permits_, 0)) {}
    /// Releases the permits held so far, then takes `o`'s.
    semaphore_permit& operator=(semaphore_permit&& o) noexcept {
        if (this != &o) {
            release();
            sem_ = std::exchange(o.sem_, nullptr);
            permits_ = std::exchange(o.permits_, 0);
        }
        return *this;
    }
    semaphore_permit(const semaphore_permit&) = delete;
    semaphore_permit& operator=(const semaphore_permit&) = delete;
    /// Gives the permits back to the semaphore (to its waiters first, in FIFO order).
    ~semaphore_permit() { release(); }

    /// How many permits this holds.
    [[nodiscard]] std::size_t num_permits() const noexcept { return permits_; }
    /// Keeps the permits out of the semaphore for good: destroying this gives nothing back
    /// (Tokio's `forget`). `semaphore::add_permits` can put them back.
    void forget() noexcept { permits_ = 0; }
    /// Takes `other`'s permits into this one. Throws `std::invalid_argument` if they come
    /// from different semaphores (an empty permit merges with anything).
    void merge(semaphore_permit&& other);
    /// Moves `n` of the held permits into a new permit; `std::nullopt` (and nothing
    /// changes) if fewer than `n` are held.
    [[nodiscard]] std::optional<semaphore_permit> split(std::size_t n) noexcept;

private:
    friend class semaphore;
    semaphore_permit(semaphore* s, std::size_t n) noexcept : sem_(s), permits_(n) {}
    void release() noexcept;

    semaphore* sem_ = nullptr;
    std::size_t permits_ = 0;
};

/// Permits that also keep their semaphore alive (Tokio's `OwnedSemaphorePermit`): from
/// `semaphore::acquire_owned` on a semaphore owned by a `std::shared_ptr`, so the permit
/// can move into a spawned task that outlives the scope that acquired it.
class [[nodiscard]] owned_semaphore_permit {
public:
    /// A permit that holds nothing.
    owned_semaphore_permit() noexcept = default;
    owned_semaphore_permit(owned_semaphore_permit&& o) noexcept
        : sem_(std::move(o.sem_)), permits_(std::exchange(o.permits_, 0)) {}
    /// Releases the permits held so far, then takes `o`'s.
    owned_semaphore_permit& operator=(owned_semaphore_permit&& o) noexcept {
        if (this != &o) {
            release();
            sem_ = std::move(o.sem_);
            permits_ = std::exchange(o.permits_, 0);
        }
        return *this;
    }
    owned_semaphore_permit(const owned_semaphore_permit&) = delete;
    owned_semaphore_permit& operator=(const owned_semaphore_permit&) = delete;
    /// Gives the permits back, then drops the reference to the semaphore.
    ~owned_semaphore_permit() { release(); }

    /// How many permits this holds.
    [[nodiscard]] std::size_t num_permits() const noexcept { return permits_; }
    /// Keeps the permits out of the semaphore for good (see `semaphore_permit::forget`).
    void forget() noexcept { permits_ = 0; }
    /// Takes `other`'s permits into this one. Throws `std::invalid_argument` if they come
    /// from different semaphores (an empty permit merges with anything).
    void merge(owned_semaphore_permit&& other);
    /// Moves `n` of the held permits into a new permit; `std::nullopt` if fewer are held.
    [[nodiscard]] std::optional<owned_semaphore_permit> split(std::size_t n);
    /// The semaphore the permits come from (null for an empty permit).
    [[nodiscard]] const std::shared_ptr<semaphore>& get_semaphore() const noexcept { return sem_; }

private:
    friend class semaphore;
    owned_semaphore_permit(std::shared_ptr<semaphore> s, std::size_t n) noexcept
        : sem_(std::move(s)), permits_(n) {}
    void release() noexcept;

    std::shared_ptr<semaphore> sem_;
    std::size_t permits_ = 0;
};

/// A fair counting semaphore (`tokio::sync::Semaphore`). Not copyable or movable: waiters
/// and permits refer to it. Derives from `std::enable_shared_from_this` so that the
/// `*_owned` operations work on a semaphore made by `std::make_shared`.
class semaphore : public std::enable_shared_from_this<semaphore> {
public:
    /// The most permits a semaphore can hold (Tokio's `MAX_PERMITS`: `SIZE_MAX >> 3`).
    static constexpr std::size_t max_permits = std::numeric_limits<std::size_t>::max() >> 3;

    /// A semaphore with `permits` free permits. Throws `std::invalid_argument` above
    /// `max_permits`.
    explicit semaphore(std::size_t permits);
    semaphore(const semaphore&) = delete;
    semaphore& operator=(const semaphore&) = delete;
    /// Precondition: no task waits on it and no `semaphore_permit` refers to it. Waits for
    /// a release that has just handed permits over to leave its critical section: the task
    /// it woke may destroy the semaphore at once (unlock a mutex, then delete it).
    ~semaphore() { std::lock_guard barrier(lock_); }

    class acquire_awaiter;
    class owned_acquire_awaiter;

    /// Waits for one permit: `co_await` gives `std::expected<semaphore_permit,
    /// acquire_error>`. Cancel safety: cancelling the wait (aborting the task, losing a
    /// `select`) gives back any permit assigned meanwhile, so no permit is lost, but the
    /// place in the queue is lost.
    [[nodiscard]] acquire_awaiter acquire() noexcept;
    /// Waits for `n` permits at once (all or none are handed out); while it waits at the
    /// head of the queue, permits released are assigned to it and later waiters wait
    /// behind it. `n == 0` completes at once. Throws `std::invalid_argument` if `n >
    /// max_permits`. Cancel safety: as `acquire`; a partial assignment goes back too.
    [[nodiscard]] acquire_awaiter acquire_many(std::size_t n);
    /// As `acquire`, giving an `owned_semaphore_permit`. `*this` must be owned by a
    /// `std::shared_ptr` (throws `std::bad_weak_ptr` otherwise). Cancel safety: as `acquire`.
    [[nodiscard]] owned_acquire_awaiter acquire_owned();
    /// As `acquire_many`, giving an `owned_semaphore_permit`. Cancel safety: as `acquire`.
    [[nodiscard]] owned_acquire_awaiter acquire_many_owned(std::size_t n);

    /// Takes one permit now if one is free and nobody waits; never waits.
    [[nodiscard]] std::expected<semaphore_permit, try_acquire_error> try_acquire() noexcept;
    /// Takes `n` permits now if they are free and nobody waits; never waits.
    [[nodiscard]] std::expected<semaphore_permit, try_acquire_error>
    try_acquire_many(std::size_t n) noexcept;
    /// As `try_acquire`, giving an owned permit (`*this` owned by a `std::shared_ptr`).
    [[nodiscard]] std::expected<owned_semaphore_permit, try_acquire_error> try_acquire_owned();
    /// As `try_acquire_many`, giving an owned permit.
    [[nodiscard]] std::expected<owned_semaphore_permit, try_acquire_error>
    try_acquire_many_owned(std::size_t n);

    /// Blocks the calling thread until one permit is free, in the same FIFO queue as
    /// awaiting tasks. For plain threads and `spawn_blocking` work: throws
    /// `std::logic_error` on a thread that drives tasks (a runtime worker, or a
    /// current_thread runtime's `block_on` thread), where blocking would stall the runtime.
    [[nodiscard]] std::expected<semaphore_permit, acquire_error> blocking_acquire();
    /// As `blocking_acquire`, for `n` permits at once.
    [[nodiscard]] std::expected<semaphore_permit, acquire_error>
    blocking_acquire_many(std::size_t n);

    /// Adds `n` permits: they go to the waiters first, in FIFO order, the rest become
    /// free. Throws `std::overflow_error` if the free permits would exceed `max_permits`.
    void add_permits(std::size_t n);
    /// Removes up to `n` free permits for good; returns how many were removed (at most
    /// `available_permits()`). Permits held or assigned to waiters are not touched.
    std::size_t forget_permits(std::size_t n) noexcept;
    /// Closes the semaphore: every waiting acquire completes with `acquire_error::closed`
    /// (permits partially assigned to it become free again), and every later acquire
    /// fails. Permits already held stay valid and are still given back.
    void close() noexcept;
    /// True once `close()` was called.
    [[nodiscard]] bool is_closed() const noexcept {
        return (permits_.load(std::memory_order_acquire) & closed_bit) != 0;
    }
    /// The permits free now (a snapshot). While tasks wait it is 0: released permits go to
    /// the waiters first.
    [[nodiscard]] std::size_t available_permits() const noexcept {
        return permits_.load(std::memory_order_acquire) >> permit_shift;
    }

    /// Awaiter of `acquire` / `acquire_many`; also the wait node. Only an awaiter that is
    /// not being awaited may be moved (e.g. into `select`).
    class acquire_awaiter : private detail::wait_node {
    public:
        acquire_awaiter(semaphore& s, std::size_t n) noexcept : sem_(&s), needed_(n), left_(n) {}
        acquire_awaiter(acquire_awaiter&& o) noexcept
            : sem_(o.sem_), needed_(o.needed_), left_(o.needed_) {}
        acquire_awaiter(const acquire_awaiter&) = delete;
        acquire_awaiter& operator=(const acquire_awaiter&) = delete;
        /// Leaves the queue (giving back a partial assignment), or gives back permits that
        /// were granted but not yet handed to the awaiting task.
        ~acquire_awaiter() {
            const wait_state s = state();
            if (s != wait_state::idle && s != wait_state::done) {
                leave();
            }
            retry_.destroy();
        }

        /// Completes at once (lock-free) if the permits are free and nobody waits, or if
        /// the semaphore is closed. The cooperative budget is checked *before* anything is
        /// taken: a task whose budget is spent yields first and acquires when it runs
        /// again, so it never sits in the run queue holding permits (that would turn an
        /// uncontended lock into a convoy: every other task would queue behind it).
        bool await_ready() noexcept {
            return detail::has_budget() && try_fast() && detail::consume_budget();
        }
        /// Takes what is free and, if that is not enough, joins the queue; with the budget
        /// spent, yields first (see `await_ready`).
        bool await_suspend(std::coroutine_handle<> h) noexcept;
        /// The permits, or `acquire_error::closed`.
        std::expected<semaphore_permit, acquire_error> await_resume() noexcept {
            retry_.destroy();
            const wait_state s = state();
            set_state(wait_state::done);
            if (s == wait_state::granted) {
                return semaphore_permit(sem_, needed_);
            }
            return std::unexpected(acquire_error::closed);
        }

    private:
        friend class semaphore;
        enum class wait_state : std::uint32_t {
            idle,    ///< not queued, nothing taken
            waiting, ///< queued; `left_` permits still to assign
            granted, ///< every permit assigned, not yet handed over (or budget yield)
            closed,  ///< failed: the semaphore closed
            done,    ///< the result was handed to the awaiting code
        };

        /// Lock-free: takes all `needed_` permits or sees the semaphore closed; sets the
        /// state and returns true then, else changes nothing.
        bool try_fast() noexcept;
        /// Under the semaphore's lock: takes what is free; true when complete (granted or
        /// closed), false when `left_` permits are still missing.
        bool take_locked() noexcept;
        /// The destructor's slow path, under the lock.
        void leave() noexcept;
        /// Takes what is free or joins the queue, for a task that suspends at `h`; false
        /// when the permits were taken (or the semaphore closed) without waiting.
        bool take_or_queue(std::coroutine_handle<> h) noexcept;
        /// The step that runs when a task that yielded before acquiring runs again.
        struct after_yield;
        static detail::deferred_step acquire_after_yield(acquire_awaiter* self,
                                                         std::coroutine_handle<> h);

        detail::wait_node& node() noexcept { return *this; }
        static acquire_awaiter& of(detail::wait_node* n) noexcept {
            return static_cast<acquire_awaiter&>(*n);
        }
        wait_state state() const noexcept { return state_.load(std::memory_order_relaxed); }
        void set_state(wait_state s) noexcept { state_.store(s, std::memory_order_relaxed); }

        semaphore* sem_;
        std::size_t needed_; ///< permits asked for
        std::size_t left_;   ///< permits still to assign; guarded by the lock while queued
        /// Written under the semaphore's lock while queued; read without it only by the
        /// awaiting code, which acts alone on idle/done. A blocking waiter waits on it.
        std::atomic<wait_state> state_{wait_state::idle};
        bool blocking_ = false; ///< a thread blocked in `blocking_acquire_many`, not a task
        /// The acquire step scheduled when the task yielded with its budget spent;
        /// destroyed when the result is handed over or the awaiter is destroyed.
        detail::deferred_step retry_;
    };

    /// Awaiter of `acquire_owned` / `acquire_many_owned`; keeps the semaphore alive.
    class owned_acquire_awaiter {
    public:
        owned_acquire_awaiter(std::shared_ptr<semaphore> s, std::size_t n) noexcept
            : sem_(std::move(s)), inner_(*sem_, n) {}
        /// Only an awaiter that is not being awaited may be moved.
        owned_acquire_awaiter(owned_acquire_awaiter&& o) noexcept
            : sem_(o.sem_), inner_(std::move(o.inner_)) {}
        owned_acquire_awaiter(const owned_acquire_awaiter&) = delete;
        owned_acquire_awaiter& operator=(const owned_acquire_awaiter&) = delete;
        ~owned_acquire_awaiter() = default;

        bool await_ready() noexcept { return inner_.await_ready(); }
        bool await_suspend(std::coroutine_handle<> h) noexcept { return inner_.await_suspend(h); }
        /// The permits (holding a reference to the semaphore), or `acquire_error::closed`.
        std::expected<owned_semaphore_permit, acquire_error> await_resume() noexcept {
            auto r = inner_.await_resume();
            if (!r) {
                return std::unexpected(r.error());
            }
            const std::size_t n = r->num_permits();
            r->forget();
            return owned_semaphore_permit(sem_, n);
        }

    private:
        std::shared_ptr<semaphore> sem_; ///< declared first: outlives `inner_`
        acquire_awaiter inner_;
    };

private:
    friend class semaphore_permit;
    friend class owned_semaphore_permit;

    /// `permits_` holds the free permits shifted left by one; the low bit is "closed".
    static constexpr std::size_t closed_bit = 1;
    static constexpr unsigned permit_shift = 1;

    /// Gives `n` permits back (a permit's destructor).
    void release(std::size_t n) noexcept;
    /// Called with `guard` locked; returns with it unlocked. Assigns `n` permits to the
    /// waiters in FIFO order, firing those that are complete, and frees what is left once
    /// nobody waits. Unlocks to wake each batch of `wake_list::capacity` tasks.
    void add_permits_locked(std::unique_lock<detail::spin_lock>& guard, std::size_t n) noexcept;
    /// Under the lock: hands waiter `w` (already unlinked) its outcome `s` and wakes it:
    /// returns the task to wake after unlocking (a blocking thread is woken at once).
    static detail::task_ref complete_locked(acquire_awaiter& w,
                                            acquire_awaiter::wait_state s) noexcept;

    /// Free permits << 1 | closed. Decremented lock-free (acquire fast path, forget);
    /// incremented and closed only under `lock_`, and only while nobody waits: so while a
    /// task waits, it is 0 (the invariant that makes the fast path fair).
    std::atomic<std::size_t> permits_;
    detail::spin_lock lock_;
    detail::wait_list waiters_; ///< FIFO of acquire_awaiter nodes; guarded by lock_
};

// ---------------------------------------------------------------- inline definitions

inline void semaphore_permit::release() noexcept {
    if (sem_ != nullptr && permits_ != 0) {
        sem_->release(std::exchange(permits_, 0));
    }
}

inline void owned_semaphore_permit::release() noexcept {
    if (sem_ != nullptr && permits_ != 0) {
        sem_->release(std::exchange(permits_, 0));
    }
}

inline semaphore::acquire_awaiter semaphore::acquire() noexcept {
    return acquire_awaiter(*this, 1);
}

inline std::expected<semaphore_permit, try_acquire_error> semaphore::try_acquire() noexcept {
    return try_acquire_many(1);
}

inline std::expected<semaphore_permit, try_acquire_error>
semaphore::try_acquire_many(std::size_t n) noexcept {
    if (n > max_permits) {
        return std::unexpected(try_acquire_error::no_permits);
    }
    std::size_t cur = permits_.load(std::memory_order_acquire);
    for (;;) {
        if ((cur & closed_bit) != 0) {
            return std::unexpected(try_acquire_error::closed);
        }
        if ((cur >> permit_shift) < n) {
            return std::unexpected(try_acquire_error::no_permits);
        }
        // acquire: the previous holder's writes (released with the permits) are visible.
        if (permits_.compare_exchange_weak(cur, cur - (n << permit_shift),
                                           std::memory_order_acq_rel, std::memory_order_acquire)) {
            return semaphore_permit(this, n);
        }
    }
}

inline bool semaphore::acquire_awaiter::try_fast() noexcept {
    std::atomic<std::size_t>& word = sem_->permits_;
    std::size_t cur = word.load(std::memory_order_acquire);
    for (;;) {
        if ((cur & closed_bit) != 0) {
            set_state(wait_state::closed);
            return true;
        }
        if ((cur >> permit_shift) < needed_) {
            return false;
        }
        if (word.compare_exchange_weak(cur, cur - (needed_ << permit_shift),
                                       std::memory_order_acq_rel, std::memory_order_acquire)) {
            left_ = 0;
            set_state(wait_state::granted);
            return true;
        }
    }
}

} // namespace tako::sync
