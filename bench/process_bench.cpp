// Spawning 100 children (/bin/true) and waiting for all of them: tako::process (current_thread
// and a 2-worker multi_thread runtime) beside plain posix_spawn + waitpid. See bench/README.md,
// "Processes".

#include <tako/process.hpp>
#include <tako/tako.hpp>

#include <benchmark/benchmark.h>

#include <spawn.h>
#include <sys/wait.h>

#include <array>
#include <vector>

extern char** environ;

namespace {

constexpr int children = 100;

tako::task<int> spawn_and_wait_all() {
    std::vector<tako::process::child> running;
    running.reserve(children);
    const tako::process::command cmd("/bin/true");
    for (int i = 0; i < children; ++i) {
        auto c = cmd.spawn();
        if (!c) {
            co_return -1;
        }
        running.push_back(std::move(*c));
    }
    int ok = 0;
    for (auto& c : running) {
        auto s = co_await c.wait();
        ok += s && s->success() ? 1 : 0;
    }
    co_return ok;
}

void run_tako(benchmark::State& state, tako::runtime::builder builder) {
    auto rt = builder.enable_all().build();
    for (auto _ : state) {
        const int ok = rt.block_on(spawn_and_wait_all());
        if (ok != children) {
            state.SkipWithError("a child failed");
            break;
        }
    }
    state.SetItemsProcessed(state.iterations() * children);
}

void tako_current_thread(benchmark::State& state) {
    run_tako(state, tako::runtime::builder::current_thread());
}

void tako_multi_thread_2(benchmark::State& state) {
    run_tako(state, tako::runtime::builder::multi_thread().worker_threads(2));
}

void posix_spawn_waitpid(benchmark::State& state) {
    std::array<char, 10> path{"/bin/true"};
    std::array<char*, 2> argv{path.data(), nullptr};
    std::vector<::pid_t> pids(children);
    for (auto _ : state) {
        for (auto& pid : pids) {
            if (::posix_spawn(&pid, path.data(), nullptr, nullptr, argv.data(), environ) != 0) {
                state.SkipWithError("posix_spawn failed");
                return;
            }
        }
        for (auto pid : pids) {
            int status = 0;
            ::waitpid(pid, &status, 0);
        }
    }
    state.SetItemsProcessed(state.iterations() * children);
}

} // namespace

BENCHMARK(tako_current_thread)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(tako_multi_thread_2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(posix_spawn_waitpid)->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
