#include "runtime/blocking_pool.hpp"

#include <cstdio>
#include <string>
#include <system_error>

#include "runtime/fault_injection.hpp"

#include "runtime/thread_util.hpp"
#include "time/time_driver.hpp"

namespace tako::detail {

blocking_pool::blocking_pool(runtime_core& core) : scheduler(core) {}

void blocking_pool::schedule(task_header* t, bool /*yield*/) noexcept {
    std::unique_lock guard(lock_);
    queue_.push_back(t);
    // Queued or running blocking work might still wake someone: a paused clock must not
    // jump meanwhile. Allowed again when the task has run (or failed unstarted).
    core().time->inhibit_auto_advance();
    if (idle_ > pending_notifies_) {
        ++pending_notifies_;
        work_cv_.notify_one();
        return;
    }
    if (shutdown_ || threads_ >= core().config.max_blocking_threads) {
        return; // a busy thread takes it when it is done
    }
    ++threads_;
    guard.unlock();
    try {
        // Pool threads keep the runtime's shared state alive: after a shutdown that timed
        // out they may still be running user code that spawns or wakes tasks.
        fault::at(fault::point::blocking_thread_start);
        auto keep = core().shared_from_this();
        start_thread(
            core().config, [this, keep = std::move(keep)] { run(); },
            /*run_stop_hook=*/false)
            .detach();
    } catch (const std::exception& e) {
        // Out of threads: queued tasks wait for a busy thread, if there is one; if there
        // is none, nothing would ever run them: they fail with the reason.
        task_queue stranded;
        {
            std::lock_guard relock(lock_);
            if (--threads_ == 0) {
                while (task_header* q = queue_.pop_front()) {
                    stranded.push_back(q);
                }
            }
        }
        if (stranded.empty()) {
            std::fprintf(stderr, "tako: blocking pool cannot start a thread: %s\n", e.what());
        }
        const auto error = std::make_exception_ptr(std::system_error(
            std::make_error_code(std::errc::resource_unavailable_try_again),
            std::string("tako::spawn_blocking: no thread can be started to run the task (") +
                e.what() + ")"));
        while (task_header* q = stranded.pop_front()) {
            fail_unstarted(q, error);
            core().time->allow_auto_advance();
        }
    }
}

void blocking_pool::run() noexcept {
    // Not a runtime thread: blocking here is the point, so block_on is allowed.
    tls_thread = {&core(), core().main.get(), false, true};
    const auto keep_alive = core().config.thread_keep_alive;
    std::unique_lock guard(lock_);
    for (;;) {
        if (task_header* t = queue_.pop_front()) {
            guard.unlock();
            tls_poll.budget = 128;
            run_task(t);
            core().time->allow_auto_advance();
            guard.lock();
            continue;
        }
        if (shutdown_) {
            break;
        }
        ++idle_;
        const bool woken = work_cv_.wait_for(guard, keep_alive,
                                             [&] { return pending_notifies_ > 0 || shutdown_; });
        --idle_;
        if (pending_notifies_ > 0) {
            --pending_notifies_;
        }
        if (!woken && queue_.empty()) {
            break; // idle for keep_alive: retire
        }
    }
    tls_thread = {};
    if (core().config.on_thread_stop) {
        // Before we count as exited: shutdown returns only after every stop hook ran.
        guard.unlock();
        core().config.on_thread_stop();
        guard.lock();
    }
    --threads_;
    exit_cv_.notify_all();
}

void blocking_pool::shutdown(std::optional<std::chrono::nanoseconds> timeout) noexcept {
    std::unique_lock guard(lock_);
    shutdown_ = true;
    work_cv_.notify_all();
    auto all_exited = [&] { return threads_ == 0; };
    if (timeout) {
        exit_cv_.wait_for(guard, *timeout, all_exited);
    } else {
        exit_cv_.wait(guard, all_exited);
    }
}

std::size_t blocking_pool::num_threads() noexcept {
    std::lock_guard guard(lock_);
    return threads_;
}

std::size_t blocking_pool::num_idle_threads() noexcept {
    std::lock_guard guard(lock_);
    return idle_;
}

} // namespace tako::detail
