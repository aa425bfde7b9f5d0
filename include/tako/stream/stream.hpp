#pragma once
/// \file
/// `tako::stream<T>`: an async generator (tokio-stream's `Stream`, written as a coroutine).
///
/// A function returning `tako::stream<T>` is a coroutine that `co_yield`s values and may
/// `co_await` anything in between (a socket read, a sleep, another stream). The consumer
/// pulls one value at a time with `co_await s.next()`, which gives `std::optional<T>`:
/// a value, or `std::nullopt` once the body has returned.
///
/// ```cpp
/// tako::stream<int> countdown(int from) {
///     for (int i = from; i > 0; --i) {
///         co_await tako::time::sleep(std::chrono::milliseconds(1));
///         co_yield i;
///     }
/// }
///
/// tako::task<int> sum_countdown() {
///     auto s = countdown(3);
///     int sum = 0;
///     while (auto v = co_await s.next()) {   // the loop idiom: no `for co_await` in C++
///         sum += *v;
///     }
///     co_return sum;                          // 6
/// }
/// ```
///
/// **Lifetime.** A stream is lazy (the body starts at the first `next()`), move-only and
/// owns its frame: destroying it destroys the body wherever it is suspended, and the
/// body's locals are destroyed (an awaiter it is suspended in unregisters itself, as when a
/// task is cancelled). Parameters are copied into the frame as for any coroutine, so pass
/// them by value (no references or views: the stream outlives the call that made it).
///
/// **Errors.** An exception that escapes the body is rethrown by the `next()` that was
/// running it; the stream is finished afterwards (`next()` gives `std::nullopt`).
///
/// **Cancel safety of `next()`.** Cancel-safe: nothing is lost. A `next()` that is
/// destroyed while the body is suspended in the middle of producing an item (inside a
/// `select` that another branch won, or under `time::timeout`) does not cancel the body:
/// the body stays suspended where it was, with whatever it had computed, and the next call
/// of `next()` continues it. A value that the body had already yielded is never dropped:
/// `next()` returns the moment it has one. One rule follows from the body staying armed:
/// once a `next()` was cancelled mid-item, the stream belongs to the task that called it
/// (its wake-ups go there) until the item arrives or the stream is destroyed; calling
/// `next()` from another task in that state throws `std::logic_error`. Destroying it
/// anywhere is fine.
///
/// **How it runs.** The body runs inside the consumer's task, like an awaited task, but on
/// a resume point of its own (docs/streams.md): a leaf the body waits on wakes the task,
/// and whichever `next()` is waiting re-polls the body. A stream is not thread-safe: one
/// consumer at a time.

#include <atomic>
#include <coroutine>
#include <exception>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "tako/detail/task_header.hpp"
#include "tako/task.hpp"

namespace tako {

template <class T>
class stream;

namespace detail {

/// Suspends the calling chain at `h` until any wake of its task, and marks the enclosing
/// combinator branches fired so that a `select`/`join` around the chain polls it on every
/// wake. Used by whatever waits for a stream body: the body's leaves wake the task without
/// knowing which branch (if any) is waiting for the body now.
inline void park_polling(std::coroutine_handle<> h) noexcept {
    poll_context& c = tls_poll;
    *c.resume_slot = suspension{h, nullptr};
    for (branch_flag* b = c.branch; b != nullptr; b = b->parent) {
        // release: the combinator's acquire exchange then resumes this branch.
        b->fired.store(true, std::memory_order_release);
    }
}

/// `co_await stream_park{}`: `park_polling` as an awaiter. Resumed on the next wake of the
/// task (possibly a stale one: whoever awaits it re-checks its condition).
struct stream_park {
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) const noexcept { park_polling(h); }
    void await_resume() const noexcept {}
};

/// What one poll of a stream body gave.
enum class poll_status : unsigned char {
    item,    ///< the body yielded a value (in the promise)
    ended,   ///< the body returned or threw
    pending, ///< the body is suspended inside an await
};

/// The part of a stream's promise that does not depend on `T`. The frame is allocated as
/// a task frame (`promise_base`): same allocator, same destruction path.
struct stream_promise_base : promise_base {
    /// Where the body continues and the gate that must be open first: the body's own
    /// frame after a yield, or the leaf it waits on. Leaves inside the body record here.
    suspension resume;
    /// Head of the task-local scopes seen by the body.
    local_entry* locals = nullptr;
    /// The task whose wakers the body's pending leaves hold (set while `parked`).
    task_header* owner = nullptr;
    bool parked = false;  ///< suspended inside an await, not at a yield
    bool yielded = false; ///< set by `yield_value` during the current poll

    std::suspend_always initial_suspend() noexcept { return {}; }
    /// Back to whoever polled the body (`stream_poll`), never to a continuation.
    std::suspend_always final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
};

/// Resumes the body of `h` once, with the poll context pointed at the stream's own resume
/// point, until it yields, finishes or suspends inside an await. Does nothing (pending)
/// when the leaf it waits on has not fired yet.
inline poll_status stream_poll(std::coroutine_handle<> h, stream_promise_base& p) noexcept {
    if (h.done()) {
        return poll_status::ended;
    }
    if (!p.resume.ready()) {
        return poll_status::pending;
    }
    poll_context& c = tls_poll;
    branch_flag* const outer_branch = c.branch;
    suspension* const outer_slot = c.resume_slot;
    local_entry** const outer_locals = c.locals;
    if (!p.parked) {
        p.locals = outer_locals != nullptr ? *outer_locals : nullptr;
    }
    // No branch: the body's leaves wake the task only; the consumer side (`park_polling`)
    // keeps the enclosing branches marked while it waits.
    c.branch = nullptr;
    c.resume_slot = &p.resume;
    c.locals = &p.locals;
    p.yielded = false;
    p.resume.handle.resume();
    c.branch = outer_branch;
    c.resume_slot = outer_slot;
    c.locals = outer_locals;
    if (h.done()) {
        p.parked = false;
        return poll_status::ended;
    }
    if (p.yielded) {
        p.parked = false;
        p.resume = suspension{h, nullptr};
        return poll_status::item;
    }
    p.parked = true;
    p.owner = c.task;
    return poll_status::pending;
}

/// The slow path of `next()`: sits where the consumer's chain resumes and re-polls the body
/// on every wake until it has an item or ends.
inline task<void> stream_poller(std::coroutine_handle<> h, stream_promise_base* p,
                                poll_status* out) {
    for (;;) {
        *out = stream_poll(h, *p);
        if (*out != poll_status::pending) {
            co_return;
        }
        co_await stream_park{};
    }
}

template <class T>
struct stream_promise final : stream_promise_base {
    std::optional<T> value;

    stream<T> get_return_object() noexcept;

    /// The outcome of a poll that gave `st`: the yielded value, or nullopt at the end (the
    /// body's exception, if it threw, is rethrown once).
    std::optional<T> take(poll_status st) {
        if (st == poll_status::item) {
            std::optional<T> v(std::move(value));
            value.reset();
            return v;
        }
        rethrow_if_failed();
        return std::nullopt;
    }

    template <class U = T>
    requires std::is_convertible_v<U&&, T> std::suspend_always yield_value(U&& v)
    noexcept(std::is_nothrow_constructible_v<T, U&&>) {
        value.emplace(std::forward<U>(v));
        yielded = true;
        return {};
    }
};

/// Polls a stream without waiting, for combinators that wait on several streams at once
/// (`merge`, `stream_map`): they poll each, and park with `stream_park` when none is ready.
struct stream_access {
    /// One poll: an item (in `out`), the end (`out` empty; the body's exception is
    /// rethrown), or pending (the body stays armed in the calling task).
    template <class T>
    static poll_status poll(stream<T>& s, std::optional<T>& out) {
        if (!s.handle_) {
            return poll_status::ended;
        }
        const poll_status st = stream_poll(s.handle_, s.handle_.promise());
        if (st != poll_status::pending) {
            out = s.handle_.promise().take(st);
        }
        return st;
    }
};

[[noreturn]] inline void throw_empty_stream() {
    throw std::logic_error("tako::stream: next() on an empty (moved-from) stream");
}

[[noreturn]] inline void throw_stream_moved() {
    throw std::logic_error(
        "tako::stream: next() from another task while a cancelled next() left the body "
        "waiting on behalf of the first task");
}

} // namespace detail

/// An async generator of `T` values (see the file comment). `T` is an object type.
template <class T>
class [[nodiscard]] stream {
    static_assert(std::is_object_v<T> && !std::is_const_v<T>,
                  "tako::stream<T>: T must be a non-const object type");

public:
    using promise_type = detail::stream_promise<T>;
    using value_type = T;

    /// An empty stream: `next()` throws `std::logic_error`. Use `streams::empty<T>()` for a
    /// stream that simply ends.
    stream() noexcept = default;
    /// Takes ownership of a body's frame (used by the promise).
    explicit stream(std::coroutine_handle<promise_type> h) noexcept : handle_(h) {}
    /// Moves the body; `o` becomes empty. A body waiting mid-item stays bound to its task.
    stream(stream&& o) noexcept : handle_(std::exchange(o.handle_, nullptr)) {}
    /// Destroys this stream's body, then takes `o`'s.
    stream& operator=(stream&& o) noexcept {
        if (this != &o) {
            destroy();
            handle_ = std::exchange(o.handle_, nullptr);
        }
        return *this;
    }
    stream(const stream&) = delete;
    stream& operator=(const stream&) = delete;
    /// Destroys the body wherever it is suspended (its locals' destructors run).
    ~stream() { destroy(); }

    /// True if this stream owns a body.
    [[nodiscard]] bool valid() const noexcept { return static_cast<bool>(handle_); }
    /// True once the body has returned or thrown (every later `next()` gives nullopt).
    [[nodiscard]] bool done() const noexcept { return handle_ && handle_.done(); }

    /// What `next()` returns: awaiting it gives the next value or `std::nullopt`.
    class [[nodiscard]] next_awaiter {
    public:
        /// One `next()` on `*s`.
        explicit next_awaiter(stream* s) noexcept : s_(s) {}
        /// Movable until awaited (a combinator moves it into its branch).
        next_awaiter(next_awaiter&&) noexcept = default;
        next_awaiter& operator=(next_awaiter&&) = delete;
        /// Cancelled: destroys the poller only; the body stays where it is (see file).
        ~next_awaiter() = default;

        /// Polls the body inline: no suspension (and no allocation) when it yields at once.
        bool await_ready() {
            if (!s_->handle_) {
                detail::throw_empty_stream();
            }
            promise_type& p = s_->handle_.promise();
            if (p.parked && p.owner != detail::tls_poll.task) {
                detail::throw_stream_moved();
            }
            status_ = detail::stream_poll(s_->handle_, p);
            return status_ != detail::poll_status::pending;
        }
        /// The body waits inside an await: the consumer's chain now resumes at a poller
        /// that re-polls the body on each wake, then resumes `caller`.
        void await_suspend(std::coroutine_handle<> caller) {
            poller_ = detail::stream_poller(s_->handle_, &s_->handle_.promise(), &status_);
            poller_.handle().promise().continuation = caller;
            detail::park_polling(poller_.handle());
        }
        /// The item, or nullopt at the end; rethrows the body's exception.
        std::optional<T> await_resume() { return s_->handle_.promise().take(status_); }

    private:
        stream* s_;
        detail::poll_status status_ = detail::poll_status::pending;
        task<void> poller_;
    };

    /// The next value, or `std::nullopt` once the stream has ended. Cancel-safe (see the
    /// file comment). The stream must outlive the awaiter (await it where it is called).
    next_awaiter next() noexcept { return next_awaiter(this); }

private:
    friend struct detail::stream_access;

    void destroy() noexcept {
        if (handle_) {
            auto h = std::exchange(handle_, nullptr);
            detail::destroy_frames(h, h.promise());
        }
    }

    std::coroutine_handle<promise_type> handle_;
};

namespace detail {
template <class T>
stream<T> stream_promise<T>::get_return_object() noexcept {
    auto h = std::coroutine_handle<stream_promise>::from_promise(*this);
    resume = suspension{h, nullptr};
    return stream<T>{h};
}

template <class T>
struct is_stream : std::false_type {};
template <class T>
struct is_stream<stream<T>> : std::true_type {};
} // namespace detail

/// Satisfied by `tako::stream<T>` for any `T`.
template <class S>
concept stream_type = detail::is_stream<std::remove_cvref_t<S>>::value;

} // namespace tako
