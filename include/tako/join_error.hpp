#pragma once
/// \file
/// `tako::join_error`: why a spawned task produced no value.

#include <exception>
#include <string>

#include "tako/task_id.hpp"

namespace tako {

/// The task was cancelled (aborted, or its runtime shut down), or an exception escaped it.
/// The counterpart of `tokio::task::JoinError`, with the exception in place of the panic.
class join_error {
public:
    static join_error cancelled(task_id id) noexcept { return join_error(id, nullptr); }
    static join_error failed(task_id id, std::exception_ptr e) noexcept {
        return join_error(id, std::move(e));
    }

    /// True if the task was aborted or its runtime shut down before it finished.
    [[nodiscard]] bool is_cancelled() const noexcept { return !exception_; }
    /// True if the task's body threw.
    [[nodiscard]] bool is_panic() const noexcept { return static_cast<bool>(exception_); }
    /// The exception that escaped the task (null if cancelled).
    [[nodiscard]] const std::exception_ptr& exception() const noexcept { return exception_; }
    /// Rethrows the task's exception; throws `std::logic_error` if the task was cancelled.
    [[noreturn]] void rethrow() const;
    [[nodiscard]] task_id id() const noexcept { return id_; }
    /// "task 7 was cancelled" or "task 7 failed: <what()>".
    [[nodiscard]] std::string message() const;

private:
    join_error(task_id id, std::exception_ptr e) noexcept : id_(id), exception_(std::move(e)) {}

    task_id id_;
    std::exception_ptr exception_;
};

} // namespace tako
