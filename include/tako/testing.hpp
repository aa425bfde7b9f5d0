#pragma once
/// \file
/// `TAKO_TEST`: GoogleTest tests whose body is a coroutine run on a fresh runtime.
///
/// ```cpp
/// TAKO_TEST(channel, delivers) {
///     auto [tx, rx] = tako::sync::oneshot::channel<int>();
///     (void)tx.send(1);
///     auto v = co_await rx;
///     TAKO_CO_ASSERT(v.has_value());      // leaves the body if false
///     TAKO_CO_ASSERT_EQ(*v, 1) << "ctx";  // prints both values if they differ
/// }
/// ```
/// `TAKO_TEST` uses a current_thread runtime; `TAKO_TEST_MT` a multi_thread runtime with
/// two workers; `TAKO_TEST_PAUSED` a current_thread runtime with the clock paused;
/// `TAKO_TEST_SEED(suite, name, seed)` a current_thread runtime whose run queue is shuffled by
/// `seed`. GoogleTest's `ASSERT_*` macros `return`, which a coroutine cannot: use `EXPECT_*`,
/// or the `TAKO_CO_ASSERT*` macros, which record a fatal failure (as `ASSERT_*` does) and
/// `co_return` from the body (so they work in any coroutine returning `task<void>`):
/// `TAKO_CO_ASSERT(cond)` (also spelled `_TRUE`), `TAKO_CO_ASSERT_FALSE(cond)`, and
/// `TAKO_CO_ASSERT_EQ`, `_NE`, `_LT`, `_LE`, `_GT`, `_GE` taking
/// `(a, b)`, which print both values on failure (with `testing::PrintToString`). Each is one
/// statement, safe in an unbraced `if`/`else`, and takes an extra message with `<<`.

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

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
    runtime rt = b.enable_all().build();
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

namespace tako::testing::detail {

/// The comparisons of `TAKO_CO_ASSERT_EQ` and friends.
enum class cmp { eq, ne, lt, le, gt, ge };

/// Integers that `std::cmp_equal` and friends accept (not `bool` or character types).
template <class T>
concept plain_integer =
    std::is_integral_v<T> && !std::is_same_v<std::remove_cv_t<T>, bool> &&
    !std::is_same_v<std::remove_cv_t<T>, char> && !std::is_same_v<std::remove_cv_t<T>, wchar_t> &&
    !std::is_same_v<std::remove_cv_t<T>, char8_t> &&
    !std::is_same_v<std::remove_cv_t<T>, char16_t> &&
    !std::is_same_v<std::remove_cv_t<T>, char32_t>;

/// `a Op b`. Two integers compare by value (`std::cmp_less` and friends), so mixing
/// signed and unsigned neither warns nor wraps around.
template <cmp Op, class A, class B>
bool holds(const A& a, const B& b) {
    if constexpr (plain_integer<A> && plain_integer<B>) {
        if constexpr (Op == cmp::eq) {
            return std::cmp_equal(a, b);
        } else if constexpr (Op == cmp::ne) {
            return std::cmp_not_equal(a, b);
        } else if constexpr (Op == cmp::lt) {
            return std::cmp_less(a, b);
        } else if constexpr (Op == cmp::le) {
            return std::cmp_less_equal(a, b);
        } else if constexpr (Op == cmp::gt) {
            return std::cmp_greater(a, b);
        } else {
            return std::cmp_greater_equal(a, b);
        }
    } else if constexpr (Op == cmp::eq) {
        return static_cast<bool>(a == b);
    } else if constexpr (Op == cmp::ne) {
        return static_cast<bool>(a != b);
    } else if constexpr (Op == cmp::lt) {
        return static_cast<bool>(a < b);
    } else if constexpr (Op == cmp::le) {
        return static_cast<bool>(a <= b);
    } else if constexpr (Op == cmp::gt) {
        return static_cast<bool>(a > b);
    } else {
        return static_cast<bool>(a >= b);
    }
}

/// Success if `a Op b`; otherwise a failure naming both expressions and both values, in
/// the words of GoogleTest's `ASSERT_EQ` / `ASSERT_LT` ….
template <cmp Op, class A, class B>
::testing::AssertionResult compare(const char* a_text, const char* b_text, const A& a, const B& b) {
    if (holds<Op>(a, b)) {
        return ::testing::AssertionSuccess();
    }
    if constexpr (Op == cmp::eq) {
        // "Which is" only where the expression is not already its value (a literal).
        const auto operand = [](const char* text, const std::string& value) {
            std::string s = "\n  " + std::string(text);
            if (value != text) {
                s += "\n    Which is: " + value;
            }
            return s;
        };
        return ::testing::AssertionFailure() << "Expected equality of these values:"
                                             << operand(a_text, ::testing::PrintToString(a))
                                             << operand(b_text, ::testing::PrintToString(b));
    } else {
        constexpr const char* op = Op == cmp::ne   ? "!="
                                   : Op == cmp::lt ? "<"
                                   : Op == cmp::le ? "<="
                                   : Op == cmp::gt ? ">"
                                                   : ">=";
        return ::testing::AssertionFailure()
               << "Expected: (" << a_text << ") " << op << " (" << b_text
               << "), actual: " << ::testing::PrintToString(a) << " vs "
               << ::testing::PrintToString(b);
    }
}

/// Success if `value`; otherwise "assertion failed: <text>".
inline ::testing::AssertionResult check(bool value, const char* text) {
    if (value) {
        return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << "assertion failed: " << text;
}

} // namespace tako::testing::detail

/// Internal: one statement that records a fatal failure with `result`'s message (plus
/// whatever is streamed after the macro) and `co_return`s when `result` (an
/// `AssertionResult`) is a failure. A `for` that runs its body at most once rather than an
/// `if`: with no `if` inside, a following `else` binds to the caller's `if`, and compilers
/// see no ambiguous `else` to warn about.
#define TAKO_CO_ASSERT_RESULT_(result)                                                             \
    for (const ::testing::AssertionResult tako_co_assert_result_ = (result);                       \
         !static_cast<bool>(tako_co_assert_result_);)                                              \
    co_return GTEST_MESSAGE_AT_(__FILE__, __LINE__, tako_co_assert_result_.failure_message(),      \
                                ::testing::TestPartResult::kFatalFailure)

/// Fails the test (a fatal failure) and leaves the coroutine body when the condition is
/// false. Variadic, so a condition with a top-level comma (`std::is_same_v<A, B>`) needs
/// no extra parentheses.
#define TAKO_CO_ASSERT(...)                                                                        \
    TAKO_CO_ASSERT_RESULT_(                                                                        \
        ::tako::testing::detail::check(static_cast<bool>(__VA_ARGS__), #__VA_ARGS__))

/// `TAKO_CO_ASSERT` under GoogleTest's names.
#define TAKO_CO_ASSERT_TRUE(...) TAKO_CO_ASSERT(__VA_ARGS__)
/// Fails the test and leaves the coroutine body when the condition is true.
#define TAKO_CO_ASSERT_FALSE(...)                                                                  \
    TAKO_CO_ASSERT_RESULT_(                                                                        \
        ::tako::testing::detail::check(!static_cast<bool>(__VA_ARGS__), "!(" #__VA_ARGS__ ")"))

/// Fails the test and leaves the coroutine body unless `a == b`; prints both values.
#define TAKO_CO_ASSERT_EQ(a, b)                                                                    \
    TAKO_CO_ASSERT_RESULT_(                                                                        \
        ::tako::testing::detail::compare<::tako::testing::detail::cmp::eq>(#a, #b, a, b))
/// Fails the test and leaves the coroutine body unless `a != b`; prints both values.
#define TAKO_CO_ASSERT_NE(a, b)                                                                    \
    TAKO_CO_ASSERT_RESULT_(                                                                        \
        ::tako::testing::detail::compare<::tako::testing::detail::cmp::ne>(#a, #b, a, b))
/// Fails the test and leaves the coroutine body unless `a < b`; prints both values.
#define TAKO_CO_ASSERT_LT(a, b)                                                                    \
    TAKO_CO_ASSERT_RESULT_(                                                                        \
        ::tako::testing::detail::compare<::tako::testing::detail::cmp::lt>(#a, #b, a, b))
/// Fails the test and leaves the coroutine body unless `a <= b`; prints both values.
#define TAKO_CO_ASSERT_LE(a, b)                                                                    \
    TAKO_CO_ASSERT_RESULT_(                                                                        \
        ::tako::testing::detail::compare<::tako::testing::detail::cmp::le>(#a, #b, a, b))
/// Fails the test and leaves the coroutine body unless `a > b`; prints both values.
#define TAKO_CO_ASSERT_GT(a, b)                                                                    \
    TAKO_CO_ASSERT_RESULT_(                                                                        \
        ::tako::testing::detail::compare<::tako::testing::detail::cmp::gt>(#a, #b, a, b))
/// Fails the test and leaves the coroutine body unless `a >= b`; prints both values.
#define TAKO_CO_ASSERT_GE(a, b)                                                                    \
    TAKO_CO_ASSERT_RESULT_(                                                                        \
        ::tako::testing::detail::compare<::tako::testing::detail::cmp::ge>(#a, #b, a, b))
