// tako side of the anchor micro-benchmarks (the Tokio and Asio programs that `compare`
// runs beside this one; bench/README.md has the commands and the table).
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
// Workloads: spawn_many, chained_spawn, yield_many, ping_pong, ping_pong_pairs, mpsc,
// mutex_contended, broadcast_fanout, timer_churn, timer_churn_parallel, timers, timers_100k,
// idle, idle_pending, fs_small_reads, fs_read_whole. Anything else exits with status 2.

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <coroutine>
#include <cstddef>
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

#include <tako/fs.hpp>
#include <tako/sync/broadcast.hpp>
#include <tako/sync/mpsc.hpp>
#include <tako/sync/mutex.hpp>
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
// As tokio_bench.rs: per pair, two `mpsc::channel::<u64>(1)`; task B receives on the first
// and sends the value back on the second, task A sends round numbers and awaits each reply.
// Each task owns its ends (moved in), so they are dropped when the task ends.

namespace mpsc = tako::sync::mpsc;

tako::task<> pair_b(mpsc::receiver<std::uint64_t> arx, mpsc::sender<std::uint64_t> btx,
                    std::size_t rounds) {
    for (std::size_t i = 0; i < rounds; ++i) {
        auto v = co_await arx.recv();
        auto sent = co_await btx.send(v.value()); // tokio: .unwrap()
        if (!sent) {
            std::abort();
        }
    }
}

tako::task<> pair_a(mpsc::sender<std::uint64_t> atx, mpsc::receiver<std::uint64_t> brx,
                    std::size_t rounds) {
    for (std::uint64_t i = 0; i < rounds; ++i) {
        auto sent = co_await atx.send(i);
        if (!sent) {
            std::abort();
        }
        (void)(co_await brx.recv()).value();
    }
    count_down();
}

tako::task<> pairs_spawner(std::size_t pairs, std::size_t rounds) {
    for (std::size_t i = 0; i < pairs; ++i) {
        auto [atx, arx] = mpsc::channel<std::uint64_t>(1);
        auto [btx, brx] = mpsc::channel<std::uint64_t>(1);
        detach(tako::spawn(pair_b(std::move(arx), std::move(btx), rounds)));
        detach(tako::spawn(pair_a(std::move(atx), std::move(brx), rounds)));
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

// ---- 5. mpsc: 4 producers x 250,000 u64 into one bounded channel (capacity 1,024) ----
// As tokio_bench.rs: the spawner makes the channel, spawns one task per producer (each with
// its own sender copy), drops its own sender and spawns one consumer task that sums
// exactly producers * per values and then notifies the main thread.

tako::task<> mpsc_producer(mpsc::sender<std::uint64_t> tx, std::size_t per) {
    for (std::uint64_t i = 0; i < per; ++i) {
        auto sent = co_await tx.send(i);
        if (!sent) {
            std::abort(); // tokio: .unwrap()
        }
    }
}

tako::task<> mpsc_consumer(mpsc::receiver<std::uint64_t> rx, std::size_t total) {
    std::uint64_t sum = 0;
    for (std::size_t i = 0; i < total; ++i) {
        sum += (co_await rx.recv()).value(); // tokio: .unwrap()
    }
    // Keep the sum alive (tokio: read_volatile).
    const volatile std::uint64_t keep = sum;
    (void)keep;
    notify_done();
}

tako::task<> mpsc_spawner(std::size_t producers, std::size_t per, std::size_t capacity) {
    auto [tx, rx] = mpsc::channel<std::uint64_t>(capacity);
    for (std::size_t p = 0; p < producers; ++p) {
        detach(tako::spawn(mpsc_producer(tx, per)));
    }
    { auto dropped = std::move(tx); }
    detach(tako::spawn(mpsc_consumer(std::move(rx), producers * per)));
    co_return;
}

double mpsc_bench(tako::runtime& rt, std::size_t producers, std::size_t per, std::size_t capacity) {
    arm(1);
    const auto t0 = clock_type::now();
    detach(rt.spawn(mpsc_spawner(producers, per, capacity)));
    wait_done();
    return since(t0);
}

// ---- 5b. mutex_contended: 100 tasks x 10,000 lock / increment / unlock of one mutex ----
// As tokio_bench.rs: one shared async mutex (a shared_ptr, Tokio's Arc), each task locks,
// increments and unlocks in a loop, then counts down the latch.

tako::task<> mutex_locker(std::shared_ptr<tako::sync::mutex<std::uint64_t>> m, std::size_t per) {
    for (std::size_t i = 0; i < per; ++i) {
        *co_await m->lock() += 1;
    }
    count_down();
}

tako::task<> mutex_spawner(std::size_t tasks, std::size_t per) {
    auto m = std::make_shared<tako::sync::mutex<std::uint64_t>>(0);
    for (std::size_t t = 0; t < tasks; ++t) {
        detach(tako::spawn(mutex_locker(m, per)));
    }
    co_return;
}

double mutex_contended(tako::runtime& rt, std::size_t tasks, std::size_t per) {
    arm(tasks);
    const auto t0 = clock_type::now();
    detach(rt.spawn(mutex_spawner(tasks, per)));
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

// ---- 9. broadcast_fanout: 1 sender, 100 receivers, 10,000 u64, capacity 1,024 ----
// As tokio_bench.rs: the first receiver is dropped at once (`let (tx, _) = ...`), each
// subscribed receiver task receives every value (a lag or a close aborts, as Tokio's
// unwrap panics) and bumps a shared delivery count; before every 256th value the sender
// yields until every value sent so far reached every receiver, so nobody lags.

std::atomic<std::size_t> fanout_delivered{0};

tako::task<> fanout_receiver(tako::sync::broadcast::receiver<std::uint64_t> rx, std::size_t msgs) {
    for (std::size_t i = 0; i < msgs; ++i) {
        auto v = co_await rx.recv();
        if (!v) {
            std::fprintf(stderr, "broadcast_fanout: receive failed\n");
            std::abort();
        }
        fanout_delivered.fetch_add(1, std::memory_order_relaxed);
    }
    count_down();
}

tako::task<> fanout_sender(std::size_t receivers, std::size_t msgs) {
    auto [tx, first] = tako::sync::broadcast::channel<std::uint64_t>(1024);
    { auto dropped = std::move(first); }
    for (std::size_t r = 0; r < receivers; ++r) {
        detach(tako::spawn(fanout_receiver(tx.subscribe(), msgs)));
    }
    for (std::size_t i = 0; i < msgs; ++i) {
        if (i % 256 == 0) {
            while (fanout_delivered.load(std::memory_order_acquire) < i * receivers) {
                co_await tako::yield_now();
            }
        }
        if (!tx.send(i)) {
            std::fprintf(stderr, "broadcast_fanout: send failed\n");
            std::abort();
        }
    }
}

double broadcast_fanout(tako::runtime& rt, std::size_t receivers, std::size_t msgs) {
    arm(receivers);
    fanout_delivered.store(0);
    const auto t0 = clock_type::now();
    detach(rt.spawn(fanout_sender(receivers, msgs)));
    wait_done();
    return since(t0);
}

// ---- 10. fs: a 64 MiB file in $TMPDIR (or /tmp), written once per process ----
// As tokio_bench.rs: the file is written with plain blocking calls before any timing; the
// timed part opens it and does 1,000 sequential 4 KiB read_exact calls through the async
// file (fs_small_reads), or reads it whole with the one-call helper (fs_read_whole).

std::string fs_bench_file() {
    const char* dir = std::getenv("TMPDIR");
    std::string p = std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp") + "/tako-bench-fs-" +
                    std::to_string(::getpid()) + ".bin";
    if (::access(p.c_str(), F_OK) != 0) {
        std::vector<unsigned char> chunk(1 << 20);
        for (std::size_t i = 0; i < chunk.size(); ++i) {
            chunk[i] = static_cast<unsigned char>(i * 7);
        }
        std::FILE* f = std::fopen(p.c_str(), "wb");
        for (int i = 0; f != nullptr && i < 64; ++i) {
            if (std::fwrite(chunk.data(), 1, chunk.size(), f) != chunk.size()) {
                std::fclose(f);
                f = nullptr;
            }
        }
        if (f == nullptr || std::fclose(f) != 0) {
            std::fprintf(stderr, "fs: cannot write %s\n", p.c_str());
            std::abort();
        }
    }
    return p;
}

tako::task<> fs_small_reads_task(std::string path, std::size_t reads) {
    auto f = co_await tako::fs::file::open(path);
    if (!f) {
        std::fprintf(stderr, "fs_small_reads: %s\n", f.error().message().c_str());
        std::abort();
    }
    std::vector<std::byte> buf(4096);
    std::uint64_t sum = 0;
    for (std::size_t i = 0; i < reads; ++i) {
        if (!co_await f->read_exact(buf)) {
            std::fprintf(stderr, "fs_small_reads: read failed\n");
            std::abort();
        }
        sum += static_cast<std::uint64_t>(buf[17]);
    }
    const volatile std::uint64_t keep = sum;
    (void)keep;
    notify_done();
}

double fs_small_reads(tako::runtime& rt, std::size_t reads) {
    const std::string path = fs_bench_file();
    arm(1);
    const auto t0 = clock_type::now();
    detach(rt.spawn(fs_small_reads_task(path, reads)));
    wait_done();
    return since(t0);
}

tako::task<> fs_read_whole_task(std::string path) {
    auto v = co_await tako::fs::read(path);
    if (!v || v->size() != (64u << 20)) {
        std::fprintf(stderr, "fs_read_whole: read failed\n");
        std::abort();
    }
    notify_done();
}

double fs_read_whole(tako::runtime& rt) {
    const std::string path = fs_bench_file();
    arm(1);
    const auto t0 = clock_type::now();
    detach(rt.spawn(fs_read_whole_task(path)));
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
    } else if (w == "mpsc") {
        const std::size_t producers = 4, per = 250'000, capacity = 1024;
        const double t = median_of(reps, [&] { return mpsc_bench(rt, producers, per, capacity); });
        out(W, "msgs_per_s", static_cast<double>(producers * per) / t);
    } else if (w == "mutex_contended") {
        const std::size_t tasks = 100;
        const std::size_t per = 10'000;
        const double t = median_of(reps, [&] { return mutex_contended(rt, tasks, per); });
        out(W, "locks_per_s", static_cast<double>(tasks * per) / t);
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
    } else if (w == "broadcast_fanout") {
        const std::size_t receivers = 100, msgs = 10'000;
        const double t = median_of(reps, [&] { return broadcast_fanout(rt, receivers, msgs); });
        out(W, "deliveries_per_s", static_cast<double>(receivers * msgs) / t);
    } else if (w == "fs_small_reads") {
        const std::size_t reads = 1000;
        const double t = median_of(reps, [&] { return fs_small_reads(rt, reads); });
        out(W, "reads_per_s", static_cast<double>(reads) / t);
        ::unlink(fs_bench_file().c_str());
    } else if (w == "fs_read_whole") {
        const double t = median_of(reps, [&] { return fs_read_whole(rt); });
        out(W, "MB_per_s", 64.0 * 1.048576 / t);
        ::unlink(fs_bench_file().c_str());
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
