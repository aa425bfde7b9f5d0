// Google Benchmark of tako::codec: lines throughput of framed<duplex_stream, lines_codec>,
// beside io::lines (line_reader over a buf_reader) on the same stream. One iteration is one
// 80-byte line (79 characters and "\n"); each benchmark runs 1 GiB of them (13,421,772
// lines) on a current_thread runtime, a writer task feeding the duplex in 64 KiB writes.
//
//   ./codec_bench                      # items/s = lines/s, bytes/s = MB/s of lines

#include <benchmark/benchmark.h>

#include <atomic>
#include <cstddef>
#include <string>

#include <tako/tako.hpp>

namespace {

constexpr std::size_t line_size = 80;
constexpr std::int64_t lines_per_gib = (std::int64_t{1} << 30) / line_size;

/// 64 KiB worth of 80-byte lines (the last one cut short, continued by the next block).
std::string line_block() {
    std::string line(line_size - 1, 'x');
    line += '\n';
    std::string block;
    while (block.size() < 64 * 1024) {
        block += line;
    }
    block.resize(64 * 1024 / line_size * line_size); // whole lines only
    return block;
}

/// Writes the block again and again until the reader goes away.
tako::task<void> write_lines(tako::io::duplex_stream w) {
    const std::string block = line_block();
    for (;;) {
        if (!co_await tako::io::write_all(w, block)) {
            co_return; // broken pipe: the benchmark is done
        }
    }
}

/// Runs `read_lines(state, reader_end)` on a current_thread runtime with a writer task on
/// the other end of a 64 KiB duplex.
template <class Read>
void run(benchmark::State& state, Read read_lines) {
    auto rt = tako::runtime::builder::current_thread().build();
    auto work = [&state, &read_lines]() -> tako::task<> {
        auto [w, r] = tako::io::duplex(64 * 1024);
        auto writer = tako::spawn(write_lines, std::move(w));
        co_await read_lines(state, std::move(r)); // drops `r`: the writer stops
        (void)co_await writer;
    };
    rt.block_on(std::move(work));
    state.SetItemsProcessed(state.iterations());
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(line_size));
}

tako::task<> framed_lines(benchmark::State& state, tako::io::duplex_stream r) {
    tako::codec::framed f(std::move(r), tako::codec::lines_codec(1024));
    std::size_t total = 0;
    for (auto _ : state) {
        auto line = co_await f.next();
        total += (*line)->size();
    }
    benchmark::DoNotOptimize(total);
}

tako::task<> io_lines(benchmark::State& state, tako::io::duplex_stream r) {
    auto lines = tako::io::lines(tako::io::buf_reader(std::move(r)));
    std::size_t total = 0;
    for (auto _ : state) {
        auto line = co_await lines.next_line();
        total += (*line)->size();
    }
    benchmark::DoNotOptimize(total);
}

void bm_framed_lines_duplex(benchmark::State& state) {
    run(state, framed_lines);
}
void bm_io_lines_duplex(benchmark::State& state) {
    run(state, io_lines);
}

} // namespace

BENCHMARK(bm_framed_lines_duplex)
    ->Iterations(lines_per_gib)
    ->UseRealTime()
    ->Unit(benchmark::kNanosecond);
BENCHMARK(bm_io_lines_duplex)
    ->Iterations(lines_per_gib)
    ->UseRealTime()
    ->Unit(benchmark::kNanosecond);

BENCHMARK_MAIN();
