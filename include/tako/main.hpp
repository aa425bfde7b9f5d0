#pragma once
/// \file
/// `TAKO_MAIN(fn)`: a `main` that runs `fn()` on a multi_thread runtime (`#[tokio::main]`).
///
/// ```cpp
/// tako::task<int> async_main() { co_return 0; }
/// TAKO_MAIN(async_main)
/// ```
/// `fn` returns `task<int>` (the exit status) or `task<void>` (exit status 0). An
/// exception escaping `fn` is printed to stderr and the exit status is 1.

#include <cstdio>
#include <exception>
#include <type_traits>

#include "tako/runtime.hpp"

namespace tako::detail {

template <class Fn>
int run_main(Fn fn) noexcept {
    try {
        runtime rt = runtime::builder::multi_thread().build();
        using result = typename std::invoke_result_t<Fn&>::value_type;
        if constexpr (std::is_void_v<result>) {
            rt.block_on(fn);
            return 0;
        } else {
            return static_cast<int>(rt.block_on(fn));
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "tako: main failed: %s\n", e.what());
    } catch (...) {
        std::fprintf(stderr, "tako: main failed with a non-standard exception\n");
    }
    return 1;
}

} // namespace tako::detail

#define TAKO_MAIN(fn)                                                                              \
    int main() {                                                                                   \
        return ::tako::detail::run_main([] { return fn(); });                                      \
    }
