#include "runtime/multi_thread.hpp"

#include <pthread.h>

#include <algorithm>
#include <system_error>

#include "runtime/fault_injection.hpp"
#include "runtime/thread_util.hpp"
#include "time/time_driver.hpp"

namespace tako::detail {

namespace {

/// Cooperative budget per scheduling (Tokio's value; docs/concepts.md).
constexpr std::uint32_t initial_budget = 128;
/// LIFO-slot tasks run in a row after the current one, before the slot is bypassed.
constexpr int max_lifo_polls = 3;

enum : std::uint32_t { park_empty = 0, park_futex = 1, park_driver = 2, park_notified = 3 };

} // namespace

struct multi_thread_scheduler::worker {
    std::size_t index = 0;
    local_queue queue;
    task_header* lifo = nullptr; ///< owner only
    /// Ticks left until the next driver poll / global-queue-first pick (countdowns, not
    /// `tick % interval`: a division per task shows in spawn-heavy profiles).
    std::uint32_t until_event = 0;
    std::uint32_t until_global = 0;
    bool searching = false;
    std::uint64_t rng = 0;
    std::atomic<std::uint32_t> park_state{park_empty};
    /// Set while block_in_place offers this worker to another thread: whichever of that
    /// thread (claim) and the blocked one (finish_blocking) clears it owns the worker.
    std::atomic<bool> offered{false};
    /// The spare woken to adopt this worker and not yet awake; under threads_lock_.
    spare* adopter = nullptr;

    std::uint32_t next_random(std::uint32_t n) noexcept {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        return static_cast<std::uint32_t>(rng % n);
    }
};

/// The worker whose queues the calling thread owns (null when it owns none).
struct worker_context {
    multi_thread_scheduler* sched = nullptr;
    void* w = nullptr;
    std::size_t index = 0;
};
constinit thread_local worker_context tls_worker{};

std::size_t current_worker_index() noexcept {
    return tls_worker.w != nullptr ? tls_worker.index : static_cast<std::size_t>(-1);
}

multi_thread_scheduler::multi_thread_scheduler(runtime_core& core, std::size_t workers)
    : scheduler(core), idle_(workers), driver_(*core.time),
      event_interval_(core.config.event_interval),
      global_queue_interval_(
          core.config.global_queue_interval != 0 ? core.config.global_queue_interval : 61) {
    workers_.reserve(workers);
    for (std::size_t i = 0; i < workers; ++i) {
        auto w = std::make_unique<worker>();
        w->index = i;
        w->rng = 0x9E3779B97F4A7C15ull * (i + 1);
        w->until_event = event_interval_;
        w->until_global = global_queue_interval_;
        workers_.push_back(std::move(w));
    }
}

multi_thread_scheduler::~multi_thread_scheduler() {
    stop_threads();
}

void multi_thread_scheduler::launch(worker& w, bool offered) {
    std::lock_guard guard(threads_lock_);
    reap_exited_threads();
    if (!spares_.empty()) {
        spare* s = spares_.back();
        spares_.pop_back();
        s->assigned = &w;
        w.adopter = s;
        s->wake.notify_one();
        return;
    }
    worker_thread& slot = threads_.emplace_back();
    try {
        slot.thread = start_thread(core().config, [this, &w, offered, exited = slot.exited] {
            thread_main(&w, offered);
            // relaxed is enough: join() is what synchronizes with the thread's end.
            exited->store(true, std::memory_order_relaxed);
        });
    } catch (...) {
        threads_.pop_back();
        throw;
    }
}

void multi_thread_scheduler::thread_main(worker* first, bool offered) {
    for (worker* next = first; next != nullptr; offered = true) {
        // A worker block_in_place took back before we claimed it is not ours: wait for
        // the next one as a spare.
        if ((!offered || claim(*next)) && !run(*next)) {
            return; // stopping
        }
        next = wait_as_spare();
    }
}

bool multi_thread_scheduler::claim(worker& w) noexcept {
    // acq_rel: the blocked thread's last writes to the worker's queues are visible to us.
    return w.offered.exchange(false, std::memory_order_acq_rel);
}

multi_thread_scheduler::worker* multi_thread_scheduler::wait_as_spare() {
    spare self;
    std::unique_lock lock(threads_lock_);
    if (stopping_.load(std::memory_order_acquire)) {
        return nullptr;
    }
    spares_.push_back(&self);
    // stop_threads() sets stopping_ and then notifies every spare under threads_lock_.
    self.wake.wait_for(lock, core().config.thread_keep_alive, [&] {
        return self.assigned != nullptr || stopping_.load(std::memory_order_acquire);
    });
    if (self.assigned == nullptr) {
        std::erase(spares_, &self);
    } else {
        self.assigned->adopter = nullptr;
    }
    return self.assigned;
}

void multi_thread_scheduler::reap_exited_threads() noexcept {
    for (auto it = threads_.begin(); it != threads_.end();) {
        if (it->exited->load(std::memory_order_relaxed)) {
            it->thread.join(); // it is past run(): at most its stop hook is left
            it = threads_.erase(it);
        } else {
            ++it;
        }
    }
}

void multi_thread_scheduler::start_threads() {
    for (auto& w : workers_) {
        launch(*w, false);
    }
}

void multi_thread_scheduler::stop_threads() noexcept {
    stopping_.store(true, std::memory_order_seq_cst);
    for (std::size_t i = 0; i < workers_.size(); ++i) {
        unpark(i);
    }
    {
        std::lock_guard guard(threads_lock_);
        for (spare* s : spares_) {
            s->wake.notify_one();
        }
    }
    driver_.unpark();
    for (;;) {
        os_thread t;
        {
            std::lock_guard guard(threads_lock_);
            if (threads_.empty()) {
                break;
            }
            t = std::move(threads_.back().thread);
            threads_.pop_back();
        }
        t.join();
    }
}

void multi_thread_scheduler::drain() noexcept {
    for (auto& w : workers_) {
        if (task_header* t = std::exchange(w->lifo, nullptr)) {
            run_task(t);
        }
        while (task_header* t = w->queue.pop()) {
            run_task(t);
        }
    }
    while (task_header* t = inject_.pop()) {
        run_task(t);
    }
}

void multi_thread_scheduler::schedule(task_header* t, bool yield) noexcept {
    if (tls_worker.sched == this) {
        worker& w = *static_cast<worker*>(tls_worker.w);
        if (yield) {
            // A task re-queueing itself is not new work: this worker keeps running it,
            // so waking a sibling would only make the two fight over it (and every
            // yield would touch the shared idle word).
            push_local(w, t);
            return;
        }
        // A task woken by the running one probably shares its data: run it next.
        task_header* prev = std::exchange(w.lifo, t);
        if (prev != nullptr) {
            push_local(w, prev);
            notify_parked_local();
        }
        return;
    }
    inject_.push(t);
    fault::at(fault::point::pushed_from_outside);
    notify_parked();
}

void multi_thread_scheduler::push_local(worker& w, task_header* t) {
    w.queue.push_back(t, inject_);
}

void multi_thread_scheduler::notify_parked_local() noexcept {
    if (workers_.size() > 1) { // else nobody could take the work but ourselves
        notify_parked();
    }
}

void multi_thread_scheduler::notify_parked() noexcept {
    if (auto index = idle_.worker_to_notify()) {
        unpark(*index);
    }
}

void multi_thread_scheduler::unpark(std::size_t index) noexcept {
    worker& w = *workers_[index];
    // release: the work we queued is visible to the woken worker (acquire in park).
    switch (w.park_state.exchange(park_notified, std::memory_order_acq_rel)) {
    case park_futex:
        futex_wake(w.park_state, 1);
        break;
    case park_driver:
        driver_.unpark();
        break;
    default:
        break;
    }
}

bool multi_thread_scheduler::has_work_anywhere() const noexcept {
    if (!inject_.empty()) {
        return true;
    }
    return std::any_of(workers_.begin(), workers_.end(),
                       [](const auto& w) { return !w->queue.empty(); });
}

bool multi_thread_scheduler::run(worker& w) {
    tls_worker = {this, &w, w.index};
    tls_thread = {&core(), this, true, true};
    while (!stopping_.load(std::memory_order_acquire)) {
        if (--w.until_event == 0) {
            w.until_event = event_interval_;
            park_timeout(w, std::chrono::nanoseconds(0)); // poll the drivers
        }
        if (task_header* t = next_task(w)) {
            run_one(w, t);
        } else if (task_header* stolen = steal_work(w)) {
            run_one(w, stolen);
        } else {
            park(w);
        }
        if (tls_worker.w != &w) {
            return true; // block_in_place gave this worker's queues to another thread
        }
    }
    tls_worker = {};
    return false;
}

void multi_thread_scheduler::run_one(worker& w, task_header* t) {
    if (w.searching) {
        w.searching = false;
        if (idle_.transition_from_searching()) {
            notify_parked(); // the last searcher found work: there may be more
        }
    }
    tls_poll.budget = initial_budget;
    run_task(t);
    // The LIFO slot runs within the parent's budget, at most max_lifo_polls in a row.
    for (int polls = 0; tls_worker.w == &w; ++polls) {
        task_header* next = std::exchange(w.lifo, nullptr);
        if (next == nullptr) {
            return;
        }
        if (polls >= max_lifo_polls || tls_poll.budget == 0) {
            // Not new work either: this worker runs it soon. Waking a sibling here makes a
            // chain of spawns hop between workers (a futex round trip every few tasks).
            push_local(w, next);
            return;
        }
        run_task(next);
    }
}

task_header* multi_thread_scheduler::next_task(worker& w) {
    if (--w.until_global == 0) {
        w.until_global = global_queue_interval_;
        if (task_header* t = inject_.pop()) {
            return t;
        }
    }
    if (task_header* t = std::exchange(w.lifo, nullptr)) {
        return t;
    }
    if (task_header* t = w.queue.pop()) {
        return t;
    }
    if (inject_.empty()) {
        return nullptr;
    }
    // Take a fair share of the global queue, keeping the ring's second half free.
    const std::size_t cap = std::min<std::size_t>(w.queue.remaining() / 2, 128);
    const std::size_t want =
        std::min(inject_.len() / workers_.size() + 1, std::max<std::size_t>(cap, 1));
    task_header* first = nullptr;
    inject_.pop_n(want, [&](task_header* t) {
        if (first == nullptr) {
            first = t;
        } else {
            w.queue.push_back(t, inject_);
        }
    });
    return first;
}

task_header* multi_thread_scheduler::steal_work(worker& w) {
    if (!w.searching) {
        if (!idle_.transition_to_searching()) {
            return nullptr;
        }
        w.searching = true;
    }
    const auto n = static_cast<std::uint32_t>(workers_.size());
    const std::uint32_t start = w.next_random(n);
    for (std::uint32_t i = 0; i < n; ++i) {
        worker& victim = *workers_[(start + i) % n];
        if (&victim == &w) {
            continue;
        }
        if (task_header* t = victim.queue.steal_into(w.queue)) {
            return t;
        }
    }
    return inject_.pop();
}

void multi_thread_scheduler::park(worker& w) {
    const bool was_searching = std::exchange(w.searching, false);
    if (idle_.transition_to_parked(w.index, was_searching) && has_work_anywhere()) {
        notify_parked(); // we were the last searcher: nobody else would see this work
    }
    if (core().config.on_thread_park) {
        core().config.on_thread_park();
    }
    for (;;) {
        // stop_threads() sets stopping_ before it unparks us, but that notification may
        // already have been consumed by one of our zero-timeout driver polls: check first.
        if (!stopping_.load(std::memory_order_acquire)) {
            park_timeout(w, std::nullopt);
        }
        if (stopping_.load(std::memory_order_acquire) || w.lifo != nullptr || !w.queue.empty()) {
            // Woken by our own work (e.g. timers this thread fired). If a notifier also
            // picked us meanwhile, it counted us as searching: take that role over.
            w.searching = !idle_.unpark_worker_by_id(w.index);
            break;
        }
        if (!idle_.is_parked(w.index)) {
            w.searching = true; // a notifier woke us and counted us as searching
            break;
        }
    }
    if (core().config.on_thread_unpark) {
        core().config.on_thread_unpark();
    }
}

void multi_thread_scheduler::park_timeout(worker& w,
                                          std::optional<std::chrono::nanoseconds> timeout) {
    std::uint32_t s = park_notified;
    // acquire: pairs with unpark's release.
    if (w.park_state.compare_exchange_strong(s, park_empty, std::memory_order_acquire)) {
        return;
    }
    const bool zero = timeout && timeout->count() == 0;
    bool expected = false;
    if (driver_taken_.compare_exchange_strong(expected, true, std::memory_order_acquire)) {
        s = park_empty;
        if (w.park_state.compare_exchange_strong(s, park_driver, std::memory_order_acq_rel)) {
            driver_.park(timeout);
        }
        w.park_state.store(park_empty, std::memory_order_release);
        driver_taken_.store(false, std::memory_order_release);
        return;
    }
    if (zero) {
        return;
    }
    s = park_empty;
    if (!w.park_state.compare_exchange_strong(s, park_futex, std::memory_order_acq_rel)) {
        w.park_state.store(park_empty, std::memory_order_release); // notified meanwhile
        return;
    }
    for (;;) {
        futex_wait(w.park_state, park_futex, timeout);
        s = park_notified;
        if (w.park_state.compare_exchange_strong(s, park_empty, std::memory_order_acquire)) {
            return;
        }
        if (timeout) {
            s = park_futex;
            if (w.park_state.compare_exchange_strong(s, park_empty, std::memory_order_acquire)) {
                return;
            }
        }
    }
}

void* multi_thread_scheduler::prepare_to_block() {
    if (tls_worker.sched != this) {
        return nullptr; // not a worker: blocking stalls nobody
    }
    worker& w = *static_cast<worker*>(tls_worker.w);
    // The LIFO task becomes stealable, then another thread adopts the worker. We stop using
    // the worker's queues only once that thread exists: if it cannot start we stay the
    // worker and the caller learns why.
    if (task_header* t = std::exchange(w.lifo, nullptr)) {
        push_local(w, t);
    }
    // release: our writes to the worker are visible to whoever claims it.
    w.offered.store(true, std::memory_order_release);
    try {
        launch(w, true);
    } catch (const std::system_error& e) {
        w.offered.store(false, std::memory_order_relaxed);
        throw std::system_error(e.code(), "tako::block_in_place: cannot start a thread to "
                                          "take over this worker");
    }
    tls_worker = {};
    notify_parked();
    return &w;
}

void multi_thread_scheduler::finish_blocking(void* token) noexcept {
    auto& w = *static_cast<worker*>(token);
    // A short blocking section often ends before the other thread claims the worker: then
    // we keep it, and that thread goes back to waiting as a spare.
    if (!claim(w)) {
        return;
    }
    tls_worker = {this, &w, w.index};
    // If the spare woken for it is not awake yet, it stays a spare: un-assigned, it sleeps
    // on (its wait re-checks), and the next block_in_place finds it instead of starting a
    // thread.
    std::lock_guard guard(threads_lock_);
    if (spare* s = std::exchange(w.adopter, nullptr)) {
        s->assigned = nullptr;
        spares_.push_back(s);
    }
}

} // namespace tako::detail
