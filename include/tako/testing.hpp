#pragma once
/// \file
/// `TAKO_TEST`: GoogleTest tests whose body is a coroutine run on a fresh runtime.
///
/// ```cpp
/// TAKO_TEST(channel, delivers) {
///     auto [tx, rx] = tako::sync::oneshot::channel<int>();
///     tx.send(1);
///     EXPECT_EQ(*co_await rx, 1);
/// }
/// ```
/// `TAKO_TEST` uses a current_thread runtime; `TAKO_TEST_MT` a multi_thread runtime with
/// two workers; `TAKO_TEST_PAUSED` a current_thread runtime with the clock paused;
/// `TAKO_TEST_SEED(suite, name, seed)` a current_thread runtime whose run queue is shuffled by
/// `seed`. GoogleTest's `ASSERT_*` macros `return`, which a coroutine cannot: use `EXPECT_*`, or
/// `TAKO_CO_ASSERT(cond)` to stop the test body.

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>

#include "tako/runtime.hpp"
#include "tako/task.hpp"

namespace tako::testing {

struct options {
    runtime_flavor flavor = runtime_flavor::current_thread;
    std::size_t workers = 2;
    std::optional<std::uint64_t> seed;
    bool start_paused = false;

    static options multi_thread(std::size_t workers = 2) {
        options o;
        o.flavor = runtime_flavor::multi_thread;
        o.workers = workers;
        return o;
    }
    /// current_thread with the clock paused: timers complete without really sleeping.
    static options paused() {
        options o;
        o.start_paused = true;
        return o;
    }
    static options seeded(std::uint64_t seed) {
        options o;
        o.seed = seed;
        return o;
    }
};

inline void run(task<void> (*body)(), const options& opts) {
    auto b = opts.flavor == runtime_flavor::multi_thread
                 ? runtime::builder::multi_thread().worker_threads(opts.workers)
                 : runtime::builder::current_thread();
    if (opts.seed) {
        b.shuffle_seed(*opts.seed);
    }
    if (opts.start_paused) {
        b.start_paused(true);
    }
    runtime rt = b.build();
    rt.block_on(body());
}

} // namespace tako::testing

/// A coroutine test body run with `opts` (a `tako::testing::options`).
#define TAKO_TEST_WITH(suite, name, opts)                                                          \
    static ::tako::task<void> suite##_##name##_tako_body();                                        \
    TEST(suite, name) {                                                                            \
        ::tako::testing::run(&suite##_##name##_tako_body, (opts));                                 \
    }                                                                                              \
    static ::tako::task<void> suite##_##name##_tako_body()

#define TAKO_TEST(suite, name) TAKO_TEST_WITH(suite, name, ::tako::testing::options{})
#define TAKO_TEST_MT(suite, name)                                                                  \
    TAKO_TEST_WITH(suite, name, ::tako::testing::options::multi_thread())
#define TAKO_TEST_PAUSED(suite, name)                                                              \
    TAKO_TEST_WITH(suite, name, ::tako::testing::options::paused())
#define TAKO_TEST_SEED(suite, name, seed_value)                                                    \
    TAKO_TEST_WITH(suite, name, ::tako::testing::options::seeded(seed_value))

/// Fails the test and leaves the coroutine body when `cond` is false.
#define TAKO_CO_ASSERT(cond)                                                                       \
    if (!(cond)) {                                                                                 \
        ADD_FAILURE() << "assertion failed: " #cond;                                               \
        co_return;                                                                                 \
    }
