#pragma once
// The work-stealing scheduler (docs/concepts.md, *Schedulers*).

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "runtime/driver.hpp"
#include "runtime/idle.hpp"
#include "runtime/inject_queue.hpp"
#include "runtime/local_queue.hpp"
#include "runtime/scheduler.hpp"
#include "runtime/thread_util.hpp"

namespace tako::detail {

class multi_thread_scheduler final : public scheduler {
public:
    multi_thread_scheduler(runtime_core& core, std::size_t workers);
    ~multi_thread_scheduler() override;

    void schedule(task_header* t, bool yield) noexcept override;

    /// Starts the worker threads. Throws std::system_error if one can't start.
    void start_threads() override;
    /// Stops and joins every worker thread (their current task runs to its suspension).
    void stop_threads() noexcept override;
    /// After stop_threads(): releases every queued task (all of them are complete by then).
    void drain() noexcept override;

    /// On one of this scheduler's workers: hands its queues to a new thread, so the caller
    /// may block. Throws std::system_error (and the caller stays the worker) if no thread
    /// can start. Elsewhere (a blocking-pool thread, a plain thread): nothing to do.
    void* prepare_to_block() override;
    /// Takes the worker back if the thread it was offered to has not claimed it yet.
    void finish_blocking(void* token) noexcept override;

    [[nodiscard]] std::size_t num_workers() const noexcept override { return workers_.size(); }
    [[nodiscard]] std::size_t global_queue_depth() const noexcept override {
        return inject_.len();
    }

private:
    struct worker;

    /// Runs `w` until stopping (false) or until block_in_place hands it over (true).
    bool run(worker& w);
    void run_one(worker& w, task_header* t);
    task_header* next_task(worker& w);
    task_header* steal_work(worker& w);
    void park(worker& w);
    void park_timeout(worker& w, std::optional<std::chrono::nanoseconds> timeout);
    void push_local(worker& w, task_header* t);
    void notify_parked() noexcept;
    /// After queueing work on the calling worker's own queue.
    void notify_parked_local() noexcept;
    void unpark(std::size_t index) noexcept;
    bool has_work_anywhere() const noexcept;
    /// Runs `w` on a spare or a new thread. `offered`: `w` was offered by block_in_place
    /// and the thread must claim it first (its old thread may take it back).
    void launch(worker& w, bool offered);
    /// Claims an offered worker; false if block_in_place already took it back.
    static bool claim(worker& w) noexcept;

    std::vector<std::unique_ptr<worker>> workers_;
    inject_queue inject_;
    idle idle_;
    std::atomic<bool> stopping_{false};
    /// The runtime's driver (timers; I/O later), parked on by at most one worker at a
    /// time; the others park on their own futex.
    driver& driver_;
    std::atomic<bool> driver_taken_{false};
    std::uint32_t event_interval_;
    std::uint32_t global_queue_interval_;
    /// One OS thread that runs (or ran) a worker. A thread that handed its worker over in
    /// block_in_place marks itself exited when it leaves `run`; the next launch joins it.
    /// (The flag is shared: stop_threads() may drop the entry while the thread is still
    /// exiting.)
    struct worker_thread {
        os_thread thread;
        std::shared_ptr<std::atomic<bool>> exited = std::make_shared<std::atomic<bool>>(false);
    };
    /// Joins the threads that have given up their worker. Under threads_lock_.
    void reap_exited_threads() noexcept;

    /// A thread that gave its worker away in block_in_place and finished the task that
    /// blocked: it waits (up to `thread_keep_alive`) to adopt the worker of the next
    /// block_in_place, so a run of them starts no thread after the first.
    struct spare {
        std::condition_variable wake;
        worker* assigned = nullptr;
    };
    /// Runs the workers handed to this thread: `first`, then, whenever block_in_place takes
    /// the current one away, those it adopts as a spare.
    void thread_main(worker* first, bool offered);
    /// Waits as a spare; the worker to run next, or null (keep-alive over, or stopping).
    worker* wait_as_spare();

    std::mutex threads_lock_;
    std::list<worker_thread> threads_;
    std::vector<spare*> spares_; ///< under threads_lock_
};

} // namespace tako::detail
