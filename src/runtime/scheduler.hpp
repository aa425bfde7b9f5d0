#pragma once
// The scheduler interface every queue owner implements (current_thread, multi_thread,
// blocking pool, local_set), and the runtime's shared state.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "runtime/driver.hpp"
#include "runtime/registry.hpp"
#include "tako/detail/task_header.hpp"
#include "tako/runtime.hpp"

namespace tako::detail {

class runtime_core;
class time_driver;

/// Owns run queues. `schedule` receives a task that carries one queue reference.
class scheduler {
public:
    explicit scheduler(runtime_core& core) noexcept : core_(core) {}
    scheduler(const scheduler&) = delete;
    scheduler& operator=(const scheduler&) = delete;
    virtual ~scheduler() = default;

    /// Queues `t` from any thread. `yield`: the task re-queues itself; it goes to the back
    /// of the queue and never to a LIFO slot.
    virtual void schedule(task_header* t, bool yield) noexcept = 0;

    [[nodiscard]] runtime_core& core() const noexcept { return core_; }

private:
    runtime_core& core_;
};

class blocking_pool;

/// Per-thread runtime context: which runtime (and scheduler) `tako::spawn` uses here.
struct thread_context {
    runtime_core* runtime = nullptr;
    scheduler* spawner = nullptr;
    /// True on threads that drive tasks (workers, current_thread block_on, blocking pool):
    /// block_on is refused there.
    bool is_runtime_thread = false;
};
extern constinit thread_local thread_context tls_thread;

/// The runtime's shared state; owned by `runtime`, its handles and its pool threads.
class runtime_core : public std::enable_shared_from_this<runtime_core> {
public:
    explicit runtime_core(runtime::builder::config cfg);
    ~runtime_core();

    /// Starts the scheduler's threads (after construction so shared_from_this works).
    void start();
    void shutdown(std::optional<std::chrono::nanoseconds> timeout) noexcept;

    const runtime::builder::config config;
    task_registry registry;
    /// What every scheduler of this runtime parks on: timers plus a futex parker.
    std::unique_ptr<time_driver> time;
    std::unique_ptr<scheduler> main;
    std::unique_ptr<blocking_pool> blocking;

    /// Submits `t` and runs it to completion for block_on (current_thread: drives the
    /// scheduler).
    void block_on(task_header* t);
    void report_unhandled(task_header* t, std::exception_ptr e) noexcept;

private:
    std::atomic<bool> shut_down_{false};
};

/// `what()` of the exception in `e`, or a fixed text for a non-standard one.
std::string describe_exception(const std::exception_ptr& e);

// Task state machine (task.cpp), used by every scheduler.

/// Runs one scheduling of `t`; the caller hands over the queue reference.
void run_task(task_header* t) noexcept;
/// The calling thread's worker index in a multi_thread runtime, or -1 (as size_t: so
/// `+ 1` maps non-workers to 0).
std::size_t current_worker_index() noexcept;
/// Shutdown: cancels `t` unless a thread is running it right now (a blocking task).
void cancel_for_shutdown(task_header* t) noexcept;
/// Queues a task for the first time (state NOTIFIED with its queue reference).
void submit_blocking(runtime_core& core, task_header* t) noexcept;

} // namespace tako::detail
