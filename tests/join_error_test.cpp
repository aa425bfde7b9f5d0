// join_error: what joining a task that threw reports (is_panic, the exception, the
// message, rethrow).

#include <tako/tako.hpp>
#include <tako/testing.hpp>

#include <stdexcept>
#include <string>

#include "test_support.hpp"

namespace {

using tako_test::throw_runtime_error;

} // namespace

// ------------------------------------------------------------------ exceptions

TAKO_TEST(join_error, join_reports_exception) {
    auto h = tako::spawn(throw_runtime_error("boom"));
    const tako::task_id id = h.id();
    auto r = co_await h;
    TAKO_CO_ASSERT(!r.has_value());
    const tako::join_error& e = r.error();
    EXPECT_TRUE(e.is_panic());
    EXPECT_FALSE(e.is_cancelled());
    EXPECT_TRUE(static_cast<bool>(e.exception()));
    EXPECT_EQ(e.id(), id);
    EXPECT_EQ(e.message(), "task " + std::to_string(id.value) + " failed: boom");
    std::string what;
    try {
        e.rethrow();
    } catch (const std::runtime_error& ex) {
        what = ex.what();
    }
    EXPECT_EQ(what, "boom");
}

TAKO_TEST(join_error, join_reports_non_standard_exception) {
    auto h = tako::spawn([]() -> tako::task<int> {
        throw 42;
        co_return 0;
    });
    const tako::task_id id = h.id();
    auto r = co_await h;
    TAKO_CO_ASSERT(!r.has_value());
    EXPECT_TRUE(r.error().is_panic());
    EXPECT_EQ(r.error().message(),
              "task " + std::to_string(id.value) + " failed with a non-standard exception");
    int thrown = 0;
    try {
        r.error().rethrow();
    } catch (int v) {
        thrown = v;
    }
    EXPECT_EQ(thrown, 42);
}

TAKO_TEST(join_error, exception_after_suspension) {
    auto h = tako::spawn([]() -> tako::task<> {
        co_await tako::yield_now();
        throw std::out_of_range("late");
    });
    auto r = co_await h;
    TAKO_CO_ASSERT(!r.has_value());
    EXPECT_TRUE(r.error().is_panic());
    bool caught = false;
    try {
        std::rethrow_exception(r.error().exception());
    } catch (const std::out_of_range& e) {
        caught = std::string(e.what()) == "late";
    }
    EXPECT_TRUE(caught);
}

TAKO_TEST_MT(join_error, join_reports_exception_mt) {
    auto h = tako::spawn(throw_runtime_error("mt boom"));
    auto r = co_await h;
    TAKO_CO_ASSERT(!r.has_value());
    EXPECT_TRUE(r.error().is_panic());
    EXPECT_NE(r.error().message().find("failed: mt boom"), std::string::npos);
}
