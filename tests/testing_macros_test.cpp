// The TAKO_CO_ASSERT family from <tako/testing.hpp>: passing assertions continue, failing
// ones record a fatal failure that prints both values and leave the coroutine, and every
// macro is a single statement that an unbraced if/else can hold.
//
// Failing bodies run on a runtime of their own while a ScopedFakeTestPartResultReporter
// intercepts the failures (on every thread: the multi_thread runtime runs them on a worker),
// so the failures can be examined instead of failing this test.

#include <tako/tako.hpp>
#include <tako/testing.hpp>

#include <gtest/gtest-spi.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

namespace {

/// What a body reported, and how far it got.
struct outcome {
    std::vector<::testing::TestPartResult> failures;
    bool reached_end = false;
};

std::atomic<bool> reached_end{false};
std::atomic<int> failing_line{0};

/// Runs `body` on a fresh runtime of each flavor and returns what it reported (checked to
/// be the same for both flavors by the callers).
std::vector<outcome> run_intercepted(::tako::task<void> (*body)()) {
    std::vector<outcome> out;
    for (const auto& opts :
         {::tako::testing::options{}, ::tako::testing::options::multi_thread()}) {
        reached_end = false;
        failing_line = 0;
        ::testing::TestPartResultArray results;
        {
            ::testing::ScopedFakeTestPartResultReporter reporter(
                ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ALL_THREADS, &results);
            ::tako::testing::run(body, opts);
        }
        outcome o;
        for (int i = 0; i < results.size(); ++i) {
            o.failures.push_back(results.GetTestPartResult(i));
        }
        o.reached_end = reached_end.load();
        out.push_back(std::move(o));
    }
    return out;
}

/// Succeeds if `o` holds exactly one fatal failure, reported at `failing_line` of this
/// file, whose message contains every string of `needles`, and the body stopped there.
::testing::AssertionResult one_fatal_failure(const outcome& o,
                                             const std::vector<std::string>& needles) {
    if (o.failures.size() != 1) {
        return ::testing::AssertionFailure() << o.failures.size() << " failures, not 1";
    }
    const auto& f = o.failures[0];
    if (!f.fatally_failed()) {
        return ::testing::AssertionFailure() << "the failure is not fatal: " << f.message();
    }
    if (f.line_number() != failing_line.load()) {
        return ::testing::AssertionFailure()
               << "reported at line " << f.line_number() << ", not " << failing_line.load();
    }
    if (f.file_name() == nullptr ||
        std::string(f.file_name()).find("testing_macros_test.cpp") == std::string::npos) {
        return ::testing::AssertionFailure() << "reported in another file";
    }
    for (const auto& n : needles) {
        if (std::string(f.message()).find(n) == std::string::npos) {
            return ::testing::AssertionFailure() << "message lacks \"" << n << "\":\n"
                                                 << f.message();
        }
    }
    if (o.reached_end) {
        return ::testing::AssertionFailure() << "the body went on after the failure";
    }
    return ::testing::AssertionSuccess();
}

void expect_one_fatal_failure(::tako::task<void> (*body)(),
                              const std::vector<std::string>& needles) {
    for (const outcome& o : run_intercepted(body)) {
        EXPECT_TRUE(one_fatal_failure(o, needles));
    }
}

tako::task<int> answer() {
    co_await tako::yield_now();
    co_return 42;
}

enum class color { red, green };

// ------------------------------------------------------------------- bodies that fail

tako::task<void> eq_fails() {
    const int x = 1;
    const int y = 2;
    failing_line = __LINE__ + 1;
    TAKO_CO_ASSERT_EQ(x, y);
    reached_end = true;
}

tako::task<void> eq_fails_on_strings() {
    const std::string s = "left";
    failing_line = __LINE__ + 1;
    TAKO_CO_ASSERT_EQ(s, "right");
    reached_end = true;
}

tako::task<void> ne_fails() {
    const long a = 7;
    failing_line = __LINE__ + 1;
    TAKO_CO_ASSERT_NE(a, 7L);
    reached_end = true;
}

tako::task<void> lt_fails() {
    failing_line = __LINE__ + 1;
    TAKO_CO_ASSERT_LT(co_await answer(), 40);
    reached_end = true;
}

tako::task<void> le_fails() {
    const double d = 2.5;
    failing_line = __LINE__ + 1;
    TAKO_CO_ASSERT_LE(d, 1.5);
    reached_end = true;
}

tako::task<void> gt_fails() {
    const std::vector<int> v{1, 2};
    failing_line = __LINE__ + 1;
    TAKO_CO_ASSERT_GT(v.size(), 3);
    reached_end = true;
}

tako::task<void> ge_fails_with_mixed_signedness() {
    // -1 >= 1u is true in plain C++ (-1 converts to UINT_MAX); the macros compare values.
    failing_line = __LINE__ + 1;
    TAKO_CO_ASSERT_GE(-1, 1u);
    reached_end = true;
}

tako::task<void> eq_fails_with_a_message() {
    const int attempt = 3;
    failing_line = __LINE__ + 1;
    TAKO_CO_ASSERT_EQ(attempt, 4) << "while retrying, attempt " << attempt;
    reached_end = true;
}

tako::task<void> co_assert_fails() {
    const std::vector<int> v{1};
    failing_line = __LINE__ + 1;
    TAKO_CO_ASSERT(v.empty());
    reached_end = true;
}

tako::task<void> co_assert_fails_with_a_comma() {
    failing_line = __LINE__ + 1;
    TAKO_CO_ASSERT(std::is_same_v<int, long>) << "int is not long";
    reached_end = true;
}

tako::task<void> failing_helper() {
    failing_line = __LINE__ + 1;
    TAKO_CO_ASSERT_EQ(1, 0);
    ADD_FAILURE() << "the helper went on after its assertion failed";
}

std::atomic<bool> caller_went_on{false};

tako::task<void> assertion_in_a_helper() {
    // The assertion leaves the helper coroutine, not its caller (as ASSERT_* leaves a
    // helper function).
    caller_went_on = false;
    co_await failing_helper();
    caller_went_on = true;
}

// ----------------------------------------------------------- if/else and evaluation

tako::task<void> assertion_in_unbraced_if_else() {
    // Each macro is one statement: the `else` binds to our `if`, not to one inside.
    int branch = 0;
    if (branch == 1)
        TAKO_CO_ASSERT(false);
    else
        branch = 2;
    EXPECT_EQ(branch, 2);

    if (branch == 2)
        TAKO_CO_ASSERT_EQ(branch, 2);
    else
        ADD_FAILURE() << "else bound to the assertion";

    if (branch != 2)
        TAKO_CO_ASSERT_NE(branch, 2) << "never evaluated";
    else
        branch = 3;
    EXPECT_EQ(branch, 3);

    // Dangling: only an `if`, no `else` (compiles without -Wdangling-else).
    if (branch == 3)
        TAKO_CO_ASSERT_GT(branch, 0);

    // The failing case inside an unbraced else.
    if (branch == 0)
        branch = 4;
    else
        TAKO_CO_ASSERT_LT(branch, 3); // fails: 3 < 3 is false
    reached_end = true;
}

} // namespace

TEST(testing_macros, eq_prints_both_values_and_stops_the_body) {
    expect_one_fatal_failure(
        &eq_fails, {"Expected equality of these values", "x", "Which is: 1", "y", "Which is: 2"});
}

TEST(testing_macros, eq_prints_strings) {
    expect_one_fatal_failure(&eq_fails_on_strings, {"s", "\"left\"", "\"right\""});
}

TEST(testing_macros, ne_lt_le_gt_ge_print_both_values) {
    expect_one_fatal_failure(&ne_fails, {"Expected: (a) != (7L), actual: 7 vs 7"});
    expect_one_fatal_failure(&lt_fails, {"Expected: (co_await answer()) < (40), actual: 42 vs 40"});
    expect_one_fatal_failure(&le_fails, {"Expected: (d) <= (1.5), actual: 2.5 vs 1.5"});
    expect_one_fatal_failure(&gt_fails, {"Expected: (v.size()) > (3), actual: 2 vs 3"});
    expect_one_fatal_failure(&ge_fails_with_mixed_signedness,
                             {"Expected: (-1) >= (1u), actual: -1 vs 1"});
}

TEST(testing_macros, a_streamed_message_is_appended) {
    expect_one_fatal_failure(&eq_fails_with_a_message,
                             {"attempt", "Which is: 3", "4", "while retrying, attempt 3"});
}

TEST(testing_macros, co_assert_names_the_condition) {
    expect_one_fatal_failure(&co_assert_fails, {"assertion failed: v.empty()"});
    expect_one_fatal_failure(&co_assert_fails_with_a_comma,
                             {"assertion failed: std::is_same_v<int, long>", "int is not long"});
}

TEST(testing_macros, an_assertion_leaves_only_the_helper_coroutine) {
    for (const outcome& o : run_intercepted(&assertion_in_a_helper)) {
        EXPECT_TRUE(one_fatal_failure(o, {"Expected equality", "1", "0"}));
        EXPECT_TRUE(caller_went_on.load());
    }
}

TEST(testing_macros, unbraced_if_else_binds_to_the_outer_if) {
    for (const outcome& o : run_intercepted(&assertion_in_unbraced_if_else)) {
        // Exactly one failure: the last assertion (3 < 3); every other branch went as
        // written.
        ASSERT_EQ(o.failures.size(), 1u);
        EXPECT_TRUE(o.failures[0].fatally_failed());
        EXPECT_NE(std::string(o.failures[0].message()).find("Expected: (branch) < (3)"),
                  std::string::npos)
            << o.failures[0].message();
        EXPECT_FALSE(o.reached_end);
    }
}

// ------------------------------------------------------------ passing, in a real test

TAKO_TEST(testing_macros, passing_assertions_continue) {
    int evaluated = 0;
    TAKO_CO_ASSERT_EQ(++evaluated, 1); // each argument is evaluated once
    EXPECT_EQ(evaluated, 1);
    TAKO_CO_ASSERT_EQ(co_await answer(), 42);
    TAKO_CO_ASSERT_NE(std::string("a"), "b");
    TAKO_CO_ASSERT_LT(-1, 1u); // by value: -1 < 1 although -1 converts to UINT_MAX
    TAKO_CO_ASSERT_LE(2, 2);
    TAKO_CO_ASSERT_GT(std::uint64_t{3}, 2);
    TAKO_CO_ASSERT_GE(2.5, 2.5);
    TAKO_CO_ASSERT_EQ(color::green, color::green);
    const int* p = nullptr;
    TAKO_CO_ASSERT_EQ(p, nullptr);
    TAKO_CO_ASSERT(std::is_same_v<int, int>);
    TAKO_CO_ASSERT(evaluated == 1) << "unused message";
    evaluated = 2;
    EXPECT_EQ(evaluated, 2);
}

TAKO_TEST_MT(testing_macros, passing_assertions_continue_mt) {
    TAKO_CO_ASSERT_EQ(co_await answer(), 42);
    TAKO_CO_ASSERT_LT(0u, 1);
    TAKO_CO_ASSERT(true);
}
