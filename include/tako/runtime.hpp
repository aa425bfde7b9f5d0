#pragma once
/// \file
/// `tako::runtime`, its builder and `tako::runtime_handle`.
///
/// A runtime owns a scheduler (multi_thread: work-stealing workers; current_thread: the
/// thread that calls `block_on`), a blocking pool, and a registry of live tasks.
///
/// ```cpp
/// tako::runtime rt = tako::runtime::builder::multi_thread().worker_threads(4).build();
/// int v = rt.block_on([]() -> tako::task<int> { co_return 7; });
/// ```
///
/// Destroying a runtime cancels every task (their frames are destroyed, destructors run)
/// and waits for running blocking work (see `shutdown_timeout`).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "tako/detail/task_cell.hpp"
#include "tako/join_handle.hpp"

namespace tako {

namespace detail {
class runtime_core;
}

enum class runtime_flavor { current_thread, multi_thread };

/// Called when an exception escapes a task whose join_handle was dropped.
using unhandled_exception_hook = std::function<void(const task_info&, std::exception_ptr)>;

/// Counters read from a live runtime (`tokio::runtime::RuntimeMetrics`).
struct runtime_metrics {
    std::size_t num_workers = 0;
    std::size_t num_alive_tasks = 0;
    std::size_t global_queue_depth = 0;
    std::size_t num_blocking_threads = 0;
    std::size_t num_idle_blocking_threads = 0;
    std::uint64_t spawned_tasks_count = 0; ///< tasks registered since the runtime started
};

/// A cloneable, thread-safe reference to a runtime (`tokio::runtime::Handle`). It keeps the
/// runtime's shared state alive; spawning after the runtime shut down gives a task that is
/// already cancelled.
class runtime_handle {
public:
    /// The runtime of the calling thread. Throws `std::runtime_error` outside a runtime.
    static runtime_handle current();
    /// The runtime of the calling thread, if any.
    static std::optional<runtime_handle> try_current() noexcept;

    /// Spawns onto this runtime from any thread.
    template <detail::spawnable X>
    join_handle<detail::spawn_result_t<X>>
    spawn(X&& work, std::source_location loc = std::source_location::current()) const {
        auto* cell = detail::make_cell(std::forward<X>(work), nullptr, loc);
        submit(cell);
        return join_handle<detail::spawn_result_t<X>>(cell);
    }

    /// Runs `f` on the blocking pool; see `tako::spawn_blocking`.
    template <class F>
    auto spawn_blocking(F&& f, std::source_location loc = std::source_location::current()) const
        -> join_handle<std::invoke_result_t<std::decay_t<F>&>>;

    /// Runs `work` to completion on this runtime, blocking the calling thread, which must
    /// not be one of a runtime's threads (throws `std::runtime_error` if it is). Rethrows
    /// the task's exception; throws `std::runtime_error` if the runtime shut down first.
    template <detail::spawnable X>
    detail::spawn_result_t<X> block_on(X&& work) const;

    [[nodiscard]] runtime_flavor flavor() const noexcept;
    [[nodiscard]] runtime_metrics metrics() const;

    explicit runtime_handle(std::shared_ptr<detail::runtime_core> core) noexcept
        : core_(std::move(core)) {}
    [[nodiscard]] detail::runtime_core& core() const noexcept { return *core_; }

private:
    void submit(detail::task_header* t) const noexcept;
    void submit_blocking(detail::task_header* t) const noexcept;

    std::shared_ptr<detail::runtime_core> core_;
};

/// Makes `handle`'s runtime the current one for this thread while it lives
/// (`Runtime::enter`), so `tako::spawn` works from a plain thread.
class enter_guard {
public:
    explicit enter_guard(const runtime_handle& handle);
    enter_guard(const enter_guard&) = delete;
    enter_guard& operator=(const enter_guard&) = delete;
    ~enter_guard();

private:
    /// Kept alive while entered: `tako::spawn` after the runtime was destroyed then gives
    /// a handle that reports cancellation, as on any shut-down runtime.
    std::shared_ptr<detail::runtime_core> core_;
    detail::runtime_core* previous_;
};

class runtime {
public:
    class builder;

    /// A multi_thread runtime with the default settings (`tokio::runtime::Runtime::new`).
    runtime();
    runtime(runtime&&) noexcept;
    runtime& operator=(runtime&&) noexcept;
    /// Shuts down: cancels all tasks and waits for running blocking work. Destroying a
    /// runtime from one of its own threads (inside its tasks, its block_on, or its blocking
    /// pool) cannot work, since shutdown waits for those threads: the process is aborted
    /// with a message saying so.
    ~runtime();

    /// See `runtime_handle::block_on`. On a current_thread runtime the calling thread
    /// runs the scheduler until `work` completes; other tasks run meanwhile.
    template <detail::spawnable X>
    detail::spawn_result_t<X> block_on(X&& work) {
        return handle().block_on(std::forward<X>(work));
    }
    template <detail::spawnable X>
    join_handle<detail::spawn_result_t<X>>
    spawn(X&& work, std::source_location loc = std::source_location::current()) {
        return handle().spawn(std::forward<X>(work), loc);
    }
    template <class F>
    auto spawn_blocking(F&& f, std::source_location loc = std::source_location::current()) {
        return handle().spawn_blocking(std::forward<F>(f), loc);
    }

    [[nodiscard]] runtime_handle handle() const noexcept { return runtime_handle(core_); }
    [[nodiscard]] enter_guard enter() const { return enter_guard(handle()); }
    [[nodiscard]] runtime_flavor flavor() const noexcept { return handle().flavor(); }
    [[nodiscard]] runtime_metrics metrics() const { return handle().metrics(); }

    /// Cancels all tasks, then waits at most `timeout` for running blocking work; threads
    /// still busy after that are left to finish on their own. Throws `std::logic_error`
    /// when called from one of the runtime's own threads (the runtime is left running).
    void shutdown_timeout(std::chrono::nanoseconds timeout) &&;
    /// `shutdown_timeout(0)`: never waits for blocking work.
    void shutdown_background() &&;

private:
    friend class builder;
    explicit runtime(std::shared_ptr<detail::runtime_core> core) noexcept
        : core_(std::move(core)) {}
    void shutdown(std::optional<std::chrono::nanoseconds> timeout) noexcept;
    /// True on a thread the runtime waits for at shutdown (see ~runtime).
    [[nodiscard]] bool on_own_thread() const noexcept;
    /// The destructor's shutdown: aborts with a message on one of the runtime's own threads.
    void shutdown_or_abort() noexcept;

    std::shared_ptr<detail::runtime_core> core_;
};

/// Configures a runtime (`tokio::runtime::Builder`). Defaults follow Tokio's.
class runtime::builder {
public:
    /// Work-stealing scheduler; workers default to the hardware's concurrency.
    static builder multi_thread();
    /// Everything runs on the thread that calls `block_on`.
    static builder current_thread();

    builder& worker_threads(std::size_t n);
    builder& thread_name(std::string name);
    builder& thread_stack_size(std::size_t bytes);
    builder& on_thread_start(std::function<void()> f);
    builder& on_thread_stop(std::function<void()> f);
    builder& on_thread_park(std::function<void()> f);
    builder& on_thread_unpark(std::function<void()> f);
    /// Scheduler ticks between polls of the drivers (default 61).
    builder& event_interval(std::uint32_t ticks);
    /// Ticks between checks of the global queue before the local one (default 31 on
    /// current_thread, 61 on multi_thread).
    builder& global_queue_interval(std::uint32_t ticks);
    builder& max_blocking_threads(std::size_t n);
    builder& thread_keep_alive(std::chrono::nanoseconds d);
    /// Where exceptions escaping detached tasks go (default: printed to stderr).
    builder& on_unhandled_exception(unhandled_exception_hook hook);
    /// current_thread only: pick the next task pseudo-randomly from the run queue, seeded,
    /// so one seed replays one interleaving (a test mode).
    builder& shuffle_seed(std::uint64_t seed);
    /// current_thread only: start with the clock paused (`tako::time::pause`), so timers in
    /// tests complete as soon as every task is idle, without really sleeping.
    builder& start_paused(bool paused);
    /// Enables the I/O driver (epoll): sockets, `io::async_fd`. Without it, creating one
    /// fails with `tako::io::errc::io_disabled`. `runtime()`, `TAKO_MAIN` and `TAKO_TEST`
    /// enable it; a builder does not, as Tokio's.
    builder& enable_io() noexcept {
        config_.enable_io = true;
        return *this;
    }
    /// The time driver is always on (kept for Tokio users' muscle memory).
    builder& enable_time() noexcept { return *this; }
    /// Enables every driver (`enable_io()` and `enable_time()`).
    builder& enable_all() noexcept { return enable_io().enable_time(); }

    /// Builds the runtime; worker threads start at once. Throws `std::invalid_argument`
    /// for a zero worker count or interval, `std::system_error` if threads can't start.
    [[nodiscard]] runtime build();

    struct config {
        runtime_flavor flavor = runtime_flavor::multi_thread;
        std::size_t worker_threads = 0; // 0: hardware concurrency
        std::string thread_name = "tako-worker";
        std::size_t thread_stack_size = 0; // 0: 2 MiB
        std::function<void()> on_thread_start, on_thread_stop, on_thread_park, on_thread_unpark;
        std::uint32_t event_interval = 61;
        std::uint32_t global_queue_interval = 0; // 0: flavor default
        std::size_t max_blocking_threads = 512;
        std::chrono::nanoseconds thread_keep_alive = std::chrono::seconds(10);
        unhandled_exception_hook on_unhandled_exception;
        std::optional<std::uint64_t> shuffle_seed;
        bool start_paused = false;
        bool enable_io = false;
    };

private:
    config config_;
};

namespace detail {
/// Runs `t` (a cell built by make_cell) on `core` and blocks until it completes; returns
/// the finished header with a join reference held by the caller.
task_header* block_on_cell(runtime_core& core, task_header* t);
/// Throws if the calling thread belongs to a runtime (block_on inside a runtime).
void check_can_block(const char* what);
} // namespace detail

template <class F>
auto runtime_handle::spawn_blocking(F&& f, std::source_location loc) const
    -> join_handle<std::invoke_result_t<std::decay_t<F>&>> {
    using R = std::invoke_result_t<std::decay_t<F>&>;
    // The cell owns this lambda, so the frame's reference to `fn` stays valid.
    auto body = [fn = std::forward<F>(f)]() mutable -> task<R> { co_return fn(); };
    auto* cell = detail::make_cell(std::move(body), nullptr, loc);
    submit_blocking(cell);
    return join_handle<R>(cell);
}

template <detail::spawnable X>
detail::spawn_result_t<X> runtime_handle::block_on(X&& work) const {
    detail::check_can_block("block_on");
    auto* cell =
        detail::make_cell(std::forward<X>(work), "block_on", std::source_location::current());
    join_handle<detail::spawn_result_t<X>> h(detail::block_on_cell(*core_, cell));
    auto result = h.take_result();
    if (!result) {
        if (result.error().is_panic()) {
            std::rethrow_exception(result.error().exception());
        }
        throw std::runtime_error("tako::block_on: the runtime shut down before the task "
                                 "finished");
    }
    if constexpr (!std::is_void_v<detail::spawn_result_t<X>>) {
        return std::move(*result);
    }
}

} // namespace tako
