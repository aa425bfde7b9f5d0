#pragma once
/// \file
/// `TAKO_MAIN(fn)`: a `main` that runs `fn` on a multi_thread runtime (`#[tokio::main]`);
/// `TAKO_MAIN_WITH(fn, builder)` runs it on the runtime that `builder` builds
/// (`#[tokio::main(flavor = "current_thread")]`, worker count, paused clock, hooks).
///
/// ```cpp
/// tako::task<int> async_main(int argc, char** argv) { co_return argc > 1 ? 0 : 2; }
/// TAKO_MAIN(async_main)
/// ```
/// ```cpp
/// tako::task<void> serve(std::span<char*> args) { co_return; }
/// TAKO_MAIN_WITH(serve, tako::runtime::builder::current_thread())
/// ```
/// `TAKO_MAIN_LOCAL(fn)` runs `fn` on a current_thread runtime inside a `local_set`, so
/// `fn` and every task it spawns may call `tako::spawn_local` for tasks holding
/// thread-affine state (Tokio's `LocalRuntime`); local tasks still running when `fn`
/// returns are cancelled.
///
/// ```cpp
/// tako::task<int> local_main() {
///     auto h = tako::spawn_local([]() -> tako::task<int> { co_return 7; });
///     co_return *co_await h;
/// }
/// TAKO_MAIN_LOCAL(local_main)
/// ```
/// `fn` takes nothing, `(int argc, char** argv)`, or `(std::span<char*> args)`, and returns
/// `task<int>` (the exit status) or `task<void>` (exit status 0). An exception escaping
/// `fn` is printed to stderr with its `what()` and the exit status is 1; a failed
/// `join_handle` result accessed with `.value()` prints the task's own error, and
/// `tako::unwrap` rethrows the task's original exception. Every driver is enabled (I/O and
/// time), as `#[tokio::main]` does.

#include <cstdio>
#include <exception>
#include <expected>
#include <span>
#include <type_traits>
#include <utility>

#include "tako/join_error.hpp"
#include "tako/local_set.hpp"
#include "tako/runtime.hpp"

namespace tako::detail {

/// Calls the user's main function with the arguments it accepts.
template <class Fn>
auto call_main(Fn& fn, int argc, char** argv) {
    if constexpr (std::is_invocable_v<Fn&, int, char**>) {
        return fn(argc, argv);
    } else if constexpr (std::is_invocable_v<Fn&, std::span<char*>>) {
        return fn(std::span<char*>(argv, static_cast<std::size_t>(argc)));
    } else {
        static_assert(std::is_invocable_v<Fn&>,
                      "TAKO_MAIN: the main function takes (), (int, char**) or "
                      "(std::span<char*>) and returns tako::task<int> or tako::task<void>");
        return fn();
    }
}

/// Runs `body` as the first task of a local_set and drives the set until it returns.
template <class Body>
auto in_local_set(Body body) -> decltype(body()) {
    local_set set;
    co_return co_await set.run_until(std::move(body));
}

/// Whether the main function runs inside a local_set (`TAKO_MAIN_LOCAL`).
enum class main_kind : unsigned char { plain, local };

template <class Fn>
int run_main(runtime::builder builder, Fn fn, int argc, char** argv,
             main_kind kind = main_kind::plain) noexcept {
    try {
        runtime rt = builder.enable_all().build(); // every driver, as #[tokio::main]
        using result = typename decltype(call_main(fn, argc, argv))::value_type;
        // The callable is stored in the task, so the references it holds stay valid.
        auto body = [&fn, argc, argv] { return call_main(fn, argc, argv); };
        auto run = [&] {
            if (kind == main_kind::local) {
                return rt.block_on(in_local_set(body));
            }
            return rt.block_on(body);
        };
        if constexpr (std::is_void_v<result>) {
            run();
            return 0;
        } else {
            return static_cast<int>(run());
        }
    } catch (const std::bad_expected_access<join_error>& e) {
        std::fprintf(stderr, "tako: main failed: .value() on a failed join: %s\n",
                     e.error().message().c_str());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "tako: main failed: %s\n", e.what());
    } catch (...) {
        std::fprintf(stderr, "tako: main failed with a non-standard exception\n");
    }
    return 1;
}

} // namespace tako::detail

/// Defines `main`: wraps `fn` (a function or overload set) in a generic lambda and runs it.
#define TAKO_DETAIL_MAIN(fn, builder, kind)                                                        \
    int main(int tako_argc, char** tako_argv) {                                                    \
        auto tako_fn = [](auto&&... args) -> decltype(fn(std::forward<decltype(args)>(args)...)) { \
            return fn(std::forward<decltype(args)>(args)...);                                      \
        };                                                                                         \
        return ::tako::detail::run_main((builder), tako_fn, tako_argc, tako_argv, (kind));         \
    }

#define TAKO_MAIN_WITH(fn, builder) TAKO_DETAIL_MAIN(fn, builder, ::tako::detail::main_kind::plain)
#define TAKO_MAIN(fn) TAKO_MAIN_WITH(fn, ::tako::runtime::builder::multi_thread())
#define TAKO_MAIN_LOCAL(fn)                                                                        \
    TAKO_DETAIL_MAIN(fn, ::tako::runtime::builder::current_thread(),                               \
                     ::tako::detail::main_kind::local)
