#pragma once
/// \file
/// `tako::sync::once_cell<T>`: a value set at most once, possibly by an asynchronous
/// initializer that many tasks race to run (`tokio::sync::OnceCell`).
///
/// ```cpp
/// #include <tako/sync/once_cell.hpp>
///
/// tako::sync::once_cell<int> config;
///
/// tako::task<int> load_config() { co_return co_await fetch(1); }
///
/// tako::task<void> handler() {
///     // Whichever task gets here first runs load_config; the others wait for its value.
///     const int& c = co_await config.get_or_init(load_config);
///     use(c);
///     const int* maybe = config.get(); // never waits: null until the cell is set
/// }
/// ```
///
/// - `get()` gives the value, or null while the cell is empty; it never waits.
/// - `set(v)` stores `v` unless the cell holds a value or an initializer is running; then
///   `v` comes back as the error.
/// - `get_or_init(f)` gives the value, running `f` (a callable returning an awaitable of
///   `T`, typically a `task<T>`) if the cell is empty. At most one initializer runs at a
///   time: the other callers wait (FIFO) for its outcome. If the initializing call is
///   cancelled (its task aborted, a `select` it was in lost) or its initializer throws,
///   the next waiting caller runs *its own* initializer; nobody is left hanging and the
///   value is never set twice.
/// - `get_or_try_init(f)` is the same with a fallible initializer returning an awaitable of
///   `std::expected<T, E>`: an error leaves the cell empty, is returned to that caller, and
///   lets the next waiting caller try.
/// - `take()` and `get_mut()` are for an owner with exclusive access (no other task uses
///   the cell meanwhile), as Tokio's `&mut self` methods.
///
/// Thread-safe except `take()` / `get_mut()`. The cell must outlive every call on it.
/// Never resumes a waiter inline (a stored value wakes the waiters in batches).

#include <atomic>
#include <concepts>
#include <coroutine>
#include <cstddef>
#include <expected>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>

#include "tako/detail/branches.hpp"
#include "tako/detail/spin_lock.hpp"
#include "tako/detail/wait_list.hpp"
#include "tako/task.hpp"

namespace tako::detail {

/// True for a `std::expected`.
template <class R>
struct is_std_expected : std::false_type {};
template <class V, class E>
struct is_std_expected<std::expected<V, E>> : std::true_type {};

/// What awaiting an initializer's `f()` gives.
template <class F>
using init_result_t = await_result_t<std::invoke_result_t<std::decay_t<F>&>>;

/// A callable returning an awaitable whose result converts to `T` (`once_cell::get_or_init`).
template <class F, class T>
concept initializer_for = std::convertible_to<init_result_t<F>, T>;

/// A callable returning an awaitable of `std::expected<U, E>`, `U` converting to `T`
/// (`once_cell::get_or_try_init`).
template <class F, class T>
concept fallible_initializer_for = is_std_expected<init_result_t<F>>::value &&
    std::convertible_to<typename init_result_t<F>::value_type, T>;

} // namespace tako::detail

namespace tako::sync {

/// A cell set at most once (`tokio::sync::OnceCell<T>`). Not copyable or movable.
template <class T>
class once_cell {
    static_assert(std::is_object_v<T> && !std::is_const_v<T>,
                  "tako::sync::once_cell<T>: T is a non-const object type");

public:
    /// An empty cell.
    once_cell() noexcept = default;
    /// A cell that already holds `value` (`OnceCell::new_with(Some(value))`).
    explicit once_cell(T value) : value_(std::move(value)), busy_(true), ready_(true) {}
    once_cell(const once_cell&) = delete;
    once_cell& operator=(const once_cell&) = delete;
    /// Destroys the value, if any. Precondition: no call on the cell is in progress.
    ~once_cell() = default;

    /// The value, or null while the cell is empty (also while an initializer runs). Never
    /// waits. The pointer stays valid until the cell is destroyed or `take()` empties it.
    [[nodiscard]] const T* get() const noexcept {
        // acquire: pairs with the release in publish(), so the value is fully built.
        return ready_.load(std::memory_order_acquire) ? std::addressof(*value_) : nullptr;
    }

    /// The value for modification, or null. Only for an owner with exclusive access: no
    /// other task may use the cell meanwhile (Tokio's `get_mut(&mut self)`).
    [[nodiscard]] T* get_mut() noexcept {
        return ready_.load(std::memory_order_acquire) ? std::addressof(*value_) : nullptr;
    }

    /// True once the cell holds a value.
    [[nodiscard]] bool initialized() const noexcept {
        return ready_.load(std::memory_order_acquire);
    }

    /// Stores `value` if the cell is empty and no initializer is running; otherwise gives
    /// `value` back as the error (Tokio's `SetError::AlreadyInitializedError` and
    /// `InitializingError`). Wakes the callers waiting in `get_or_init`. Never waits. If
    /// moving `value` into the cell throws, the exception propagates and the cell stays
    /// empty.
    [[nodiscard]] std::expected<void, T> set(T value) {
        {
            std::lock_guard guard(lock_);
            if (busy_) {
                return std::unexpected(std::move(value));
            }
            busy_ = true; // the permit: nobody else initializes while we store
        }
        commit_or_release(std::move(value));
        return {};
    }

    /// The value, running `f()` first if the cell is empty. `f` is a callable returning an
    /// awaitable (typically a `task<T>`) whose result converts to `T`; it is moved into the
    /// operation and called at most once, only if this call gets to initialize. While
    /// another call's initializer runs, this one waits for its outcome: its value, or (if
    /// it was cancelled or threw) the turn to run `f`. An exception from `f` propagates
    /// out of this call and leaves the cell empty for the next caller.
    ///
    /// Cancel-safe: cancelling a waiting call loses nothing; cancelling the call while its
    /// initializer runs abandons that initialization (its frames are destroyed) and passes
    /// the turn to the next waiting caller, or leaves the cell empty.
    template <detail::initializer_for<T> F>
    task<const T&> get_or_init(F f) {
        if (const T* v = get()) {
            co_return *v;
        }
        // A permit, or an empty one if the cell was set meanwhile.
        permit p = co_await acquire_awaiter(*this);
        if (!p.owns()) {
            co_return *value_;
        }
        T value = co_await std::invoke(f); // cancelled here: ~permit hands the turn on
        p.commit(std::move(value));
        co_return *value_;
    }

    /// As `get_or_init`, with a fallible initializer: `f` returns an awaitable of
    /// `std::expected<U, E>` (`U` converting to `T`). Gives a pointer to the value, or the
    /// error of this call's own initializer, which leaves the cell empty and lets the next
    /// waiting caller try its own. Cancel-safe in the same way as `get_or_init`.
    template <detail::fallible_initializer_for<T> F>
    task<std::expected<const T*, typename detail::init_result_t<F>::error_type>>
    get_or_try_init(F f) {
        using R = detail::init_result_t<F>;
        using result = std::expected<const T*, typename R::error_type>;
        if (const T* v = get()) {
            co_return result(v);
        }
        permit p = co_await acquire_awaiter(*this);
        if (!p.owns()) {
            co_return result(std::addressof(*value_));
        }
        R r = co_await std::invoke(f);
        if (!r.has_value()) {
            co_return result(std::unexpect, std::move(r).error()); // ~permit: next one tries
        }
        p.commit(std::move(*r));
        co_return result(std::addressof(*value_));
    }

    /// Empties the cell and gives its value, if any (Tokio's `take(&mut self)`). Only for an
    /// owner with exclusive access: no other task may use the cell meanwhile (no call in
    /// progress, no pointer from `get()` still in use). The cell can be set again afterwards.
    std::optional<T> take() noexcept(std::is_nothrow_move_constructible_v<T>) {
        std::optional<T> out;
        if (ready_.load(std::memory_order_acquire)) {
            out.emplace(std::move(*value_));
            value_.reset();
            ready_.store(false, std::memory_order_relaxed);
            busy_ = false;
        }
        return out;
    }

    /// Consumes the cell's value (Tokio's `into_inner(self)`): `take()` on an rvalue, with
    /// the same exclusive-access requirement.
    std::optional<T> into_inner() && noexcept(std::is_nothrow_move_constructible_v<T>) {
        return take();
    }

private:
    /// The right to initialize (a semaphore of one, built on the wait list). Handed on to
    /// the next waiter when dropped without `commit`.
    class [[nodiscard]] permit {
    public:
        permit(once_cell* cell) noexcept : cell_(cell) {}
        permit(permit&& o) noexcept : cell_(std::exchange(o.cell_, nullptr)) {}
        permit& operator=(permit&&) = delete;
        ~permit() {
            if (cell_ != nullptr) {
                cell_->release();
            }
        }
        [[nodiscard]] bool owns() const noexcept { return cell_ != nullptr; }
        /// Stores the value and wakes every waiter; the permit is used up.
        void commit(T value) { std::exchange(cell_, nullptr)->commit_or_release(std::move(value)); }

    private:
        once_cell* cell_;
    };

    /// Waits for the permit or for the value. Its wait node is a private base, so the cell
    /// finds the awaiter from the node.
    class acquire_awaiter : private detail::wait_node {
    public:
        explicit acquire_awaiter(once_cell& c) noexcept : cell_(c) {}
        acquire_awaiter(const acquire_awaiter&) = delete;
        acquire_awaiter& operator=(const acquire_awaiter&) = delete;
        /// Unlinks if still waiting; hands on a permit it was given but never took.
        ~acquire_awaiter() {
            const phase_t s = phase();
            if (s == idle || s == done) {
                return; // never linked, or resumed after the cell let go of it
            }
            detail::task_ref r;
            {
                std::lock_guard guard(cell_.lock_);
                if (is_linked()) {
                    unlink();
                } else if (phase() == granted) {
                    r = cell_.release_locked();
                }
            }
            std::move(r).wake();
        }

        /// Never ready: the outcome is decided under the lock, in `await_suspend`.
        bool await_ready() const noexcept { return false; }
        /// Takes the permit, or sees the value, or joins the waiter list. Resumed by the
        /// scheduler once the cell fired our node (its gate is open).
        bool await_suspend(std::coroutine_handle<> h) noexcept {
            {
                std::lock_guard guard(cell_.lock_);
                if (cell_.ready_.load(std::memory_order_relaxed)) {
                    set_phase(ready);
                } else if (!cell_.busy_) {
                    cell_.busy_ = true;
                    set_phase(granted);
                } else {
                    arm(h);
                    cell_.waiters_.push_back(*this);
                    set_phase(waiting);
                    return true;
                }
            }
            return detail::complete_or_yield(h);
        }
        /// The permit, or an empty one if the value is set.
        permit await_resume() noexcept {
            const bool got = phase() == granted;
            set_phase(done);
            return permit(got ? &cell_ : nullptr);
        }

    private:
        friend class once_cell;
        enum phase_t : unsigned char {
            idle,    ///< not awaited yet
            waiting, ///< linked
            granted, ///< given the permit (by the cell, or at once)
            ready,   ///< the value is set
            done,    ///< resumed; the permit (if any) belongs to a `permit` object now
        };
        static acquire_awaiter& of(detail::wait_node* n) noexcept {
            return static_cast<acquire_awaiter&>(*n);
        }
        phase_t phase() const noexcept { return phase_.load(std::memory_order_relaxed); }
        void set_phase(phase_t s) noexcept { phase_.store(s, std::memory_order_relaxed); }

        once_cell& cell_;
        /// Written under the cell's lock while linked; read without it only by the
        /// awaiting task, which acts on it alone when the cell cannot touch the node (idle:
        /// never linked; done: resumed after the cell let go).
        std::atomic<phase_t> phase_{idle};
    };

    /// Under lock_: hands the permit to the oldest waiter, or frees it. Returns the task
    /// to wake, if any.
    detail::task_ref release_locked() noexcept {
        detail::wait_node* n = waiters_.pop_front();
        if (n == nullptr) {
            busy_ = false;
            return {};
        }
        acquire_awaiter::of(n).set_phase(acquire_awaiter::granted);
        return n->fire();
    }

    void release() noexcept {
        detail::task_ref r;
        {
            std::lock_guard guard(lock_);
            r = release_locked();
        }
        std::move(r).wake();
    }

    /// With the permit: stores the value (or, if building it throws, hands the permit on).
    void commit_or_release(T&& value) {
        try {
            commit(std::move(value));
        } catch (...) {
            release();
            throw;
        }
    }

    /// With the permit: builds the value, publishes it, and wakes every waiter in batches
    /// (unlocking to wake each batch). The permit is never given back: the cell stays set
    /// until `take()`.
    void commit(T&& value) {
        value_.emplace(std::move(value));
        std::unique_lock guard(lock_);
        // release: get() (acquire) then sees the whole value.
        ready_.store(true, std::memory_order_release);
        detail::fire_all(guard, waiters_, [](detail::wait_node& n) noexcept {
            acquire_awaiter::of(&n).set_phase(acquire_awaiter::ready);
            return true;
        });
    }

    /// Written only by the permit holder, before `ready_` is published.
    std::optional<T> value_;
    detail::spin_lock lock_;
    detail::wait_list waiters_; ///< callers waiting for the permit; guarded by lock_
    /// A permit is out (an initializer runs) or the value is set; guarded by lock_.
    bool busy_ = false;
    std::atomic<bool> ready_{false}; ///< the value is set (release-published)
};

} // namespace tako::sync
