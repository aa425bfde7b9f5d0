#include <tako/tako.hpp>
#include <tako/testing.hpp>

TAKO_TEST(spawn, join_returns_value) {
    auto h = tako::spawn([]() -> tako::task<int> { co_return 5; });
    auto r = co_await h;
    EXPECT_TRUE(r.has_value());
    EXPECT_EQ(*r, 5);
}
