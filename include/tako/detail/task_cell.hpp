#pragma once
/// \file
/// Building a spawned task: its header in the root frame's prefix, its callable, and the
/// calls into the runtime that a template needs. Everything else about tasks lives in src/runtime.

#include <concepts>
#include <cstring>
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
/// `w` must stay where it is until completion fires it or `unregister_join_waiter`.
join_wait register_join_waiter(task_header* t, const waker& w) noexcept;
void unregister_join_waiter(task_header* t) noexcept;

/// Tasks spawned from a coroutine rather than from a callable own no callable.
struct no_callable {};

/// A callable with no state is not stored per task: every task of that type calls one
/// shared instance (no allocation). Anything else is boxed next to the task.
template <class F>
inline constexpr bool shared_callable = std::is_empty_v<F> && std::is_trivially_copyable_v<F>;

/// A box holding a spawned task's callable, freed when the task ends.
template <class F>
struct callable_box {
    template <class X>
    static F* make(X&& x) {
        if constexpr (alignof(F) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__) {
            void* p = frame_allocate(sizeof(F));
            try {
                return ::new (p) F(std::forward<X>(x));
            } catch (...) {
                frame_deallocate(p, sizeof(F));
                throw;
            }
        } else {
            return new F(std::forward<X>(x));
        }
    }
    static void destroy(void* p) noexcept {
        if constexpr (alignof(F) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__) {
            static_cast<F*>(p)->~F();
            frame_deallocate(p, sizeof(F));
        } else {
            delete static_cast<F*>(p);
        }
    }
};

/// The task's `drop` for a task made from callable `F` (or `no_callable`).
template <class F>
void drop_task(task_header* t, drop_kind kind) noexcept {
    constexpr bool boxed = !std::is_same_v<F, no_callable> && !shared_callable<F>;
    if constexpr (boxed) {
        if (t->callable != nullptr) {
            callable_box<F>::destroy(std::exchange(t->callable, nullptr));
        }
    }
    if (kind == drop_kind::callable) {
        return;
    }
    if (t->root_promise != nullptr) {
        // The root frame's delete leaves the block alone (hosts_task): it is freed below.
        destroy_frames(t->root(), *std::exchange(t->root_promise, nullptr));
    }
    const std::size_t block = task_prefix_size + t->frame_size;
    t->~task_header();
    frame_deallocate(t, block);
}

/// Builds the task's header in the prefix of `body`'s frame (docs/task-layout.md): the
/// task is one allocation, plus a box when its callable has state.
template <class F, class T>
task_header* adopt_root(task<T> body, void* callable, const char* name,
                        std::source_location loc) noexcept {
    auto h = body.release();
    auto* frame = static_cast<char*>(h.address());
    frame_trailer trailer;
    std::memcpy(&trailer, frame - sizeof(frame_trailer), sizeof(trailer));
    auto* t = ::new (frame - task_prefix_size) task_header();
    t->frame_size = trailer.frame_size;
    t->hosts_task = 1;
    t->drop = &drop_task<F>;
    t->callable = callable;
    t->list_prev = t->list_next = t; // in no registry list yet (task_registry::remove)
    t->id = next_task_id();
    // Three references: the registry's (until the task finishes), the join_handle's, and
    // the run queue's. Set here, before any handle can take another reference.
    t->state.store(task_state::notified | task_state::join_interest | 3 * task_state::ref_one,
                   std::memory_order_relaxed);
    t->name = name;
    t->location = loc;
    t->root_promise = &h.promise();
    t->resume_point = suspension{h, nullptr};
    return t;
}

/// Throws unless `body` is a task that can become a spawned task's root.
template <class T>
void check_spawnable(const task<T>& body) {
    if (!body.valid() || body.done()) {
        throw_empty_task();
    }
}

/// Builds a task for a coroutine (`task<T>`) or a callable returning one. A callable is
/// kept (boxed, or shared when stateless) until the task ends, so its captures never
/// dangle.
template <class X>
task_header* make_cell(X&& x, const char* name, std::source_location loc) {
    if constexpr (task_type<X>) {
        check_spawnable(x);
        return adopt_root<no_callable>(std::move(x), nullptr, name, loc);
    } else {
        using F = std::decay_t<X>;
        using T = typename std::invoke_result_t<F&>::value_type;
        if constexpr (shared_callable<F>) {
            static F instance(std::forward<X>(x));
            task<T> body = std::invoke(instance);
            check_spawnable(body);
            return adopt_root<F>(std::move(body), nullptr, name, loc);
        } else {
            F* f = callable_box<F>::make(std::forward<X>(x));
            try {
                task<T> body = std::invoke(*f);
                check_spawnable(body);
                return adopt_root<F>(std::move(body), f, name, loc);
            } catch (...) {
                callable_box<F>::destroy(f);
                throw;
            }
        }
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
