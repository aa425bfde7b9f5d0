#pragma once
// The blocking pool: threads created on demand up to a cap, retired after an idle
// keep-alive, running spawn_blocking work (and, later, file I/O and DNS lookups).
// Its tasks are ordinary task cells whose body never suspends, so join_handle and
// abort work the same; a blocking task cannot be cancelled once it has started.

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <optional>

#include "runtime/scheduler.hpp"
#include "runtime/task_queue.hpp"

namespace tako::detail {

class blocking_pool final : public scheduler {
public:
    explicit blocking_pool(runtime_core& core);

    void schedule(task_header* t, bool yield) noexcept override;
    /// Stops taking work and waits up to `timeout` (none: forever) for running work;
    /// threads still busy after that finish on their own.
    void shutdown(std::optional<std::chrono::nanoseconds> timeout) noexcept;

    [[nodiscard]] std::size_t num_threads() noexcept;
    [[nodiscard]] std::size_t num_idle_threads() noexcept;

private:
    void run() noexcept;

    std::mutex lock_;
    std::condition_variable work_cv_;
    std::condition_variable exit_cv_;
    task_queue queue_;
    std::size_t threads_ = 0;
    std::size_t idle_ = 0;
    std::size_t pending_notifies_ = 0;
    bool shutdown_ = false;
};

} // namespace tako::detail
