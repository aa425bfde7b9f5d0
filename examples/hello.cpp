// Spawning concurrent tasks and joining them (the third example on Tokio's front page).
#include <tako/tako.hpp>

#include <cstdio>
#include <string>

tako::task<int> async_main() {
    auto h1 = tako::spawn([]() -> tako::task<int> { co_return 42; });
    auto h2 = tako::spawn([]() -> tako::task<std::string> { co_return "hello"; });
    auto [r1, r2] =
        co_await tako::join(std::move(h1), std::move(h2)); // each expected<T, join_error>
    std::printf("%d %s\n", *r1, r2->c_str());
    co_return 0;
}

TAKO_MAIN(async_main)
