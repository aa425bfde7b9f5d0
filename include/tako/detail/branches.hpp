#pragma once
/// \file
/// Machinery of the in-task combinators (`join`, `try_join`, `select`): N branch
/// coroutines driven by one driver coroutine inside the calling task
/// (docs/execution-model.md). Each branch records where it is suspended in its own slot and is woken through
/// its own `branch_flag`; the driver resumes exactly the branches whose flags fired.

#include <array>
#include <atomic>
#include <coroutine>
#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

#include "tako/detail/task_header.hpp"
#include "tako/task.hpp"

namespace tako::detail {

/// The awaiter `co_await a` would use.
template <class A>
decltype(auto) get_awaiter(A&& a) {
    if constexpr (requires { std::forward<A>(a).operator co_await(); }) {
        return std::forward<A>(a).operator co_await();
    } else if constexpr (requires { operator co_await(std::forward<A>(a)); }) {
        return operator co_await(std::forward<A>(a));
    } else {
        return std::forward<A>(a);
    }
}

/// What `co_await a` produces.
template <class A>
using await_result_t = decltype(get_awaiter(std::declval<A>()).await_resume());

/// `void` results are represented by `std::monostate` in tuples and variants.
template <class T>
using value_or_monostate = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

template <class A>
task<await_result_t<A>> await_as_task(A a) {
    co_return co_await std::move(a);
}

/// Awaits a borrowed awaitable; the awaitable outlives the branch.
template <class A>
task<await_result_t<A&>> await_ref_as_task(A& a) {
    co_return co_await a;
}

/// True for a type with `operator co_await` (member or free) on an lvalue: awaiting it
/// builds a fresh awaiter, which is the wait node and lives in the branch's frame. Such an
/// object can be borrowed by a combinator: losing destroys the awaiter, not the object.
template <class A>
concept borrowable_awaitable = requires(A& a) {
    a.operator co_await();
}
|| requires(A& a) {
    operator co_await(a);
};

/// Never completes and registers nowhere: a disabled branch (see `tako::when`). Cancelled
/// like any other branch when the combinator ends.
struct pending_forever {
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) const noexcept { record_driver_suspension(h); }
    [[noreturn]] void await_resume() const noexcept { __builtin_unreachable(); }
};

template <class T>
task<T> disabled_branch() {
    co_await pending_forever{};
    __builtin_unreachable();
}

} // namespace tako::detail

namespace tako {

/// A `select` branch that takes part only if `enabled` (Tokio's `, if cond` precondition).
/// A disabled branch never completes; `work` is destroyed unawaited. `select` throws
/// `std::logic_error` if every branch is disabled. Write it inside the `select` call: it
/// refers to its argument, which lives until the end of that statement.
///
/// ```cpp
/// auto r = co_await tako::select(tako::when(!set.empty(), set.join_next()), stop.notified());
/// ```
template <class A>
struct when {
    bool enabled;
    /// A reference, not a copy: g++ 12 may copy a temporary of a co_await statement and
    /// destroy both (GCC PR 101367); a `when` that owned a task would then free it twice.
    A&& work;
};
template <class A>
when(bool, A&&) -> when<A>;

} // namespace tako

namespace tako::detail {

template <class A>
struct is_when : std::false_type {};
template <class A>
struct is_when<when<A>> : std::true_type {};

/// Turns an argument of `join` / `select` / `timeout` into a branch task:
/// - a `task<T>` (by value) is the branch itself;
/// - any other awaitable by value (a temporary, or `std::move(x)`) is awaited in the branch;
/// - an lvalue whose `operator co_await` makes a fresh awaiter (`join_handle`, a oneshot
///   `receiver`, `time::sleep`) is borrowed: it survives losing a `select`, as Tokio's
///   `&mut x`;
/// - `when(cond, x)`: as `x`, or never completing if `cond` is false.
template <class A>
auto as_branch(A&& a) {
    using D = std::remove_cvref_t<A>;
    if constexpr (is_when<D>::value) {
        using inner = decltype(as_branch(std::forward<decltype(a.work)>(a.work)));
        using T = typename inner::value_type;
        if (!a.enabled) {
            if constexpr (std::is_rvalue_reference_v<decltype(a.work)>) {
                // Consume the unused work now, as an enabled branch would.
                [[maybe_unused]] auto discarded =
                    std::remove_cvref_t<decltype(a.work)>(std::forward<decltype(a.work)>(a.work));
            }
            return disabled_branch<T>();
        }
        return as_branch(std::forward<decltype(a.work)>(a.work));
    } else if constexpr (std::is_lvalue_reference_v<A>) {
        static_assert(!task_type<D>,
                      "tako: a task<T> is single-use and cannot be borrowed by join/select/"
                      "timeout: pass it by value, e.g. select(std::move(t), ...)");
        static_assert(borrowable_awaitable<D>,
                      "tako: this awaitable is its own wait node and cannot be borrowed by "
                      "join/select/timeout: pass a fresh one (e.g. n.notified()) or "
                      "std::move(it)");
        return await_ref_as_task<D>(a);
    } else if constexpr (task_type<D>) {
        return D(std::move(a));
    } else {
        return await_as_task<D>(std::move(a));
    }
}

/// True unless `a` is a disabled `when`.
template <class A>
bool branch_enabled(const A& a) noexcept {
    if constexpr (is_when<std::remove_cvref_t<A>>::value) {
        return a.enabled;
    } else {
        return true;
    }
}

template <class A>
using branch_result_t = typename decltype(as_branch(std::declval<A>()))::value_type;

/// Takes the result of a finished branch (rethrows its exception).
template <class T>
value_or_monostate<T> take_branch_result(task<T>& t) {
    if constexpr (std::is_void_v<T>) {
        t.handle().promise().take_result();
        return {};
    } else {
        return t.handle().promise().take_result();
    }
}

struct branch_slot {
    branch_flag flag;
    suspension resume;             ///< where the branch continues, and when it may
    local_entry* locals = nullptr; ///< task_local scopes entered inside the branch
    bool done = false;
};

/// Resumes one branch inside the calling task, with the poll context pointed at it, until
/// it suspends (recording itself in `b.resume`) or finishes (its continuation is null,
/// so its final suspend returns here).
inline void resume_branch(branch_slot& b) {
    poll_context& c = tls_poll;
    branch_flag* const outer_branch = c.branch;
    suspension* const outer_slot = c.resume_slot;
    local_entry** const outer_locals = c.locals;
    c.branch = &b.flag;
    c.resume_slot = &b.resume;
    c.locals = &b.locals;
    b.resume.handle.resume();
    c.branch = outer_branch;
    c.resume_slot = outer_slot;
    c.locals = outer_locals;
}

/// Suspends the driver until one of its branches fires; the branch's flag chain already
/// marks the enclosing branch (if any), and the wake reaches the task.
struct wait_for_branches {
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) const noexcept { record_driver_suspension(h); }
    void await_resume() const noexcept {}
};

/// N branches plus their slots. Declared so the branch frames are destroyed before the
/// slots: a branch's awaiters unlink (under their resource's lock) while its flag still
/// exists.
template <class... Ts>
struct branch_set {
    static constexpr std::size_t size = sizeof...(Ts);
    std::array<branch_slot, size> slots;
    std::tuple<task<Ts>...> tasks;

    explicit branch_set(task<Ts>&&... ts) : tasks(std::move(ts)...) {
        std::apply(
            [&](auto&... t) {
                std::size_t i = 0;
                // The driver always runs inside the same enclosing chain, so each flag's
                // parent is fixed here, before any waker can read it.
                ((slots[i].resume = suspension{t.handle(), nullptr},
                  slots[i].flag.parent = tls_poll.branch,
                  slots[i].locals = tls_poll.locals != nullptr ? *tls_poll.locals : nullptr,
                  slots[i].flag.fired.store(true, std::memory_order_relaxed), ++i),
                 ...);
            },
            tasks);
    }

    /// Resumes branch `i` if it fired; true if it is finished afterwards.
    bool poll(std::size_t i) {
        branch_slot& b = slots[i];
        // acquire: pairs with waker::fire's release, so the branch sees what fired it.
        if (b.done || !b.flag.fired.exchange(false, std::memory_order_acquire)) {
            return b.done;
        }
        if (!b.resume.ready()) {
            // A stale flag, or the current leaf's waker::fire() is between marking the
            // flags and opening its gate (the gate is its last write). Put the flags back,
            // this branch's and the enclosing ones', so the wake that follows the fire
            // resumes the branch; a stale flag only costs a re-poll on later wakes.
            for (branch_flag* f = &b.flag; f != nullptr; f = f->parent) {
                f->fired.store(true, std::memory_order_release);
            }
            return false;
        }
        resume_branch(b);
        b.done = done_at(i, std::make_index_sequence<size>{});
        return b.done;
    }

    template <std::size_t... Is>
    bool done_at(std::size_t i, std::index_sequence<Is...>) const noexcept {
        bool d = false;
        ((i == Is ? (d = std::get<Is>(tasks).handle().done(), 0) : 0), ...);
        return d;
    }

    /// Destroys every branch but `keep` (select's losers).
    template <std::size_t... Is>
    void destroy_all_but(std::size_t keep, std::index_sequence<Is...>) noexcept {
        ((Is != keep ? (void)(std::get<Is>(tasks) = task<Ts>{}) : void()), ...);
    }
};

/// Checks that every argument is a task that can still run.
template <class... Ts>
void require_fresh(const task<Ts>&... ts) {
    if (((!ts.valid() || ts.done()) || ...)) {
        throw_empty_task();
    }
}

/// Per-thread xorshift for select's random start.
std::uint32_t random_below(std::uint32_t n) noexcept;

} // namespace tako::detail
