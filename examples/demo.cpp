// tako's demo: the runtime at work. Each section prints what it shows.
#include <tako/tako.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

namespace {

using clock_type = std::chrono::steady_clock;

double ms_since(clock_type::time_point t0) {
    return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}

tako::task<long> sum_to(long n) {
    long s = 0;
    for (long i = 1; i <= n; ++i) {
        s += i;
        if (i % 1000 == 0) {
            co_await tako::yield_now(); // let the other tasks on this worker run
        }
    }
    co_return s;
}

struct announce_drop {
    const char* what;
    ~announce_drop() { std::printf("    - %s: frame destroyed (its destructors ran)\n", what); }
};

tako::task<int> never_finishes(tako::sync::notify& never, const char* what) {
    announce_drop guard{what};
    co_await never.notified();
    co_return 0;
}

tako::task<int> async_main() {
    const auto rt = tako::runtime_handle::current();
    std::printf("tako demo: multi_thread runtime with %zu workers\n\n", rt.metrics().num_workers);

    // 1. spawn + join: 10,000 tasks across the workers.
    {
        std::printf("1. spawn 10,000 tasks and join them\n");
        const auto t0 = clock_type::now();
        tako::join_set<long> set;
        for (long i = 0; i < 10'000; ++i) {
            set.spawn([i]() -> tako::task<long> { co_return i; });
        }
        long total = 0;
        for (;;) {
            auto r = co_await set.join_next();
            if (!r) {
                break;
            }
            total += **r;
        }
        std::printf("   sum of results = %ld (expected %ld), %.2f ms\n\n", total,
                    9'999L * 10'000 / 2, ms_since(t0));
    }

    // 2. join: two computations interleaved inside one task.
    {
        std::printf("2. join two computations inside one task\n");
        auto [a, b] = co_await tako::join(sum_to(100'000), sum_to(200'000));
        std::printf("   sum_to(100000) = %ld, sum_to(200000) = %ld\n\n", a, b);
    }

    // 3. select: the first to finish wins, the loser is cancelled.
    {
        std::printf("3. select between a result and a task that never finishes\n");
        tako::sync::notify never;
        auto r = co_await tako::select(never_finishes(never, "loser"), sum_to(1'000));
        std::printf("   branch %zu won with %ld\n\n", r.index(), std::get<1>(r));
    }

    // 4. abort: cancelling a spawned task destroys its suspended frame.
    {
        std::printf("4. abort a suspended task\n");
        tako::sync::notify never;
        auto h = tako::spawn(never_finishes(never, "aborted task"));
        co_await tako::yield_now();
        h.abort();
        auto r = co_await h;
        std::printf("   join result: %s\n\n", r ? "value" : r.error().message().c_str());
    }

    // 5. oneshot: a value from another task.
    {
        std::printf("5. oneshot channel between tasks\n");
        auto [tx, rx] = tako::sync::oneshot::channel<std::string>();
        auto sender = tako::spawn([tx = std::move(tx)]() mutable -> tako::task<> {
            (void)tx.send("pong");
            co_return;
        });
        auto v = co_await rx;
        std::printf("   received \"%s\"\n\n", v ? v->c_str() : "(closed)");
        co_await sender;
    }

    // 6. blocking work goes to the blocking pool; the workers stay free.
    {
        std::printf("6. spawn_blocking: 4 blocking sleeps of 50 ms run in parallel\n");
        const auto t0 = clock_type::now();
        tako::join_set<int> set;
        for (int i = 0; i < 4; ++i) {
            set.spawn([i]() -> tako::task<int> {
                // Named, not a temporary in the co_await statement (g++ 12 destroys such a temporary twice: GCC PR 101367).
                auto nap = [i] {
                    std::this_thread::sleep_for(std::chrono::milliseconds(50));
                    return i;
                };
                auto r = co_await tako::spawn_blocking(nap);
                co_return *r;
            });
        }
        for (int done = 0; done < 4; ++done) {
            (void)co_await set.join_next();
        }
        std::printf("   all done in %.0f ms (sequential would take 200 ms)\n\n", ms_since(t0));
    }

    // 7. timers: sleep, timeout, interval.
    {
        using namespace std::chrono_literals;
        std::printf("7. timers\n");
        const auto t0 = clock_type::now();
        co_await tako::time::sleep(20ms);
        std::printf("   sleep(20ms) took %.1f ms\n", ms_since(t0));

        auto slow = []() -> tako::task<int> {
            announce_drop guard{"timed-out operation"};
            co_await tako::time::sleep(10s);
            co_return 1;
        };
        auto r = co_await tako::time::timeout(50ms, slow());
        std::printf("   timeout(50ms, a 10 s operation): %s\n", r ? "completed" : "elapsed");

        tako::time::interval every(10ms);
        const auto t1 = clock_type::now();
        for (int i = 0; i < 5; ++i) {
            co_await every.tick();
        }
        std::printf("   5 ticks of a 10 ms interval took %.1f ms (the first is immediate)\n\n",
                    ms_since(t1));
    }

    // 8. an exception escaping a task reaches its join_handle.
    {
        std::printf("8. exceptions travel to the join_handle\n");
        auto h = tako::spawn([]() -> tako::task<int> {
            throw std::runtime_error("something broke");
            co_return 0;
        });
        auto r = co_await h;
        std::printf("   %s\n", r ? "no error?" : r.error().message().c_str());
    }
    co_return 0;
}

} // namespace

TAKO_MAIN(async_main)
