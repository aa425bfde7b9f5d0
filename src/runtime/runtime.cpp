// The runtime, its builder and handle; runtime shutdown; block_on.

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>

#include "io/io_driver.hpp"
#include "runtime/blocking_pool.hpp"
#include "runtime/current_thread.hpp"
#include "runtime/driver.hpp"
#include "runtime/fault_injection.hpp"
#include "runtime/multi_thread.hpp"
#include "runtime/scheduler.hpp"
#include "tako/runtime.hpp"
#include "time/time_driver.hpp"

namespace tako {

namespace detail {

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

/// Signals a thread blocked in block_on when the watched task completes (or when the
/// watcher itself is cancelled at shutdown).
struct block_latch {
    std::atomic<std::uint32_t> done{0};
    void set() noexcept {
        done.store(1, std::memory_order_release);
        futex_wake(done, 1);
    }
    void wait() noexcept {
        while (done.load(std::memory_order_acquire) == 0) {
            futex_wait(done, 0, std::nullopt);
        }
    }
};

/// Completes when `target` completes; the join slot protocol without taking the result.
struct completion_awaiter {
    task_header* target;
    wake_gate gate{};
    waker w{}; ///< the target's join slot points here while linked
    bool linked = false;
    ~completion_awaiter() {
        if (linked) {
            unregister_join_waiter(target);
        }
    }
    bool await_ready() const noexcept { return is_complete(target); }
    bool await_suspend(std::coroutine_handle<> h) noexcept {
        // The watcher is the only awaiter of its target: never busy.
        w = record_suspension(h, gate);
        linked = register_join_waiter(target, w) == join_wait::linked;
        return linked;
    }
    void await_resume() noexcept { linked = false; }
};

/// The watcher task's callable: destroyed when the watcher ends, including when shutdown
/// cancels it before it ever ran, and then it releases the thread in block_on.
struct watcher {
    task_header* target;
    block_latch* latch;
    watcher(task_header* t, block_latch* l) noexcept : target(t), latch(l) {}
    watcher(watcher&& o) noexcept : target(o.target), latch(std::exchange(o.latch, nullptr)) {}
    watcher& operator=(watcher&&) = delete;
    ~watcher() {
        if (latch != nullptr) {
            latch->set();
        }
    }
    task<void> operator()() const { co_await completion_awaiter{target}; }
};

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

void check_can_block(const char* what) {
    if (tls_thread.is_runtime_thread) {
        throw std::runtime_error(
            std::string("tako::") + what +
            ": cannot start a runtime from within a runtime. This happens because a "
            "function (like `block_on`) attempted to block the current thread while the "
            "thread is being used to drive asynchronous tasks; await the task instead, or "
            "use spawn_blocking / block_in_place");
    }
}

scheduler& current_scheduler(const char* what) {
    if (tls_thread.spawner == nullptr) {
        throw std::runtime_error(std::string(what) +
                                 ": there is no tako runtime on this thread; call it from a "
                                 "task, a runtime thread, or inside runtime::enter()");
    }
    return *tls_thread.spawner;
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
    if (auto* mt = dynamic_cast<multi_thread_scheduler*>(main.get())) {
        mt->start();
    }
}

void runtime_core::shutdown(std::optional<std::chrono::nanoseconds> timeout) noexcept {
    const bool first = !shut_down_.exchange(true);
    auto* mt = dynamic_cast<multi_thread_scheduler*>(main.get());
    auto* ct = dynamic_cast<current_thread_scheduler*>(main.get());
    if (first) {
        registry.close();
        if (mt != nullptr) {
            mt->stop();
        }
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
    if (mt != nullptr) {
        mt->drain();
    } else if (ct != nullptr) {
        ct->drain();
    }
    tls_thread = saved;
}

void runtime_core::block_on(task_header* t) {
    if (auto* ct = dynamic_cast<current_thread_scheduler*>(main.get())) {
        submit_new_task(*main, t);
        // While another thread drives the scheduler (we are, e.g., a blocking-pool
        // thread), it runs our task too; if it leaves block_on first, we take over.
        while (!is_complete(t) && !ct->try_block_on(t)) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        return;
    }
    // The watcher is registered before the task, so the task never sees the runtime's task
    // count change under it (metrics taken inside block_on are stable).
    block_latch latch;
    auto* cell = make_cell(watcher(t, &latch), "block_on watcher", std::source_location::current());
    submit_new_task(*main, cell);
    drop_join_handle(cell);
    submit_new_task(*main, t);
    latch.wait();
    // If the runtime shut down, the watcher may be cancelled before the watched task;
    // the shutdown cancels that one next.
    while (!is_complete(t)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
}

task_header* block_on_cell(runtime_core& core, task_header* t) {
    core.block_on(t);
    return t;
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

} // namespace detail

// ---------------------------------------------------------------- runtime_handle

runtime_handle runtime_handle::current() {
    if (auto h = try_current()) {
        return std::move(*h);
    }
    throw std::runtime_error("tako::runtime_handle::current: there is no tako runtime on this "
                             "thread");
}

std::optional<runtime_handle> runtime_handle::try_current() noexcept {
    if (detail::tls_thread.runtime == nullptr) {
        return std::nullopt;
    }
    return runtime_handle(detail::tls_thread.runtime->shared_from_this());
}

void runtime_handle::submit(detail::task_header* t) const noexcept {
    detail::submit_new_task(*core_->main, t);
}

void runtime_handle::submit_blocking(detail::task_header* t) const noexcept {
    detail::submit_blocking(*core_, t);
}

runtime_flavor runtime_handle::flavor() const noexcept {
    return core_->config.flavor;
}

runtime_metrics runtime_handle::metrics() const {
    runtime_metrics m;
    if (auto* mt = dynamic_cast<detail::multi_thread_scheduler*>(core_->main.get())) {
        m.num_workers = mt->num_workers();
        m.global_queue_depth = mt->global_queue_depth();
    } else if (auto* ct = dynamic_cast<detail::current_thread_scheduler*>(core_->main.get())) {
        m.num_workers = 1;
        m.global_queue_depth = ct->global_queue_depth();
    }
    m.num_alive_tasks = core_->registry.size();
    m.spawned_tasks_count = core_->registry.inserted();
    m.num_blocking_threads = core_->blocking->num_threads();
    m.num_idle_blocking_threads = core_->blocking->num_idle_threads();
    return m;
}

enter_guard::enter_guard(const runtime_handle& handle)
    : core_(handle.core().shared_from_this()), previous_(detail::tls_thread.runtime) {
    detail::tls_thread.runtime = &handle.core();
    detail::tls_thread.spawner = handle.core().main.get();
}

enter_guard::~enter_guard() {
    detail::tls_thread.runtime = previous_;
    detail::tls_thread.spawner = previous_ != nullptr ? previous_->main.get() : nullptr;
}

// ---------------------------------------------------------------- runtime

runtime::runtime() : runtime(builder::multi_thread().enable_all().build()) {}
runtime::runtime(runtime&&) noexcept = default;
runtime& runtime::operator=(runtime&& other) noexcept {
    if (this != &other) {
        shutdown_or_abort();
        core_ = std::move(other.core_);
    }
    return *this;
}
runtime::~runtime() {
    shutdown_or_abort();
}

void runtime::shutdown_or_abort() noexcept {
    if (core_ && on_own_thread()) {
        std::fputs("tako::runtime: destroyed from inside one of its own tasks (or its block_on "
                   "or blocking pool); shutdown waits for those threads, so it cannot run "
                   "there. Destroy the runtime from the thread that owns it.\n",
                   stderr);
        std::abort();
    }
    shutdown(std::nullopt);
}

bool runtime::on_own_thread() const noexcept {
    return detail::tls_thread.owned_by_runtime && detail::tls_thread.runtime == core_.get();
}

void runtime::shutdown(std::optional<std::chrono::nanoseconds> timeout) noexcept {
    if (core_) {
        core_->shutdown(timeout);
        core_.reset();
    }
}

void runtime::shutdown_timeout(std::chrono::nanoseconds timeout) && {
    if (core_ && on_own_thread()) {
        throw std::logic_error("tako::runtime::shutdown: called from one of the runtime's own "
                               "threads (a task, block_on or the blocking pool), which shutdown "
                               "would wait for; call it from the thread that owns the runtime");
    }
    shutdown(timeout);
}
void runtime::shutdown_background() && {
    std::move(*this).shutdown_timeout(std::chrono::nanoseconds(0));
}

// ---------------------------------------------------------------- builder

runtime::builder runtime::builder::multi_thread() {
    builder b;
    b.config_.flavor = runtime_flavor::multi_thread;
    return b;
}

runtime::builder runtime::builder::current_thread() {
    builder b;
    b.config_.flavor = runtime_flavor::current_thread;
    return b;
}

runtime::builder& runtime::builder::worker_threads(std::size_t n) {
    if (n == 0) {
        throw std::invalid_argument("tako::runtime::builder::worker_threads: must be > 0");
    }
    config_.worker_threads = n;
    return *this;
}
runtime::builder& runtime::builder::thread_name(std::string name) {
    config_.thread_name = std::move(name);
    return *this;
}
runtime::builder& runtime::builder::thread_stack_size(std::size_t bytes) {
    config_.thread_stack_size = bytes;
    return *this;
}
runtime::builder& runtime::builder::on_thread_start(std::function<void()> f) {
    config_.on_thread_start = std::move(f);
    return *this;
}
runtime::builder& runtime::builder::on_thread_stop(std::function<void()> f) {
    config_.on_thread_stop = std::move(f);
    return *this;
}
runtime::builder& runtime::builder::on_thread_park(std::function<void()> f) {
    config_.on_thread_park = std::move(f);
    return *this;
}
runtime::builder& runtime::builder::on_thread_unpark(std::function<void()> f) {
    config_.on_thread_unpark = std::move(f);
    return *this;
}
runtime::builder& runtime::builder::event_interval(std::uint32_t ticks) {
    if (ticks == 0) {
        throw std::invalid_argument("tako::runtime::builder::event_interval: must be > 0");
    }
    config_.event_interval = ticks;
    return *this;
}
runtime::builder& runtime::builder::global_queue_interval(std::uint32_t ticks) {
    if (ticks == 0) {
        throw std::invalid_argument("tako::runtime::builder::global_queue_interval: must be > 0");
    }
    config_.global_queue_interval = ticks;
    return *this;
}
runtime::builder& runtime::builder::max_blocking_threads(std::size_t n) {
    if (n == 0) {
        throw std::invalid_argument("tako::runtime::builder::max_blocking_threads: must be > 0");
    }
    config_.max_blocking_threads = n;
    return *this;
}
runtime::builder& runtime::builder::thread_keep_alive(std::chrono::nanoseconds d) {
    config_.thread_keep_alive = d;
    return *this;
}
runtime::builder& runtime::builder::on_unhandled_exception(unhandled_exception_hook hook) {
    config_.on_unhandled_exception = std::move(hook);
    return *this;
}
runtime::builder& runtime::builder::shuffle_seed(std::uint64_t seed) {
    config_.shuffle_seed = seed;
    return *this;
}

runtime::builder& runtime::builder::start_paused(bool paused) {
    config_.start_paused = paused;
    return *this;
}

runtime runtime::builder::build() {
    if (config_.start_paused && config_.flavor != runtime_flavor::current_thread) {
        throw std::invalid_argument("tako::runtime::builder::start_paused: the paused clock "
                                    "needs a current_thread runtime");
    }
    auto core = std::make_shared<detail::runtime_core>(config_);
    core->start();
    return runtime(std::move(core));
}

// ---------------------------------------------------------------- join_error

void join_error::rethrow() const {
    if (exception_) {
        std::rethrow_exception(exception_);
    }
    throw std::logic_error("tako::join_error::rethrow: the task was cancelled, not failed");
}

std::string join_error::message() const {
    std::string m = "task " + std::to_string(id_.value);
    if (!exception_) {
        return m + " was cancelled";
    }
    try {
        std::rethrow_exception(exception_);
    } catch (const std::exception& e) {
        return m + " failed: " + e.what();
    } catch (...) {
        return m + " failed with a non-standard exception";
    }
}

} // namespace tako

namespace tako::detail {

void enter_block_in_place() {
    if (auto* mt = dynamic_cast<multi_thread_scheduler*>(tls_thread.spawner)) {
        mt->hand_off_current_worker();
        return;
    }
    if (dynamic_cast<current_thread_scheduler*>(tls_thread.spawner) != nullptr &&
        tls_thread.is_runtime_thread) {
        throw std::logic_error("tako::block_in_place: can only block in place on a "
                               "multi_thread runtime; use spawn_blocking instead");
    }
    // Outside a runtime, or on a blocking-pool thread: blocking is fine here.
}

} // namespace tako::detail
