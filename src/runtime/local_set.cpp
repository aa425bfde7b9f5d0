// local_set: a scheduler whose tasks run only inside run_until, on the set's thread.

#include "tako/local_set.hpp"

#include <algorithm>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "runtime/fault_injection.hpp"
#include "runtime/inject_queue.hpp"
#include "runtime/scheduler.hpp"
#include "runtime/task_queue.hpp"
#include "tako/yield.hpp"

namespace tako::detail {

namespace {
constinit thread_local local_scheduler* tls_local = nullptr;
/// Local tasks run per turn of the driver before it lets the runtime run others.
constexpr int tasks_per_turn = 61;
} // namespace

class local_scheduler final : public scheduler {
public:
    explicit local_scheduler(runtime_core& core)
        : scheduler(core, std::this_thread::get_id()), owner_(std::this_thread::get_id()) {}

    void schedule(task_header* t, bool /*yield*/) noexcept override {
        if (std::this_thread::get_id() == owner_) {
            local_.push_back(t); // only the owner thread touches local_
        } else {
            remote_.push(t);
            fault::at(fault::point::pushed_from_outside);
        }
        if (tls_local != this) {
            wake_driver();
        }
    }

    void track(task_header* t) {
        // Forget finished tasks now and then, so the list stays proportional to live ones.
        if (tracked_.size() >= 64 && tracked_.size() >= 2 * live_hint_) {
            std::erase_if(tracked_, [](const abort_handle& h) { return h.is_finished(); });
            live_hint_ = tracked_.size();
        }
        tracked_.emplace_back(t);
    }

    /// Runs up to one turn of local tasks; true if any ran.
    bool run_turn() {
        local_scheduler* const outer = tls_local;
        tls_local = this;
        bool ran = false;
        for (int i = 0; i < tasks_per_turn; ++i) {
            task_header* t = local_.pop_front();
            if (t == nullptr) {
                t = remote_.pop();
            }
            if (t == nullptr) {
                break;
            }
            ran = true;
            tls_poll.budget = 128;
            run_task(t);
        }
        tls_local = outer;
        return ran;
    }

    [[nodiscard]] bool has_work() const noexcept { return !local_.empty() || !remote_.empty(); }

    /// Links the driver's waker unless work is already queued.
    bool park_driver(waker w) {
        std::lock_guard guard(lock_);
        if (has_work()) {
            return false;
        }
        driver_ = w;
        return true;
    }
    void unpark_driver() {
        std::lock_guard guard(lock_);
        driver_ = {};
    }

    /// Cancels every local task and returns once nothing can reach the set any more: each
    /// task is complete and no other thread is still pushing one into `remote_`.
    void cancel_all() noexcept {
        for (auto& h : tracked_) {
            h.abort();
        }
        for (;;) {
            while (has_work()) {
                run_turn(); // aborted tasks are destroyed as they come up
            }
            if (std::all_of(tracked_.begin(), tracked_.end(),
                            [](const abort_handle& h) { return h.is_finished(); })) {
                break;
            }
            // A plain thread's wake is between marking a task and queueing it here.
            std::this_thread::yield();
        }
        tracked_.clear();
        wait_unpinned();
        while (has_work()) {
            run_turn(); // releases the queue references of late pushes
        }
    }

    [[nodiscard]] std::thread::id owner() const noexcept { return owner_; }

    /// Drives the set on the calling thread, which is no runtime worker, until `root`
    /// completes: runs turns while there is work, sleeps on a futex otherwise.
    void drive_on_thread(task_header* root) {
        while (!is_complete(root)) {
            if (run_turn()) {
                continue;
            }
            // Read the wake count before the last look for work: a wake after that look
            // changes the count, and futex_wait then returns at once.
            const std::uint32_t seen = thread_wakes_.load(std::memory_order_seq_cst);
            thread_waiting_.store(true, std::memory_order_seq_cst);
            if (!has_work() && !is_complete(root)) {
                futex_wait(thread_wakes_, seen, std::nullopt);
            }
            thread_waiting_.store(false, std::memory_order_relaxed);
        }
    }

private:
    void wake_driver() noexcept {
        task_ref r;
        {
            std::lock_guard guard(lock_);
            if (driver_) {
                r = driver_.fire();
                driver_ = {};
            }
        }
        std::move(r).wake();
        // seq_cst: ordered after the push and before the read of thread_waiting_ (see
        // drive_on_thread). A thread driver that has not yet looked sees the work.
        thread_wakes_.fetch_add(1, std::memory_order_seq_cst);
        if (thread_waiting_.load(std::memory_order_seq_cst)) {
            futex_wake(thread_wakes_, 1);
        }
    }

    const std::thread::id owner_;
    task_queue local_;
    inject_queue remote_;
    spin_lock lock_;
    waker driver_; ///< the task inside run_until, when it waits; guarded by lock_
    std::atomic<std::uint32_t> thread_wakes_{0}; ///< futex word of a thread in block_on
    std::atomic<bool> thread_waiting_{false};
    std::vector<abort_handle> tracked_;
    std::size_t live_hint_ = 0;
};

local_scheduler* current_local_set() noexcept {
    return tls_local;
}
scheduler& as_scheduler(local_scheduler& s) noexcept {
    return s;
}
void track_local(local_scheduler& s, task_header* t) {
    s.track(t);
}

namespace {
/// Suspends the driver until a local task is scheduled.
struct wait_for_local_work {
    local_scheduler& s;
    wake_gate gate{};
    bool linked = false;
    ~wait_for_local_work() {
        if (linked) {
            s.unpark_driver();
        }
    }
    bool await_ready() const noexcept { return s.has_work(); }
    bool await_suspend(std::coroutine_handle<> h) {
        linked = s.park_driver(record_suspension(h, gate));
        return linked;
    }
    void await_resume() noexcept { linked = false; }
};
} // namespace

task<void> drive_local_set(local_scheduler& s, task_header* root) {
    if (std::this_thread::get_id() != s.owner()) {
        throw std::logic_error("tako::local_set::run_until: must run on the thread that "
                               "created the set");
    }
    if (tls_thread.is_runtime_thread && tls_thread.runtime != nullptr &&
        tls_thread.runtime->config.flavor == runtime_flavor::multi_thread) {
        throw std::logic_error("tako::local_set::run_until: needs a current_thread runtime "
                               "(a multi_thread worker could move the set to another thread)");
    }
    while (!is_complete(root)) {
        if (s.run_turn()) {
            if (!is_complete(root)) {
                co_await yield_now(); // let the runtime's other tasks run
            }
            continue;
        }
        co_await wait_for_local_work{s};
    }
}

void check_local_block_on(const local_scheduler& s) {
    if (std::this_thread::get_id() != s.owner()) {
        throw std::logic_error("tako::local_set::block_on: must run on the thread that "
                               "created the set");
    }
    if (tls_thread.is_runtime_thread) {
        throw std::logic_error("tako::local_set::block_on: cannot block a runtime thread; "
                               "await run_until instead");
    }
}

void drive_local_set_on_thread(local_scheduler& s, task_header* root) {
    s.drive_on_thread(root);
}

std::unique_ptr<local_scheduler, void (*)(local_scheduler*)> make_local_scheduler() {
    runtime_core* core = tls_thread.runtime;
    if (core == nullptr) {
        throw std::runtime_error("tako::local_set: create it on a tako runtime thread");
    }
    return {new local_scheduler(*core), [](local_scheduler* s) {
                s->cancel_all();
                delete s;
            }};
}

} // namespace tako::detail

namespace tako {
local_set::local_set() : impl_(detail::make_local_scheduler()) {}
local_set::~local_set() = default;
} // namespace tako
