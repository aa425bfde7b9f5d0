#pragma once
/// \file
/// `tako::join_error`: why a spawned task produced no value.

#include <exception>
#include <expected>
#include <stdexcept>
#include <string>
#include <utility>

#include "tako/task_id.hpp"

namespace tako {

/// The task was cancelled (aborted, or its runtime shut down), or an exception escaped it.
/// The counterpart of `tokio::task::JoinError`, with the exception in place of the panic.
///
/// A task that the runtime can never start fails too (`is_panic()`), with the reason as its
/// exception: `spawn_blocking` when no blocking-pool thread can be started (and none is
/// busy to take the task later) reports `std::system_error` with
/// `std::errc::resource_unavailable_try_again`. It is not `is_cancelled()`: nobody asked for
/// it, and retrying later may work.
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

/// Thrown by `unwrap` for a task that was cancelled (aborted, or its runtime shut down).
class task_cancelled : public std::runtime_error {
public:
    explicit task_cancelled(task_id id)
        : std::runtime_error("task " + std::to_string(id.value) + " was cancelled"), id_(id) {}
    [[nodiscard]] task_id id() const noexcept { return id_; }

private:
    task_id id_;
};

/// The value of a joined task, or the task's own exception rethrown (not
/// `std::bad_expected_access`), or `task_cancelled`: Tokio's `handle.await.unwrap()` that
/// keeps the cause.
///
/// ```cpp
/// int v = tako::unwrap(co_await tako::spawn(compute));
/// ```
template <class T>
T unwrap(std::expected<T, join_error> r) {
    if (r.has_value()) {
        if constexpr (std::is_void_v<T>) {
            return;
        } else {
            return std::move(*r);
        }
    }
    if (r.error().is_cancelled()) {
        throw task_cancelled(r.error().id());
    }
    std::rethrow_exception(r.error().exception());
}

} // namespace tako
