#pragma once
// The current_thread scheduler: tasks run on the thread inside block_on. With a shuffle
// seed it picks the next task pseudo-randomly, so one seed replays one interleaving.

#include <cstdint>
#include <mutex>
#include <optional>

#include "runtime/driver.hpp"
#include "runtime/inject_queue.hpp"
#include "runtime/scheduler.hpp"
#include "runtime/task_queue.hpp"

namespace tako::detail {

class current_thread_scheduler final : public scheduler {
public:
    explicit current_thread_scheduler(runtime_core& core);

    void schedule(task_header* t, bool yield) noexcept override;

    /// Runs tasks on the calling thread until `root` completes. One caller at a time;
    /// concurrent callers wait for the scheduler.
    void block_on(task_header* root);
    /// block_on if no other thread is inside block_on; false (and nothing run) otherwise.
    bool try_block_on(task_header* root);
    /// Releases every queued task (all are complete at shutdown).
    void drain() noexcept;

    [[nodiscard]] std::size_t global_queue_depth() const noexcept { return inject_.len(); }

private:
    task_header* next_task();

    std::mutex core_lock_; ///< held by the thread inside block_on
    task_queue local_;     ///< only the block_on thread touches it
    inject_queue inject_;  ///< wakes from other threads
    driver& driver_;       ///< the runtime's time driver
    std::uint32_t tick_ = 0;
    std::uint32_t event_interval_;
    std::uint32_t global_queue_interval_;
    std::optional<std::uint64_t> rng_;
};

} // namespace tako::detail
