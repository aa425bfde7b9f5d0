#pragma once
/// \file
/// Machinery of the in-task combinators (`join`, `try_join`, `select`): N branch
/// coroutines driven by one driver coroutine inside the calling task (ARCHITECTURE.md
/// item 6). Each branch records where it is suspended in its own slot and is woken through
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

/// Turns any awaitable into a branch task (a `task<T>` is used as it is).
template <class A>
auto as_branch(A&& a) {
    if constexpr (task_type<A>) {
        return std::forward<A>(a);
    } else {
        return await_as_task<std::decay_t<A>>(std::forward<A>(a));
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
            return false; // a stale wake: the branch's current leaf has not fired
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
