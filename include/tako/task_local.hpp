#pragma once
/// \file
/// `tako::task_local<T>`: values scoped to a task's await chain (`tokio::task_local!`).
///
/// ```cpp
/// inline tako::task_local<std::string> request_id;
///
/// tako::task<void> serve() {
///     co_await request_id.scope("abc", handle_request()); // inside: request_id.get() == "abc"
/// }
/// ```
/// A scope covers exactly the work it wraps, even when that work runs as one branch of a
/// `join` or `select`: sibling branches see their own scopes. Spawned tasks do not inherit
/// scopes (as in Tokio).

#include <stdexcept>
#include <type_traits>
#include <utility>

#include "tako/detail/branches.hpp"
#include "tako/detail/task_header.hpp"
#include "tako/task.hpp"

namespace tako {

template <class T>
class task_local {
public:
    task_local() noexcept = default;
    task_local(const task_local&) = delete;
    task_local& operator=(const task_local&) = delete;

    /// Runs `work` (a task or any awaitable) with this key set to `value`.
    template <class A>
    auto scope(T value, A&& work) const {
        return scoped<detail::branch_result_t<A>>(this, std::move(value),
                                                  detail::as_branch(std::forward<A>(work)));
    }

    /// The value of the innermost enclosing scope; throws `std::logic_error` if there is
    /// none (or when called outside a task).
    [[nodiscard]] T& get() const {
        if (T* v = try_get()) {
            return *v;
        }
        throw std::logic_error("tako::task_local::get: no value in scope for this task");
    }

    /// The value of the innermost enclosing scope, or null.
    [[nodiscard]] T* try_get() const noexcept {
        if (detail::tls_poll.locals == nullptr) {
            return nullptr;
        }
        for (detail::local_entry* e = *detail::tls_poll.locals; e != nullptr; e = e->prev) {
            if (e->key == this) {
                return static_cast<T*>(e->value);
            }
        }
        return nullptr;
    }

private:
    /// Pushes the entry when the scope starts and pops it when the scope's frame goes away
    /// (returned, threw, or destroyed by cancellation).
    template <class R>
    static task<R> scoped(const task_local* key, T value, task<R> work) {
        if (detail::tls_poll.locals == nullptr) {
            throw std::logic_error("tako::task_local::scope: not inside a tako task");
        }
        struct entry_guard {
            detail::local_entry entry;
            detail::local_entry** head;
            ~entry_guard() { *head = entry.prev; }
        } guard{{key, &value, *detail::tls_poll.locals}, detail::tls_poll.locals};
        *guard.head = &guard.entry;
        co_return co_await std::move(work);
    }
};

} // namespace tako
