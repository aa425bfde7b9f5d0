#include "runtime/current_thread.hpp"

#include <stdexcept>

#include "runtime/fault_injection.hpp"

#include "tako/detail/task_cell.hpp"
#include "time/time_driver.hpp"

namespace tako::detail {

namespace {
constexpr std::uint32_t initial_budget = 128;
/// How far into the queue a shuffling scheduler looks for its next task.
constexpr std::uint64_t shuffle_window = 16;

/// The current_thread scheduler driven by this thread, if any.
constinit thread_local current_thread_scheduler* tls_driving = nullptr;
} // namespace

current_thread_scheduler::current_thread_scheduler(runtime_core& core)
    : scheduler(core), driver_(*core.time), event_interval_(core.config.event_interval),
      global_queue_interval_(
          core.config.global_queue_interval != 0 ? core.config.global_queue_interval : 31),
      rng_(core.config.shuffle_seed) {
    if (rng_ && *rng_ == 0) {
        rng_ = 0x9E3779B97F4A7C15ull; // xorshift needs a non-zero state
    }
}

void current_thread_scheduler::schedule(task_header* t, bool /*yield*/) noexcept {
    if (tls_driving == this) {
        local_.push_back(t);
        return;
    }
    inject_.push(t);
    fault::at(fault::point::pushed_from_outside);
    driver_.unpark();
}

task_header* current_thread_scheduler::next_task() {
    ++tick_;
    if (tick_ % global_queue_interval_ == 0) {
        if (task_header* t = inject_.pop()) {
            return t;
        }
    }
    if (local_.empty()) {
        inject_.pop_n(global_queue_interval_, [&](task_header* t) { local_.push_back(t); });
    }
    if (rng_ && local_.size() > 1) {
        std::uint64_t& x = *rng_;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        return local_.take_at(x % std::min<std::uint64_t>(local_.size(), shuffle_window));
    }
    return local_.pop_front();
}

bool current_thread_scheduler::try_drive(task_header* root) {
    std::unique_lock guard(core_lock_, std::try_to_lock);
    if (!guard.owns_lock()) {
        return false;
    }
    struct hand_back {
        std::unique_lock<std::mutex>& guard;
        runtime_core& core;
        ~hand_back() {
            guard.unlock();
            // A thread blocked in block_on while we drove may take over now (its task may
            // be queued with nobody left to run it).
            core.block_waiters.notify();
        }
    } on_exit{guard, core()};
    run_until(root);
    return true;
}

void* current_thread_scheduler::prepare_to_block() {
    if (tls_thread.is_runtime_thread) {
        throw std::logic_error("tako::block_in_place: can only block in place on a "
                               "multi_thread runtime; use spawn_blocking instead");
    }
    // A blocking-pool thread, or a plain thread inside runtime::enter(): blocking is fine.
    return nullptr;
}

void current_thread_scheduler::run_until(task_header* root) {
    const thread_context saved = tls_thread;
    tls_thread = {&core(), this, true, true};
    tls_driving = this;
    struct restore {
        thread_context saved;
        ~restore() {
            tls_thread = saved;
            tls_driving = nullptr;
        }
    } restore_on_exit{saved};

    const auto& cfg = core().config;
    while (!is_complete(root)) {
        bool idle = true;
        for (std::uint32_t i = 0; i < event_interval_ && !is_complete(root); ++i) {
            task_header* t = next_task();
            if (t == nullptr) {
                break;
            }
            idle = false;
            tls_poll.budget = initial_budget;
            run_task(t);
        }
        if (is_complete(root)) {
            break;
        }
        if (idle) {
            if (cfg.on_thread_park) {
                cfg.on_thread_park();
            }
            driver_.park(std::nullopt);
            if (cfg.on_thread_unpark) {
                cfg.on_thread_unpark();
            }
        } else {
            driver_.park(std::chrono::nanoseconds(0)); // poll the drivers
        }
    }
}

void current_thread_scheduler::drain() noexcept {
    std::lock_guard guard(core_lock_);
    while (task_header* t = local_.pop_front()) {
        run_task(t);
    }
    while (task_header* t = inject_.pop()) {
        run_task(t);
    }
}

} // namespace tako::detail
