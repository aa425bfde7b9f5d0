// runtime_core, the runtime's shared state: composing the driver stack and the scheduler,
// starting it, shutting it down (docs/execution-model.md, *Shutdown, in order*), and
// reporting exceptions nobody observes.

#include <cstdio>
#include <string>
#include <thread>

#include "io/io_driver.hpp"
#include "runtime/blocking_pool.hpp"
#include "runtime/current_thread.hpp"
#include "runtime/driver.hpp"
#include "runtime/fault_injection.hpp"
#include "runtime/multi_thread.hpp"
#include "runtime/scheduler.hpp"
#include "time/time_driver.hpp"

namespace tako::detail {

constinit thread_local thread_context tls_thread{};

#if defined(TAKO_FAULT_INJECTION)
std::atomic<fault::hook_fn> fault::hook{nullptr};
#endif

namespace {

std::size_t resolve_workers(const runtime::builder::config& cfg) {
    if (cfg.flavor == runtime_flavor::current_thread) {
        return 1;
    }
    if (cfg.worker_threads != 0) {
        return cfg.worker_threads;
    }
    const unsigned n = std::thread::hardware_concurrency();
    return n == 0 ? 1 : n;
}

} // namespace

std::string describe_exception(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        return ex.what();
    } catch (...) {
        return "a non-standard exception (not derived from std::exception)";
    }
}

runtime_core::runtime_core(runtime::builder::config cfg)
    : config(std::move(cfg)), registry(resolve_workers(config) * 4) {
    blocking = std::make_unique<blocking_pool>(*this);
    // The driver stack, composed here only: time → I/O (or a thread parker) .
    std::shared_ptr<driver> bottom;
    if (config.enable_io) {
        io = std::make_shared<io_driver>();
        bottom = io;
    } else {
        bottom = std::make_shared<thread_parker>();
    }
    // One timer shard per worker, plus shard 0 for every other thread.
    const std::size_t shards =
        config.flavor == runtime_flavor::multi_thread ? resolve_workers(config) + 1 : 1;
    time = std::make_unique<time_driver>(std::move(bottom), config.start_paused, shards,
                                         []() noexcept { return current_worker_index() + 1; });
    if (config.flavor == runtime_flavor::current_thread) {
        main = std::make_unique<current_thread_scheduler>(*this);
    } else {
        main = std::make_unique<multi_thread_scheduler>(*this, resolve_workers(config));
    }
}

runtime_core::~runtime_core() {
    // Blocking threads left behind by a timed-out shutdown may have queued wake-ups.
    shutdown(std::nullopt);
}

void runtime_core::start() {
    main->start_threads();
}

void runtime_core::shutdown(std::optional<std::chrono::nanoseconds> timeout) noexcept {
    const bool first = !shut_down_.exchange(true);
    if (first) {
        registry.close();
        main->stop_threads();
    }
    // The workers are gone: this thread destroys every task's frames. A destructor may
    // wake or spawn; spawns are refused (registry closed), wakes are drained below.
    const thread_context saved = tls_thread;
    tls_thread = {this, main.get(), true, false};
    while (task_header* t = registry.pop_any()) {
        fault::at(fault::point::shutdown_popped_task);
        cancel_for_shutdown(t);
        t->ref_dec(); // pop_any's reference: a pool thread may have finished it meanwhile
    }
    // A thread in block_on whose watcher was cancelled before its task sees the task
    // complete now.
    block_waiters.notify();
    if (first) {
        blocking->shutdown(timeout);
        // Resources that outlive their tasks (a socket kept outside the runtime) now fail
        // their operations with runtime_shut_down instead of waiting forever.
        time->shutdown();
    }
    // Every task is complete, so no new wake can start a push; wait for the pushes in
    // flight (their scheduler must outlive them), then drain what they queued.
    main->wait_unpinned();
    blocking->wait_unpinned();
    main->drain();
    tls_thread = saved;
}

void runtime_core::report_unhandled(task_header* t, std::exception_ptr e) noexcept {
    const task_info info{task_id{t->id}, t->name, t->location};
    if (config.on_unhandled_exception) {
        try {
            config.on_unhandled_exception(info, e);
        } catch (...) {
            std::fputs("tako: the unhandled-exception hook threw\n", stderr);
        }
        return;
    }
    const std::string what = describe_exception(e);
    std::fprintf(stderr, "tako: task %llu%s%s%s spawned at %s:%u threw: %s\n",
                 static_cast<unsigned long long>(t->id), t->name ? " '" : "",
                 t->name ? t->name : "", t->name ? "'" : "", info.location.file_name(),
                 static_cast<unsigned>(info.location.line()), what.c_str());
}

void submit_blocking(runtime_core& core, task_header* t) noexcept {
    submit_new_task(*core.blocking, t);
}

} // namespace tako::detail
