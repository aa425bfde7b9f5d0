#pragma once
// The scheduler interface every queue owner implements (current_thread, multi_thread,
// blocking pool, local_set), and the runtime's shared state.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "runtime/driver.hpp"
#include "runtime/registry.hpp"
#include "tako/detail/task_header.hpp"
#include "tako/runtime.hpp"

namespace tako::detail {

class runtime_core;
class time_driver;
class io_driver;

/// Owns run queues. `schedule` receives a task that carries one queue reference.
///
/// Lifetime: a thread that wakes a task from outside the scheduler's own threads pins the
/// scheduler for the whole push (`pin` before, `unpin` after the last access), because once
/// the task is queued it may run, finish, and let the owner destroy the scheduler while
/// the waker is still inside `schedule`. The owner calls `wait_unpinned` before freeing.
class scheduler {
public:
    /// `only_thread`: set for a scheduler that is driven and destroyed on one thread only
    /// (a local_set); wakes from that thread need no pin.
    explicit scheduler(runtime_core& core, std::thread::id only_thread = {}) noexcept
        : core_(core), only_thread_(only_thread) {}
    scheduler(const scheduler&) = delete;
    scheduler& operator=(const scheduler&) = delete;
    virtual ~scheduler() = default;

    /// Queues `t` from any thread. `yield`: the task re-queues itself; it goes to the back
    /// of the queue and never to a LIFO slot.
    virtual void schedule(task_header* t, bool yield) noexcept = 0;

    // What the runtime asks of its main scheduler (docs/design-notes.md, *The scheduler
    // interface*). The defaults describe a scheduler with no threads of its own that is
    // never a runtime's main scheduler (the blocking pool, a local_set).

    /// Starts the threads that run this scheduler's tasks, if it has its own (the
    /// multi_thread workers). Throws std::system_error if one cannot start.
    virtual void start_threads() {}
    /// Shutdown step 2: stops and joins those threads; each finishes the poll it is in.
    virtual void stop_threads() noexcept {}
    /// Shutdown step 6, once every task is complete: releases the queue references still
    /// queued.
    virtual void drain() noexcept {}

    /// How many threads run this scheduler's tasks at once (`runtime_metrics::num_workers`).
    [[nodiscard]] virtual std::size_t num_workers() const noexcept { return 0; }
    /// Tasks queued from other threads and not yet taken by a worker
    /// (`runtime_metrics::global_queue_depth`).
    [[nodiscard]] virtual std::size_t global_queue_depth() const noexcept { return 0; }

    /// True if this scheduler's tasks run only on a thread inside `block_on`, which drives
    /// it (current_thread): block_on then calls `try_drive` instead of waiting for workers.
    [[nodiscard]] virtual bool driven_by_block_on() const noexcept { return false; }
    /// Runs this scheduler's tasks on the calling thread until `root` completes, and returns
    /// true; returns false at once, having run nothing, while another thread drives it (or
    /// if it is not `driven_by_block_on`). When it stops driving it notifies the runtime's
    /// `block_waiters`, so a thread waiting for its turn takes over.
    virtual bool try_drive(task_header* /*root*/) { return false; }

    /// `block_in_place`: the calling thread, which may be running one of this scheduler's
    /// tasks, is about to block. A scheduler whose other tasks would stall meanwhile hands
    /// the thread's work to a new thread (multi_thread), or throws std::logic_error when it
    /// cannot (current_thread, on the thread driving it). Default: blocking is fine.
    /// Returns a token for `finish_blocking` (null: nothing to give back).
    virtual void* prepare_to_block() { return nullptr; }
    /// The blocking section that `prepare_to_block` returned `token` for has ended: the
    /// scheduler may give the thread its work back if nobody has taken it over yet.
    virtual void finish_blocking(void* /*token*/) noexcept {}

    [[nodiscard]] runtime_core& core() const noexcept { return core_; }

    /// True unless the calling thread is one the scheduler's owner joins (or is) before it
    /// destroys the scheduler: its workers, its block_on thread, the local_set's thread.
    [[nodiscard]] bool needs_pin() const noexcept;
    void pin() noexcept {
        // relaxed: the pin is sequenced before the push, which happens-before the task's
        // completion, which the owner observes before wait_unpinned.
        pins_.fetch_add(1, std::memory_order_relaxed);
    }
    void unpin() noexcept { pins_.fetch_sub(1, std::memory_order_release); }
    /// Waits until no waker is inside `schedule`. Call it once no task of this scheduler
    /// can be woken any more (all are complete), before destroying it.
    void wait_unpinned() const noexcept {
        // acquire: the waker's last access to the scheduler happens before we free it.
        while (pins_.load(std::memory_order_acquire) != 0) {
            std::this_thread::yield();
        }
    }

private:
    runtime_core& core_;
    const std::thread::id only_thread_;
    std::atomic<std::uint32_t> pins_{0};
};

class blocking_pool;

/// Per-thread runtime context: which runtime (and scheduler) `tako::spawn` uses here.
struct thread_context {
    runtime_core* runtime = nullptr;
    scheduler* spawner = nullptr;
    /// True on threads that drive tasks (workers, current_thread block_on): block_on is
    /// refused there.
    bool is_runtime_thread = false;
    /// True on threads the runtime waits for when it shuts down (workers, its block_on
    /// thread, blocking-pool threads): the runtime cannot be destroyed from them.
    bool owned_by_runtime = false;
};
extern constinit thread_local thread_context tls_thread;

/// Where threads blocked in `runtime_core::block_on` sleep until their task completes. One
/// futex word per runtime, bumped by every event that can end such a wait: a watched task
/// completed (its block_on watcher ended), the thread driving a current_thread scheduler
/// stopped driving it, shutdown cancelled every task. A woken thread re-checks its own
/// condition; nobody polls, and `notify` costs no syscall while nobody waits.
class block_on_waiters {
public:
    /// Blocks until `done()` returns true; `done` is evaluated again after each `notify`.
    template <class Done>
    void wait_until(Done done) noexcept(noexcept(done())) {
        // seq_cst here and in notify: either `notify` sees us counted and wakes the futex,
        // or we read its new epoch, which makes the event `done` checks for visible.
        waiting_.fetch_add(1, std::memory_order_seq_cst);
        struct uncount {
            std::atomic<std::uint32_t>& n;
            ~uncount() { n.fetch_sub(1, std::memory_order_relaxed); }
        } uncount_on_exit{waiting_};
        for (;;) {
            const std::uint32_t seen = epoch_.load(std::memory_order_seq_cst);
            if (done()) {
                return;
            }
            futex_wait(epoch_, seen, std::nullopt);
        }
    }
    /// Call after making a waiter's condition true; the caller may touch nothing that
    /// belongs to the waiter afterwards (it may have returned already).
    void notify() noexcept {
        epoch_.fetch_add(1, std::memory_order_seq_cst);
        if (waiting_.load(std::memory_order_seq_cst) != 0) {
            futex_wake(epoch_, std::numeric_limits<int>::max());
        }
    }

private:
    std::atomic<std::uint32_t> epoch_{0};
    std::atomic<std::uint32_t> waiting_{0};
};

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
    /// The I/O driver (null when I/O is off). Shared: every io_source keeps it alive.
    std::shared_ptr<io_driver> io;
    /// The top of the driver stack every scheduler of this runtime parks on.
    std::unique_ptr<time_driver> time;
    /// Where threads blocked in `block_on` wait for their task (block_on.cpp).
    block_on_waiters block_waiters;
    std::unique_ptr<scheduler> main;
    std::unique_ptr<blocking_pool> blocking;

    /// Submits `t` and returns once it completed (block_on.cpp): drives the scheduler when
    /// it is `driven_by_block_on` and free, else waits on `block_waiters`.
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
/// Completes a queued task that never ran with `e` as its failure (its join_handle reports
/// it): for work that can never run, e.g. no thread can be started for it. The caller
/// hands over the queue reference.
void fail_unstarted(task_header* t, std::exception_ptr e) noexcept;
/// Queues a task for the first time (state NOTIFIED with its queue reference).
void submit_blocking(runtime_core& core, task_header* t) noexcept;

} // namespace tako::detail
