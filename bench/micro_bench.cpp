// Google Benchmark micro-benchmarks of tako's hot paths, each on a current_thread runtime
// and on a multi_thread runtime with one worker.
//
// The benchmark loop runs inside a task (`block_on`), so every iteration measures the
// runtime's own path: spawn + join, a yield, a oneshot hand-off. On the multi_thread
// runtime the loop runs on the worker thread, so times are wall-clock (UseRealTime).
//
//   ./micro_bench --benchmark_filter=spawn
//
// These numbers are for finding regressions in one place; the side-by-side comparison
// with Tokio and Asio is tako_bench (see README.md).

#include <benchmark/benchmark.h>

#include <cstdint>
#include <utility>

#include <tako/tako.hpp>

namespace {

namespace oneshot = tako::sync::oneshot;

enum class flavor { current_thread, multi_thread_1 };

tako::runtime make_runtime(flavor f) {
    if (f == flavor::current_thread) {
        return tako::runtime::builder::current_thread().build();
    }
    return tako::runtime::builder::multi_thread().worker_threads(1).build();
}

/// Runs `body(state)` as a task on a fresh runtime of flavor `f`, blocking until it ends.
template <class Body>
void run_in_task(benchmark::State& state, flavor f, Body body) {
    tako::runtime rt = make_runtime(f);
    // The cell owns this lambda until the task ends; block_on outlives it, so the
    // references to state and body stay valid.
    auto work = [&state, &body]() -> tako::task<> { co_await body(state); };
    rt.block_on(std::move(work));
}

tako::task<int> trivial() {
    co_return 1;
}

/// spawn a trivial task and await its join_handle.
tako::task<> spawn_join_loop(benchmark::State& state) {
    std::int64_t sum = 0;
    for (auto _ : state) {
        auto h = tako::spawn(trivial());
        auto r = co_await h;
        sum += *r;
    }
    benchmark::DoNotOptimize(sum);
}

/// one yield_now per iteration, with no other task ready: re-queue + resume.
tako::task<> yield_loop(benchmark::State& state) {
    for (auto _ : state) {
        co_await tako::yield_now();
    }
}

/// Value already there: create a oneshot, send, receive (no suspension).
tako::task<> oneshot_ready_loop(benchmark::State& state) {
    for (auto _ : state) {
        auto [tx, rx] = oneshot::channel<int>();
        (void)tx.send(7);
        auto v = co_await rx;
        benchmark::DoNotOptimize(v);
    }
}

tako::task<int> receive(oneshot::receiver<int> rx) {
    auto v = co_await rx;
    co_return v ? *v : -1;
}

/// A parked receiver woken by send: spawn a task that awaits the receiver, yield so it
/// parks, send (wakes it), then join it. Includes one spawn + join (see spawn_join).
tako::task<> oneshot_wake_loop(benchmark::State& state) {
    std::int64_t sum = 0;
    for (auto _ : state) {
        auto [tx, rx] = oneshot::channel<int>();
        auto h = tako::spawn(receive(std::move(rx)));
        co_await tako::yield_now(); // the receiver runs and parks on rx
        (void)tx.send(7);
        auto r = co_await h;
        sum += *r;
    }
    benchmark::DoNotOptimize(sum);
}

void bm_spawn_join(benchmark::State& state, flavor f) {
    run_in_task(state, f, spawn_join_loop);
}
void bm_yield_now(benchmark::State& state, flavor f) {
    run_in_task(state, f, yield_loop);
}
void bm_oneshot_ready(benchmark::State& state, flavor f) {
    run_in_task(state, f, oneshot_ready_loop);
}
void bm_oneshot_wake(benchmark::State& state, flavor f) {
    run_in_task(state, f, oneshot_wake_loop);
}

} // namespace

BENCHMARK_CAPTURE(bm_spawn_join, current_thread, flavor::current_thread)->UseRealTime();
BENCHMARK_CAPTURE(bm_spawn_join, multi_thread_1, flavor::multi_thread_1)->UseRealTime();
BENCHMARK_CAPTURE(bm_yield_now, current_thread, flavor::current_thread)->UseRealTime();
BENCHMARK_CAPTURE(bm_yield_now, multi_thread_1, flavor::multi_thread_1)->UseRealTime();
BENCHMARK_CAPTURE(bm_oneshot_ready, current_thread, flavor::current_thread)->UseRealTime();
BENCHMARK_CAPTURE(bm_oneshot_ready, multi_thread_1, flavor::multi_thread_1)->UseRealTime();
BENCHMARK_CAPTURE(bm_oneshot_wake, current_thread, flavor::current_thread)->UseRealTime();
BENCHMARK_CAPTURE(bm_oneshot_wake, multi_thread_1, flavor::multi_thread_1)->UseRealTime();

BENCHMARK_MAIN();
