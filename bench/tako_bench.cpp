// tako side of the anchor micro-benchmarks (../shared/anchors/README.md).
//
// Usage: tako_bench <workload> [reps=3]
// Prints lines "<workload> tako <metric> <value>". Multi-thread runtime with WORKERS worker
// threads (env WORKERS, default 2), built with
// tako::runtime::builder::multi_thread().worker_threads(WORKERS).build().
//
// Shapes mirror the anchors one for one (tokio/src/bin/tokio_bench.rs,
// asio/asio_bench.cpp): the main thread arms a completion latch (atomic counter; the last
// decrement notifies the main thread through a mutex + condvar), spawns one task into the
// runtime that spawns the work from inside, waits on the latch and does the timing. Timed
// workloads run 1 warm-up + <reps> measured iterations in the same process and runtime and
// print the median; timers, timers_100k, idle and idle_pending run once, cold.
//
// Workloads: spawn_many, chained_spawn, yield_many, ping_pong, ping_pong_pairs,
// timer_churn, timers, timers_100k, idle, idle_pending. Anything else (tako has no mpsc
// channel yet) exits with status 2.

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <coroutine>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <tako/tako.hpp>

namespace {

using clock_type = std::chrono::steady_clock;
namespace oneshot = tako::sync::oneshot;

/// The payload of the unit oneshots (Rust's `()`).
struct unit {};

// ---- completion latch shared by all workloads: atomic counter + notify ----

std::atomic<std::size_t> remaining{0};
std::mutex done_mutex;
std::condition_variable done_cv;
bool done_flag = false;

void arm(std::size_t n) {
    {
        std::lock_guard guard(done_mutex);
        done_flag = false;
    }
    remaining.store(n);
}

void notify_done() {
    {
        std::lock_guard guard(done_mutex);
        done_flag = true;
    }
    done_cv.notify_all();
}

inline void count_down() {
    // acq_rel: the last decrement sees every task's work before it notifies.
    if (remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        notify_done();
    }
}

void wait_done() {
    std::unique_lock guard(done_mutex);
    done_cv.wait(guard, [] { return done_flag; });
}

double since(clock_type::time_point t0) {
    return std::chrono::duration<double>(clock_type::now() - t0).count();
}

void out(const char* workload, const char* metric, double v) {
    std::printf("%s tako %s %.3f\n", workload, metric, v);
    std::fflush(stdout);
}

/// Resident set size in bytes (second field of /proc/self/statm, the same value as VmRSS).
long rss_bytes() {
    std::FILE* f = std::fopen("/proc/self/statm", "r");
    if (f == nullptr) {
        return 0;
    }
    long size_pages = 0;
    long resident_pages = 0;
    if (std::fscanf(f, "%ld %ld", &size_pages, &resident_pages) != 2) {
        resident_pages = 0;
    }
    std::fclose(f);
    return resident_pages * sysconf(_SC_PAGESIZE);
}

/// Detaches a spawned task (tokio drops the JoinHandle, asio uses `detached`).
template <class T>
void detach(tako::join_handle<T> h) {
    h.detach();
}

// ---- 1. spawn_many: 1,000,000 trivial tasks spawned in a loop from inside one task ----

tako::task<> trivial() {
    count_down();
    co_return;
}

tako::task<> spawn_many_spawner(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        detach(tako::spawn(trivial()));
    }
    co_return;
}

double spawn_many(tako::runtime& rt, std::size_t n) {
    arm(n);
    const auto t0 = clock_type::now();
    detach(rt.spawn(spawn_many_spawner(n)));
    wait_done();
    return since(t0);
}

// ---- 2. yield_many: 1,000 tasks x 1,000 yield_now each ----

tako::task<> yielder(std::size_t yields) {
    for (std::size_t i = 0; i < yields; ++i) {
        co_await tako::yield_now();
    }
    count_down();
}

tako::task<> yield_spawner(std::size_t tasks, std::size_t yields) {
    for (std::size_t i = 0; i < tasks; ++i) {
        detach(tako::spawn(yielder(yields)));
    }
    co_return;
}

double yield_many(tako::runtime& rt, std::size_t tasks, std::size_t yields) {
    arm(tasks);
    const auto t0 = clock_type::now();
    detach(rt.spawn(yield_spawner(tasks, yields)));
    wait_done();
    return since(t0);
}

// ---- 3a. ping_pong: tokio benches/rt_multi_threaded.rs shape ----
// Per batch, one task spawns `pings` ping tasks; each ping creates two oneshots, spawns a
// responder, sends, and awaits the reply.

tako::task<> pong(oneshot::receiver<unit> rx1, oneshot::sender<unit> tx2) {
    (void)co_await rx1;
    (void)tx2.send(unit{});
}

tako::task<> ping() {
    auto [tx1, rx1] = oneshot::channel<unit>();
    auto [tx2, rx2] = oneshot::channel<unit>();
    detach(tako::spawn(pong(std::move(rx1), std::move(tx2))));
    (void)tx1.send(unit{});
    (void)co_await rx2;
    count_down();
}

tako::task<> ping_batch(std::size_t pings) {
    for (std::size_t i = 0; i < pings; ++i) {
        detach(tako::spawn(ping()));
    }
    co_return;
}

double ping_pong(tako::runtime& rt, std::size_t pings, std::size_t batches) {
    const auto t0 = clock_type::now();
    for (std::size_t b = 0; b < batches; ++b) {
        arm(pings);
        detach(rt.spawn(ping_batch(pings)));
        wait_done();
    }
    return since(t0);
}

// ---- 3b. ping_pong_pairs: 1,000 persistent pairs x 100 round trips ----

/// A bounded channel of capacity 1, standing in for tokio's `mpsc::channel::<u64>(1)`
/// until tako has an mpsc channel.
///
/// What it uses: one slot guarded by a `tako::detail::spin_lock`, and two
/// `tako::sync::notify`: `item_ready` (a value is in the slot) and `space_ready` (the slot
/// was emptied). `send` waits while the slot is full; `recv` waits while it is empty.
/// Each side re-checks the slot after waking, and `notify_one` stores a permit when nobody
/// waits, so a notification sent between the check and the wait is not lost. This is the
/// same work per message as tokio's bounded mpsc (a permit acquired by the sender,
/// released by the receiver, one waker each way), without its block list; it is
/// multi-producer safe like tokio's, though each pair here has one sender.
///
/// Cancel safety: a `send` cancelled while waiting for space has not stored its value; a
/// `recv` cancelled while waiting has not taken one. Both notify awaiters unlink in their
/// destructors.
template <class T>
class bounded1 {
public:
    tako::task<> send(T v) {
        while (!try_put(v)) {
            co_await space_ready_.notified();
        }
        item_ready_.notify_one();
    }

    tako::task<T> recv() {
        for (;;) {
            if (std::optional<T> v = try_take()) {
                space_ready_.notify_one();
                co_return std::move(*v);
            }
            co_await item_ready_.notified();
        }
    }

private:
    bool try_put(T& v) {
        std::lock_guard guard(lock_);
        if (slot_) {
            return false;
        }
        slot_.emplace(std::move(v));
        return true;
    }
    std::optional<T> try_take() {
        std::lock_guard guard(lock_);
        std::optional<T> v;
        v.swap(slot_);
        return v;
    }

    tako::detail::spin_lock lock_;
    std::optional<T> slot_;
    tako::sync::notify item_ready_;
    tako::sync::notify space_ready_;
};

using pair_channel = bounded1<std::uint64_t>;

// Both tasks of a pair share the two channels (tokio moves one end of each into each task).
tako::task<> pair_b(std::shared_ptr<pair_channel> a, std::shared_ptr<pair_channel> b,
                    std::size_t rounds) {
    for (std::size_t i = 0; i < rounds; ++i) {
        std::uint64_t v = co_await a->recv();
        co_await b->send(v);
    }
}

tako::task<> pair_a(std::shared_ptr<pair_channel> a, std::shared_ptr<pair_channel> b,
                    std::size_t rounds) {
    for (std::uint64_t i = 0; i < rounds; ++i) {
        co_await a->send(i);
        (void)co_await b->recv();
    }
    count_down();
}

tako::task<> pairs_spawner(std::size_t pairs, std::size_t rounds) {
    for (std::size_t i = 0; i < pairs; ++i) {
        auto a = std::make_shared<pair_channel>();
        auto b = std::make_shared<pair_channel>();
        detach(tako::spawn(pair_b(a, b, rounds)));
        detach(tako::spawn(pair_a(std::move(a), std::move(b), rounds)));
    }
    co_return;
}

double ping_pong_pairs(tako::runtime& rt, std::size_t pairs, std::size_t rounds) {
    arm(pairs);
    const auto t0 = clock_type::now();
    detach(rt.spawn(pairs_spawner(pairs, rounds)));
    wait_done();
    return since(t0);
}

// ---- 4. chained_spawn: each task spawns the next, depth 1,000,000 ----

tako::task<> chain(std::size_t n) {
    if (n == 0) {
        notify_done();
    } else {
        detach(tako::spawn(chain(n - 1)));
    }
    co_return;
}

double chained_spawn(tako::runtime& rt, std::size_t n) {
    arm(1);
    const auto t0 = clock_type::now();
    detach(rt.spawn(chain(n)));
    wait_done();
    return since(t0);
}

// ---- 6. timers ----

/// xorshift64*, the same sequence as the anchors (`Rng` in tokio_bench.rs and
/// asio_bench.cpp): shift, then multiply the new state (wrapping) for the output.
struct rng {
    std::uint64_t s;
    std::uint64_t next() noexcept {
        std::uint64_t x = s;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        s = x;
        return x * 0x2545F4914F6CDD1DULL;
    }
};

// 6a. timers / timers_100k: n tasks each sleep a random 1..=1000 ms, one shot.

tako::task<> sleeper(std::uint64_t ms) {
    co_await tako::time::sleep(std::chrono::milliseconds(ms));
    count_down();
}

std::atomic<double> spawn_phase{0};

tako::task<> timer_spawner(std::size_t n, clock_type::time_point t0) {
    rng r{0x9E3779B97F4A7C15ULL};
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint64_t ms = 1 + r.next() % 1000;
        detach(tako::spawn(sleeper(ms)));
    }
    spawn_phase.store(since(t0));
    co_return;
}

/// Returns the wall time from the first spawn to the last wake-up; `spawn_phase` holds
/// the time the spawner took to spawn all n (both measured from the same t0, as Tokio).
double timers(tako::runtime& rt, std::size_t n) {
    arm(n);
    const auto t0 = clock_type::now();
    detach(rt.spawn(timer_spawner(n, t0)));
    wait_done();
    return since(t0);
}

// 6b. timer_churn: one task creates 1,000,000 sleeps of 10 s, registers each in the
// timer wheel, then drops it before it fires.
//
// Tokio polls the pinned `Sleep` once with the task's context (its `PollOnce`, which
// returns Ready whatever the Sleep says) and drops it. `poll_once` is the same thing for
// a tako sleep: inside its own `await_suspend` (the task is suspended there) it runs the
// sleep's awaiter once, which records the task's resume point and waker and links the
// entry into the wheel under the driver lock, and then returns false, so the task
// resumes at once without going through the scheduler. Leaving the scope destroys the
// sleep, whose destructor unlinks the still-armed entry (the cancel). A 10 s deadline is
// never due here, so the awaiter always takes its arm path (never its "already due" or
// budget-yield path). Per timer this is exactly one arm and one disarm: no allocation, no
// extra coroutine frame.
//
// Rejected: `co_await select_biased(sleep_task, ready_task)` also arms the sleep, but
// allocates two branch frames per timer and runs the combinator, so it would measure
// select, not the timer wheel. Awaiting the sleep for real would wait 10 s.
//
// The loop runs inside `tako::unconstrained`, as Tokio's does. Tokio needs it because its
// coop budget makes `Sleep::poll` return Pending without registering after 128 polls;
// tako's sleep spends no budget when it arms, so here it only keeps the shapes the same
// (it costs one frame per run, not per timer).
struct poll_once {
    tako::time::sleep& s;
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h) {
        auto aw = s.operator co_await();
        if (!aw.await_ready()) {
            (void)aw.await_suspend(h); // true: armed (parked on the wheel)
        }
        return false; // Ready: continue now, the entry stays armed until the sleep dies
    }
    void await_resume() const noexcept {}
};

tako::task<> churner(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        tako::time::sleep s(std::chrono::seconds(10));
        co_await poll_once{s};
        // ~sleep: disarm (cancel)
    }
    notify_done();
}

double timer_churn(tako::runtime& rt, std::size_t n) {
    arm(1);
    const auto t0 = clock_type::now();
    detach(rt.spawn(tako::unconstrained(churner(n))));
    wait_done();
    return since(t0);
}

// 6c. timer_churn_parallel (tako only, not an anchor workload): the same churn split over
// one task per worker, to measure that churn on several workers does not serialize on a
// lock (each worker arms in its own wheel shard). Compare W=1 with W=2.
double timer_churn_parallel(tako::runtime& rt, std::size_t n, std::size_t tasks) {
    arm(tasks);
    const auto t0 = clock_type::now();
    for (std::size_t i = 0; i < tasks; ++i) {
        detach(rt.spawn(tako::unconstrained(churner(n / tasks))));
    }
    wait_done();
    return since(t0);
}

// ---- 7. idle memory: 100,000 tasks parked on a oneshot receive, or on nothing ----

std::atomic<std::size_t> started{0};

/// Never completes (tokio's `std::future::pending()`). It records the suspension like
/// every leaf awaiter, so the task's resume point is this frame, and registers nowhere:
/// nobody ever wakes it. The task stays parked until the runtime shuts down and destroys
/// its frames; the destructor has nothing to undo.
struct pending_forever {
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) const noexcept {
        tako::detail::record_driver_suspension(h);
    }
    void await_resume() const noexcept {}
};

tako::task<> parked_on_oneshot(oneshot::receiver<unit> rx) {
    started.fetch_add(1, std::memory_order_relaxed);
    (void)co_await rx;
}

tako::task<> parked_pending() {
    started.fetch_add(1, std::memory_order_relaxed);
    co_await pending_forever{};
}

tako::task<> idle_spawner(std::size_t n, bool pending_only,
                          std::vector<oneshot::sender<unit>>* senders) {
    for (std::size_t i = 0; i < n; ++i) {
        if (pending_only) {
            detach(tako::spawn(parked_pending()));
        } else {
            auto [tx, rx] = oneshot::channel<unit>();
            senders->push_back(std::move(tx));
            detach(tako::spawn(parked_on_oneshot(std::move(rx))));
        }
    }
    notify_done();
    co_return;
}

/// Returns the RSS growth per task. `senders` keeps every oneshot sender alive (tokio
/// keeps them in a Vec reserved before the first RSS reading and filled by the spawner);
/// the caller destroys it after the runtime, so runtime shutdown cancels parked tasks.
double idle(tako::runtime& rt, std::size_t n, bool pending_only,
            std::vector<oneshot::sender<unit>>& senders) {
    senders.reserve(pending_only ? 0 : n);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const long before = rss_bytes();
    arm(1);
    detach(rt.spawn(idle_spawner(n, pending_only, &senders)));
    wait_done();
    while (started.load(std::memory_order_relaxed) < n) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const long after = rss_bytes();
    return static_cast<double>(after - before) / static_cast<double>(n);
}

/// 1 warm-up + `reps` measured iterations; the median.
template <class F>
double median_of(int reps, F f) {
    (void)f(); // warm-up
    std::vector<double> v;
    v.reserve(static_cast<std::size_t>(reps));
    for (int i = 0; i < reps; ++i) {
        v.push_back(f());
    }
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

std::size_t workers_from_env() {
    const char* e = std::getenv("WORKERS");
    if (e == nullptr || *e == '\0') {
        return 2;
    }
    char* end = nullptr;
    const long n = std::strtol(e, &end, 10);
    if (*end != '\0' || n < 1) {
        std::fprintf(stderr, "WORKERS must be a positive integer (got '%s')\n", e);
        std::exit(2);
    }
    return static_cast<std::size_t>(n);
}

int run(const std::string& w, int reps) {
    const char* W = w.c_str();
    // Declared before the runtime, so destroyed after it: shutdown cancels the parked
    // receivers first, then the senders go.
    std::vector<oneshot::sender<unit>> idle_senders;
    tako::runtime rt =
        tako::runtime::builder::multi_thread().worker_threads(workers_from_env()).build();

    if (w == "spawn_many") {
        const std::size_t n = 1'000'000;
        const double t = median_of(reps, [&] { return spawn_many(rt, n); });
        out(W, "tasks_per_s", static_cast<double>(n) / t);
    } else if (w == "yield_many") {
        const std::size_t tasks = 1000, yields = 1000;
        const double t = median_of(reps, [&] { return yield_many(rt, tasks, yields); });
        out(W, "yields_per_s", static_cast<double>(tasks * yields) / t);
    } else if (w == "ping_pong") {
        const std::size_t pings = 1000, batches = 100;
        const double t = median_of(reps, [&] { return ping_pong(rt, pings, batches); });
        out(W, "round_trips_per_s", static_cast<double>(pings * batches) / t);
    } else if (w == "ping_pong_pairs") {
        const std::size_t pairs = 1000, rounds = 100;
        const double t = median_of(reps, [&] { return ping_pong_pairs(rt, pairs, rounds); });
        out(W, "round_trips_per_s", static_cast<double>(pairs * rounds) / t);
    } else if (w == "chained_spawn") {
        const std::size_t n = 1'000'000;
        const double t = median_of(reps, [&] { return chained_spawn(rt, n); });
        out(W, "spawns_per_s", static_cast<double>(n) / t);
    } else if (w == "timers" || w == "timers_100k") {
        const std::size_t n = w == "timers" ? 1'000'000 : 100'000;
        const double t = timers(rt, n);
        out(W, "wall_s", t);
        out(W, "spawn_phase_s", spawn_phase.load());
    } else if (w == "timer_churn") {
        const std::size_t n = 1'000'000;
        const double t = median_of(reps, [&] { return timer_churn(rt, n); });
        out(W, "timeouts_per_s", static_cast<double>(n) / t);
    } else if (w == "timer_churn_parallel") {
        const std::size_t n = 2'000'000;
        const std::size_t tasks = rt.metrics().num_workers;
        const double t = median_of(reps, [&] { return timer_churn_parallel(rt, n, tasks); });
        out(W, "timeouts_per_s", static_cast<double>(n) / t);
    } else if (w == "idle" || w == "idle_pending") {
        const double b = idle(rt, 100'000, w == "idle_pending", idle_senders);
        out(W, "rss_bytes_per_task", b);
    } else {
        std::fprintf(stderr, "unknown workload %s\n", W);
        return 2;
    }
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: tako_bench <workload> [reps=3]\n");
        return 2;
    }
    const int reps = argc > 2 ? std::max(1, std::atoi(argv[2])) : 3;
    try {
        return run(argv[1], reps);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "tako_bench: %s\n", e.what());
    }
    return 1;
}
