// Google Benchmark micro-benchmarks of tako::stream<T>: the cost of one item through a
// generator, through a chain of adapters, and through merge, beside a plain loop and a
// task awaited per item. One iteration drains a stream of `range(0)` items on a
// current_thread runtime; items/s is reported.
//
//   ./stream_bench

#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include <tako/stream.hpp>
#include <tako/tako.hpp>

namespace {

constexpr std::int64_t items = 1 << 16;

tako::stream<std::int64_t> counting(std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) {
        co_yield i;
    }
}

tako::task<std::int64_t> one(std::int64_t i) {
    co_return i;
}

tako::task<std::int64_t> drain(tako::stream<std::int64_t> s) {
    std::int64_t sum = 0;
    while (auto v = co_await s.next()) {
        sum += *v;
    }
    co_return sum;
}

template <class Body>
void run(benchmark::State& state, Body body) {
    auto rt = tako::runtime::builder::current_thread().build();
    for (auto _ : state) {
        benchmark::DoNotOptimize(rt.block_on(body(state.range(0))));
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
}

void plain_loop(benchmark::State& state) {
    run(state, [](std::int64_t n) -> tako::task<std::int64_t> {
        std::int64_t sum = 0;
        for (std::int64_t i = 0; i < n; ++i) {
            benchmark::DoNotOptimize(sum += i);
        }
        co_return sum;
    });
}

void task_per_item(benchmark::State& state) {
    run(state, [](std::int64_t n) -> tako::task<std::int64_t> {
        std::int64_t sum = 0;
        for (std::int64_t i = 0; i < n; ++i) {
            sum += co_await one(i);
        }
        co_return sum;
    });
}

void generator(benchmark::State& state) {
    run(state, [](std::int64_t n) { return drain(counting(n)); });
}

void map_filter_take(benchmark::State& state) {
    run(state, [](std::int64_t n) {
        auto s = counting(2 * n) | tako::streams::map([](std::int64_t x) { return x + 1; }) |
                 tako::streams::filter([](std::int64_t x) { return (x & 1) == 0; }) |
                 tako::streams::take(static_cast<std::size_t>(n));
        return drain(std::move(s));
    });
}

void merge_of_four(benchmark::State& state) {
    run(state, [](std::int64_t n) {
        return drain(tako::streams::merge(counting(n / 4), counting(n / 4), counting(n / 4),
                                          counting(n / 4)));
    });
}

} // namespace

BENCHMARK(plain_loop)->Arg(items);
BENCHMARK(task_per_item)->Arg(items);
BENCHMARK(generator)->Arg(items);
BENCHMARK(map_filter_take)->Arg(items);
BENCHMARK(merge_of_four)->Arg(items);
BENCHMARK_MAIN();
