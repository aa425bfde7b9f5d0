// Google Benchmark micro-benchmarks of tako::sync::semaphore, mutex and rw_lock.
//
// Shapes:
// - uncontended: one task acquires and releases in a loop (the lock-free fast path plus
//   the release's spin lock), on a current_thread runtime and a 1-worker multi_thread one;
// - contended: N tasks on a 2-worker runtime share a semaphore(1) (a mutex), each taking
//   it `ops` times around a tiny critical section; one iteration spawns and joins them all;
// - rw_lock: R reader tasks and one writer task on a 2-worker runtime; the writer takes the
//   lock once for every 16 reads of each reader.
//
// - notify (Tokio's sync_notify.rs): N tasks loop on `notified()` and count; each iteration the
//   bench thread, outside the runtime, calls notify_one (or notify_waiters) until the count
//   has grown by 500;
// - watch (Tokio's sync_watch.rs contention_resubscribe): N receiver tasks loop on
//   `changed()` + `borrow_and_update()` + a little formatting work and ack each change; an
//   iteration is 100 sends, each waiting for all N acks before the next.
//
// Contended shapes report items/s = lock acquisitions per second (all tasks together).
// Times are wall-clock (UseRealTime): the loop runs on a worker thread.
//
//   ./sync_micro_bench --benchmark_filter=contended

#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <thread>
#include <utility>
#include <vector>

#include <tako/sync/mutex.hpp>
#include <tako/sync/rw_lock.hpp>
#include <tako/sync/notify.hpp>
#include <tako/sync/semaphore.hpp>
#include <tako/sync/watch.hpp>
#include <tako/tako.hpp>

namespace {

using tako::sync::semaphore;

enum class flavor { current_thread, multi_thread_1, multi_thread_2 };

tako::runtime make_runtime(flavor f) {
    if (f == flavor::current_thread) {
        return tako::runtime::builder::current_thread().build();
    }
    const std::size_t workers = f == flavor::multi_thread_1 ? 1 : 2;
    return tako::runtime::builder::multi_thread().worker_threads(workers).build();
}

/// Runs `body(state)` as a task on a fresh runtime of flavor `f`, blocking until it ends.
template <class Body>
void run_in_task(benchmark::State& state, flavor f, Body body) {
    tako::runtime rt = make_runtime(f);
    // The cell owns this lambda until the task ends; block_on outlives it.
    auto work = [&state, &body]() -> tako::task<> { co_await body(state); };
    rt.block_on(std::move(work));
}

// ------------------------------------------------------------------ uncontended

/// `co_await acquire()` and drop the permit: never waits.
tako::task<> acquire_release_loop(benchmark::State& state) {
    semaphore sem(1);
    for (auto _ : state) {
        auto p = co_await sem.acquire();
        benchmark::DoNotOptimize(p);
    }
}

/// `try_acquire()` and drop the permit: no coroutine machinery at all.
tako::task<> try_acquire_release_loop(benchmark::State& state) {
    semaphore sem(1);
    for (auto _ : state) {
        auto p = sem.try_acquire();
        benchmark::DoNotOptimize(p);
    }
    co_return;
}

/// `co_await lock()` on a free mutex, bump the value, unlock.
tako::task<> mutex_lock_loop(benchmark::State& state) {
    tako::sync::mutex<std::int64_t> m(0);
    for (auto _ : state) {
        auto g = co_await m.lock();
        ++*g;
    }
    benchmark::DoNotOptimize(m.get_mut());
}

/// `co_await read()` on a free rw_lock.
tako::task<> rw_read_loop(benchmark::State& state) {
    tako::sync::rw_lock<std::int64_t> l(1);
    std::int64_t sum = 0;
    for (auto _ : state) {
        auto r = co_await l.read();
        sum += *r;
    }
    benchmark::DoNotOptimize(sum);
}

// ------------------------------------------------------------------ contended

tako::task<> contender(semaphore* sem, std::int64_t* counter, int ops) {
    for (int i = 0; i < ops; ++i) {
        auto p = co_await sem->acquire();
        ++*counter; // the critical section: a plain increment
    }
}

/// N tasks × ops acquisitions of a semaphore(1); args: {N, ops}.
tako::task<> contended_loop(benchmark::State& state) {
    const int tasks = static_cast<int>(state.range(0));
    const int ops = static_cast<int>(state.range(1));
    semaphore sem(1);
    std::int64_t counter = 0;
    std::vector<tako::join_handle<void>> hs;
    hs.reserve(static_cast<std::size_t>(tasks));
    for (auto _ : state) {
        for (int t = 0; t < tasks; ++t) {
            hs.push_back(tako::spawn(contender(&sem, &counter, ops)));
        }
        for (auto& h : hs) {
            (void)co_await h;
        }
        hs.clear();
    }
    if (counter != static_cast<std::int64_t>(state.iterations()) * tasks * ops) {
        state.SkipWithError("lost an increment: the semaphore let two tasks in");
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * tasks * ops);
}

tako::task<> reader(tako::sync::rw_lock<std::int64_t>* l, std::int64_t* sink, int ops) {
    std::int64_t sum = 0;
    for (int i = 0; i < ops; ++i) {
        auto r = co_await l->read();
        sum += *r;
    }
    *sink += sum; // joined before anyone reads it
}

tako::task<> writer(tako::sync::rw_lock<std::int64_t>* l, int ops) {
    for (int i = 0; i < ops; ++i) {
        auto w = co_await l->write();
        ++*w;
    }
}

/// R readers × ops reads plus one writer doing ops/16 writes; args: {R, ops}.
tako::task<> rw_contended_loop(benchmark::State& state) {
    const int readers = static_cast<int>(state.range(0));
    const int ops = static_cast<int>(state.range(1));
    tako::sync::rw_lock<std::int64_t> l(0);
    std::vector<std::int64_t> sinks(static_cast<std::size_t>(readers), 0);
    std::vector<tako::join_handle<void>> hs;
    for (auto _ : state) {
        for (int r = 0; r < readers; ++r) {
            hs.push_back(tako::spawn(reader(&l, &sinks[static_cast<std::size_t>(r)], ops)));
        }
        hs.push_back(tako::spawn(writer(&l, ops / 16)));
        for (auto& h : hs) {
            (void)co_await h;
        }
        hs.clear();
    }
    benchmark::DoNotOptimize(sinks.data());
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) *
                            (readers * ops + ops / 16));
}

void bm_acquire_release(benchmark::State& state, flavor f) {
    run_in_task(state, f, acquire_release_loop);
}
void bm_try_acquire_release(benchmark::State& state, flavor f) {
    run_in_task(state, f, try_acquire_release_loop);
}
void bm_mutex_lock_unlock(benchmark::State& state, flavor f) {
    run_in_task(state, f, mutex_lock_loop);
}
void bm_rw_read_unlock(benchmark::State& state, flavor f) {
    run_in_task(state, f, rw_read_loop);
}
void bm_semaphore_contended(benchmark::State& state) {
    run_in_task(state, flavor::multi_thread_2, contended_loop);
}
void bm_rw_lock_readers_writer(benchmark::State& state) {
    run_in_task(state, flavor::multi_thread_2, rw_contended_loop);
}

} // namespace

BENCHMARK_CAPTURE(bm_acquire_release, current_thread, flavor::current_thread)->UseRealTime();
BENCHMARK_CAPTURE(bm_acquire_release, multi_thread_1, flavor::multi_thread_1)->UseRealTime();
BENCHMARK_CAPTURE(bm_try_acquire_release, current_thread, flavor::current_thread)->UseRealTime();
BENCHMARK_CAPTURE(bm_mutex_lock_unlock, current_thread, flavor::current_thread)->UseRealTime();
BENCHMARK_CAPTURE(bm_mutex_lock_unlock, multi_thread_1, flavor::multi_thread_1)->UseRealTime();
BENCHMARK_CAPTURE(bm_rw_read_unlock, current_thread, flavor::current_thread)->UseRealTime();
BENCHMARK(bm_semaphore_contended)
    ->ArgNames({"tasks", "ops"})
    ->Args({2, 1000})
    ->Args({8, 1000})
    ->Args({64, 200})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(bm_rw_lock_readers_writer)
    ->ArgNames({"readers", "ops"})
    ->Args({4, 1000})
    ->Args({16, 400})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

namespace {

// ------------------------------------------------------------------ notify and watch

/// Counts every notification it receives, forever (the runtime's shutdown ends it).
tako::task<> count_notifications(tako::sync::notify* n, std::atomic<std::uint64_t>* count) {
    for (;;) {
        co_await n->notified();
        count->fetch_add(1, std::memory_order_relaxed);
    }
}

template <class Notify>
void notify_shape(benchmark::State& state, Notify notify_fn) {
    const auto waiters = static_cast<int>(state.range(0));
    tako::sync::notify n;
    std::atomic<std::uint64_t> count{0};
    tako::runtime rt = make_runtime(flavor::multi_thread_2);
    for (int i = 0; i < waiters; ++i) {
        rt.handle().spawn(count_notifications(&n, &count)).detach();
    }
    for (auto _ : state) {
        const std::uint64_t target = count.load(std::memory_order_relaxed) + 500;
        while (count.load(std::memory_order_relaxed) < target) {
            notify_fn(n);
        }
    }
    state.SetItemsProcessed(state.iterations() * 500);
}

void bm_notify_one(benchmark::State& state) {
    notify_shape(state, [](tako::sync::notify& n) { n.notify_one(); });
}

void bm_notify_waiters(benchmark::State& state) {
    notify_shape(state, [](tako::sync::notify& n) { n.notify_waiters(); });
}

/// A watch receiver that acks every change it sees after a little formatting work.
tako::task<> watch_receiver(tako::sync::watch::receiver<std::uint64_t> rx,
                            std::atomic<int>* pending) {
    char buf[64];
    while (co_await rx.changed()) {
        std::uint64_t v = 0;
        {
            auto guard = rx.borrow_and_update();
            v = *guard;
        }
        for (int i = 0; i < 10; ++i) { // the "work" of Tokio's shape: format some floats
            std::snprintf(buf, sizeof buf, "%f", static_cast<double>(v + i) / 3.0);
            benchmark::DoNotOptimize(buf);
        }
        pending->fetch_sub(1, std::memory_order_acq_rel);
    }
}

void bm_watch_contention(benchmark::State& state) {
    const auto receivers = static_cast<int>(state.range(0));
    std::atomic<int> pending{0};
    auto [tx, rx] = tako::sync::watch::channel<std::uint64_t>(0);
    tako::runtime rt = make_runtime(flavor::multi_thread_2);
    for (int i = 0; i < receivers; ++i) {
        rt.handle().spawn(watch_receiver(rx, &pending)).detach();
    }
    std::uint64_t value = 0;
    for (auto _ : state) {
        for (int s = 0; s < 100; ++s) {
            pending.store(receivers, std::memory_order_release);
            tx.send_replace(++value);
            while (pending.load(std::memory_order_acquire) > 0) {
                std::this_thread::yield();
            }
        }
    }
    state.SetItemsProcessed(state.iterations() * 100);
}

} // namespace

BENCHMARK(bm_notify_one)->Arg(10)->Arg(50)->Arg(100)->Arg(200)->Arg(500)->UseRealTime();
BENCHMARK(bm_notify_waiters)->Arg(10)->Arg(50)->Arg(100)->Arg(200)->Arg(500)->UseRealTime();
BENCHMARK(bm_watch_contention)->Arg(10)->Arg(100)->Arg(500)->Arg(1000)->UseRealTime();

BENCHMARK_MAIN();
