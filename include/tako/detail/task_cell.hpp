#pragma once
/// \file
/// Building a spawned task: the cell (header + owned callable) and the calls into the
/// runtime that a template needs. Everything else about tasks lives in src/runtime.

#include <concepts>
#include <functional>
#include <optional>
#include <source_location>
#include <tuple>
#include <type_traits>
#include <utility>

#include "tako/detail/frame_allocator.hpp"
#include "tako/detail/task_header.hpp"
#include "tako/task.hpp"

namespace tako::detail {

/// The scheduler of the calling thread's runtime (or local_set). Throws
/// `std::runtime_error` naming `what` when the thread is outside any runtime.
scheduler& current_scheduler(const char* what);

/// Registers the new task with its runtime and queues it. If the runtime
/// is shutting down the task is cancelled at once (its join_handle reports cancellation).
void submit_new_task(scheduler& s, task_header* t) noexcept;

/// A process-unique task id.
std::uint64_t next_task_id() noexcept;

/// Join-handle side of the state machine (src/runtime/task.cpp).
void drop_join_handle(task_header* t) noexcept;
void abort_task(task_header* t) noexcept;
bool is_complete(const task_header* t) noexcept;
/// What `register_join_waiter` did.
enum class join_wait : unsigned char {
    linked,   ///< the waker is linked; completion fires it
    complete, ///< the task is already complete: nothing linked
    busy,     ///< another awaiter is linked (two tasks await one handle): nothing linked
};
/// Links the awaiting task's waker to the task's join slot.
join_wait register_join_waiter(task_header* t, waker w) noexcept;
void unregister_join_waiter(task_header* t) noexcept;

/// Tasks spawned from a coroutine rather than from a callable own no callable.
struct no_callable {};

template <class T, class F>
struct task_cell final : task_header {
    [[no_unique_address]] std::conditional_t<std::is_same_v<F, no_callable>, no_callable,
                                             std::optional<F>>
        callable;

    static void drop_impl(task_header* h, drop_kind kind) noexcept {
        auto* self = static_cast<task_cell*>(h);
        if (kind == drop_kind::callable) {
            if constexpr (!std::is_same_v<F, no_callable>) {
                self->callable.reset();
            }
            return;
        }
        if (self->root) {
            destroy_frames(self->root, *self->root_promise);
        }
        self->~task_cell();
        frame_deallocate(self, sizeof(task_cell));
    }
};

template <class T, class F>
task_cell<T, F>* new_cell(const char* name, std::source_location loc) {
    auto* cell = ::new (frame_allocate(sizeof(task_cell<T, F>))) task_cell<T, F>();
    cell->drop = &task_cell<T, F>::drop_impl;
    cell->id = next_task_id();
    // Three references: the registry's (until the task finishes), the join_handle's, and
    // the run queue's. Set here, before any handle can take another reference.
    cell->state.store(task_state::notified | task_state::join_interest | 3 * task_state::ref_one,
                      std::memory_order_relaxed);
    cell->name = name;
    cell->location = loc;
    return cell;
}

template <class T, class F>
void set_root(task_cell<T, F>* cell, task<T> body) noexcept {
    auto h = body.release();
    cell->root = h;
    cell->root_promise = &h.promise();
    cell->resume_point = suspension{h, nullptr};
}

/// Builds the cell for a coroutine (`task<T>`) or a callable returning one. A callable is
/// moved into the cell and lives until the task ends, so its captures never dangle.
template <class X>
auto make_cell(X&& x, const char* name, std::source_location loc) {
    if constexpr (task_type<X>) {
        using T = typename std::remove_cvref_t<X>::value_type;
        if (!x.valid()) {
            throw_empty_task();
        }
        auto* cell = new_cell<T, no_callable>(name, loc);
        set_root(cell, std::move(x));
        return cell;
    } else {
        using F = std::decay_t<X>;
        using T = typename std::invoke_result_t<F&>::value_type;
        auto* cell = new_cell<T, F>(name, loc);
        try {
            cell->callable.emplace(std::forward<X>(x));
            task<T> body = std::invoke(*cell->callable);
            if (!body.valid()) {
                throw_empty_task();
            }
            set_root(cell, std::move(body));
        } catch (...) {
            task_cell<T, F>::drop_impl(cell, drop_kind::deallocate);
            throw;
        }
        return cell;
    }
}

/// Satisfied by what `spawn` accepts: a `task<T>` by value (an lvalue task would be moved
/// from silently: `spawn(std::move(t))` says so), or a callable returning one.
template <class X>
concept spawnable = (task_type<X> && !std::is_lvalue_reference_v<X>) ||
                    (!task_type<X> && std::invocable<std::decay_t<X>&> &&
                     task_type<std::invoke_result_t<std::decay_t<X>&>>);

/// A callable and its arguments, stored together in the task (`spawn(f, args...)`,
/// `spawn_blocking(f, args...)`). Invoked once, with the arguments moved out of storage,
/// so by-value parameters take them and `const&` parameters see the stored objects, which
/// live as long as the task.
template <class F, class... Args>
struct bound_call {
    F f;
    std::tuple<Args...> args;
    decltype(auto) operator()() { return std::apply(f, std::move(args)); }
};

template <class F, class... Args>
auto bind_call(F&& f, Args&&... args) {
    return bound_call<std::decay_t<F>, std::decay_t<Args>...>{
        std::forward<F>(f), std::tuple<std::decay_t<Args>...>(std::forward<Args>(args)...)};
}

/// `spawn(f, args...)`: `f` applied to the decayed arguments gives a `task<T>`. The first
/// argument is never a `source_location` (that is the one-argument form's location).
template <class F, class... Args>
concept spawnable_with = sizeof...(Args) > 0 &&
                         !(std::is_same_v<std::decay_t<Args>, std::source_location> || ...) &&
                         spawnable<bound_call<std::decay_t<F>, std::decay_t<Args>...>>;

/// `spawn_blocking(f, args...)`: `f` applied to the decayed arguments is a plain call.
template <class F, class... Args>
concept blocking_callable_with =
    sizeof...(Args) > 0 && !(std::is_same_v<std::decay_t<Args>, std::source_location> || ...) &&
    std::invocable<bound_call<std::decay_t<F>, std::decay_t<Args>...>&>;

template <class X>
struct spawn_result;
template <class X>
requires task_type<X>
struct spawn_result<X> {
    using type = typename std::remove_cvref_t<X>::value_type;
};
template <class X>
requires(!task_type<X>) struct spawn_result<X> {
    using type = typename std::invoke_result_t<std::decay_t<X>&>::value_type;
};
template <class X>
using spawn_result_t = typename spawn_result<X>::type;

} // namespace tako::detail
