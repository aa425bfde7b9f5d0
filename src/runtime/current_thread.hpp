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

    [[nodiscard]] bool driven_by_block_on() const noexcept override { return true; }
    /// Runs tasks on the calling thread until `root` completes, unless another thread is
    /// driving the scheduler (then false, nothing run). One driver at a time.
    bool try_drive(task_header* root) override;
    /// On the thread driving the scheduler, blocking stalls every task: throws.
    void* prepare_to_block() override;
    /// Releases every queued task (all are complete at shutdown).
    void drain() noexcept override;

    /// The thread inside block_on.
    [[nodiscard]] std::size_t num_workers() const noexcept override { return 1; }
    [[nodiscard]] std::size_t global_queue_depth() const noexcept override {
        return inject_.len();
    }

private:
    task_header* next_task();
    /// try_drive's loop; the caller holds core_lock_.
    void run_until(task_header* root);

    std::mutex core_lock_; ///< held by the thread driving the scheduler
    task_queue local_;     ///< only the block_on thread touches it
    inject_queue inject_;  ///< wakes from other threads
    driver& driver_;       ///< the runtime's time driver
    std::uint32_t tick_ = 0;
    std::uint32_t event_interval_;
    std::uint32_t global_queue_interval_;
    std::optional<std::uint64_t> rng_;
};

} // namespace tako::detail
