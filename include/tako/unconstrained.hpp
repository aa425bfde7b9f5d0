#pragma once
/// \file
/// `tako::unconstrained`: run work without the cooperative budget
/// (`tokio::task::unconstrained`).

#include <utility>

#include "tako/detail/branches.hpp"
#include "tako/detail/task_header.hpp"
#include "tako/task.hpp"

namespace tako {

namespace detail {
template <class R>
task<R> run_unconstrained(task<R> work) {
    task_header* t = tls_poll.task;
    struct depth_guard {
        task_header* t;
        explicit depth_guard(task_header* task) : t(task) {
            if (t != nullptr) {
                ++t->unconstrained_depth;
            }
        }
        ~depth_guard() {
            if (t != nullptr) {
                --t->unconstrained_depth;
            }
        }
    } guard(t);
    co_return co_await std::move(work);
}
} // namespace detail

/// Runs `work` (a task or any awaitable) with the budget disabled for the whole task
/// while it runs: operations that complete at once never force a yield. Work that never
/// suspends can then starve other tasks on its worker; use with care.
template <class A>
auto unconstrained(A&& work) {
    return detail::run_unconstrained<detail::branch_result_t<A>>(
        detail::as_branch(std::forward<A>(work)));
}

} // namespace tako
