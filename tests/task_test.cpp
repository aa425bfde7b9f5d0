#include <tako/task.hpp>
#include <tako/testing.hpp>

#include <stdexcept>
#include <string>

namespace {

tako::task<int> forty_two() {
    co_return 42;
}
tako::task<> nothing() {
    co_return;
}
tako::task<int> add(int a, int b) {
    co_return a + co_await forty_two() - 42 + b;
}

int global_value = 7;
tako::task<int&> ref() {
    co_return global_value;
}

tako::task<int> throws() {
    throw std::runtime_error("boom");
    co_return 0;
}

struct counted {
    static inline int live = 0;
    counted() { ++live; }
    counted(const counted&) { ++live; }
    ~counted() { --live; }
};

} // namespace

TAKO_TEST(task, returns_value) {
    EXPECT_EQ(co_await forty_two(), 42);
}

TAKO_TEST(task, void_and_nested) {
    co_await nothing();
    EXPECT_EQ(co_await add(1, 2), 3);
}

TAKO_TEST(task, returns_reference) {
    int& r = co_await ref();
    EXPECT_EQ(&r, &global_value);
}

TAKO_TEST(task, exception_reaches_awaiter) {
    std::string what;
    try {
        co_await throws();
    } catch (const std::runtime_error& e) {
        what = e.what();
    }
    EXPECT_EQ(what, "boom");
}

TAKO_TEST(task, lazy_until_awaited) {
    bool started = false;
    auto t = [&]() -> tako::task<> {
        started = true;
        co_return;
    };
    auto pending = t();
    EXPECT_FALSE(started);
    co_await pending;
    EXPECT_TRUE(started);
}

TAKO_TEST(task, awaiting_empty_task_throws) {
    tako::task<int> t = forty_two();
    tako::task<int> moved = std::move(t);
    bool threw = false;
    try {
        co_await t;
    } catch (const std::logic_error&) {
        threw = true;
    }
    EXPECT_TRUE(threw);
    EXPECT_EQ(co_await moved, 42);
}

TEST(task, destroying_unstarted_task_destroys_frame) {
    {
        auto body = []() -> tako::task<> {
            counted c;
            co_return;
        };
        auto t = body();
        (void)t;
    }
    EXPECT_EQ(counted::live, 0);
}

// 10 million awaits that complete at once must not grow the stack (the stack guard, docs/design-notes.md).
TAKO_TEST(task, ten_million_ready_awaits_do_not_overflow) {
    long sum = 0;
    for (int i = 0; i < 10'000'000; ++i) {
        sum += co_await forty_two();
    }
    EXPECT_EQ(sum, 420'000'000L);
}

TAKO_TEST(task, deep_recursion_does_not_overflow) {
    struct rec {
        static tako::task<long> depth(long n) {
            if (n == 0) {
                co_return 0;
            }
            co_return 1 + co_await depth(n - 1);
        }
    };
    EXPECT_EQ(co_await rec::depth(100'000), 100'000);
}
