#pragma once
/// \file
/// `tako::yield_now` and `tako::consume_budget`: giving other tasks a turn.

#include <coroutine>

#include "tako/detail/task_header.hpp"

namespace tako {

namespace detail {
struct yield_awaiter {
    bool await_ready() const noexcept { return false; }
    // The scheduler re-queues the task at the back of its queue and resumes it later.
    void await_suspend(std::coroutine_handle<> h) const noexcept { yield_at(h); }
    void await_resume() const noexcept {}
};

struct budget_awaiter {
    bool await_ready() const noexcept { return consume_budget(); }
    void await_suspend(std::coroutine_handle<> h) const noexcept { yield_at(h); }
    void await_resume() const noexcept {}
};
} // namespace detail

/// Suspends the current task once, letting every other queued task run first
/// (`tokio::task::yield_now`). Cancel-safe.
[[nodiscard]] inline detail::yield_awaiter yield_now() noexcept {
    return {};
}

/// Spends one unit of the task's cooperative budget (128 per scheduling); yields only when
/// the budget is exhausted (`tokio::task::consume_budget`). Use it in loops that make
/// progress without awaiting anything that would suspend.
[[nodiscard]] inline detail::budget_awaiter consume_budget() noexcept {
    return {};
}

} // namespace tako
