#pragma once
/// \file
/// `tako::task_id` and `tako::task_info`: what identifies a spawned task.

#include <compare>
#include <cstdint>
#include <optional>
#include <source_location>

namespace tako {

/// A spawned task's id, unique among all tasks of the process (like `tokio::task::Id`).
struct task_id {
    std::uint64_t value = 0;
    friend auto operator<=>(task_id, task_id) = default;
};

/// Identity of a spawned task: id, optional name, and where it was spawned.
struct task_info {
    task_id id;
    const char* name = nullptr; ///< null when spawned without a name
    std::source_location location;
};

/// The id of the task running on this thread, if any (`tokio::task::try_id`).
[[nodiscard]] std::optional<task_id> current_task_id() noexcept;

} // namespace tako
