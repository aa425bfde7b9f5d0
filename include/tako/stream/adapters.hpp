#pragma once
/// \file
/// Stream adapters and consumers (tokio-stream's `StreamExt`): `map`, `filter`,
/// `filter_map`, `then`, `take`, `take_while`, `skip`, `skip_while`, `chain`, `zip`,
/// `enumerate`, `chunks`, `fuse`, and the consumers `for_each`, `fold`, `collect`, `count`.
///
/// Each is a free function taking the stream by value (`map(std::move(s), f)`), and each
/// has a one-argument-less form that composes with `|`:
///
/// ```cpp
/// tako::task<std::vector<int>> small_squares() {
///     auto squares = tako::streams::iter(std::vector<int>{1, 2, 3, 4, 5, 6}) |
///                    tako::streams::map([](int x) { return x * x; }) |
///                    tako::streams::filter([](int x) { return x % 2 == 0; }) |
///                    tako::streams::take(2);
///     co_return co_await tako::streams::collect(std::move(squares));   // {4, 16}
/// }
/// ```
///
/// Adapters are lazy (nothing runs before the first `next()`) and pull from their source
/// only as far as their output is pulled: `take(n)` never asks its source for an `n+1`-th
/// item. The callables are moved into the adapter's frame and called with the item as an
/// rvalue (`filter`'s predicate with a const lvalue). Do not write a capturing lambda
/// temporary in a statement that also contains `co_await` (docs/streams.md): bind the
/// adapted stream to a variable first, as above.
///
/// **Cancel safety.** Every adapter's `next()` is cancel-safe as `stream::next()` is: the
/// adapter's body is suspended, not cancelled, so a partly built item (a `chunks` buffer,
/// the first half of a `zip` pair, a `then` future in flight) is kept for the next call.
/// The consumers (`for_each`, `fold`, `collect`, `count`) are tasks: cancelling one
/// destroys the stream it consumed and what it accumulated.

#include <concepts>
#include <cstddef>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "tako/detail/branches.hpp"
#include "tako/stream/stream.hpp"
#include "tako/task.hpp"

namespace tako::streams {

/// A partly applied adapter: `std::move(s) | adapter` calls it with the stream.
template <class Fn>
struct adapter {
    Fn fn;
};
template <class Fn>
adapter(Fn) -> adapter<Fn>;

/// Applies a partly applied adapter (`map(f)`, `take(3)`, `collect()`, …) to `s`.
template <class T, class Fn>
requires std::invocable<Fn&&, stream<T> &&> auto operator|(stream<T>&& s, adapter<Fn> a) {
    return std::move(a.fn)(std::move(s));
}

// ---- one-to-one adapters -------------------------------------------------------------

/// `f(item)` for each item.
template <class T, class F>
stream<std::decay_t<std::invoke_result_t<F&, T&&>>> map(stream<T> s, F f) {
    while (auto v = co_await s.next()) {
        co_yield std::invoke(f, std::move(*v));
    }
}

/// The items for which `pred(item)` is true.
template <class T, class P>
stream<T> filter(stream<T> s, P pred) {
    while (auto v = co_await s.next()) {
        if (std::invoke(pred, std::as_const(*v))) {
            co_yield std::move(*v);
        }
    }
}

/// `*f(item)` for each item where `f` (returning `std::optional<U>`) gives a value.
template <class T, class F>
stream<typename std::invoke_result_t<F&, T&&>::value_type> filter_map(stream<T> s, F f) {
    while (auto v = co_await s.next()) {
        auto r = std::invoke(f, std::move(*v));
        if (r) {
            co_yield std::move(*r);
        }
    }
}

/// Async map: awaits `f(item)` (a task or any awaitable) for each item, one at a time.
/// Cancelled mid-item, the awaited `f(item)` is kept (suspended) for the next `next()`.
template <class T, class F>
stream<std::decay_t<detail::await_result_t<std::invoke_result_t<F&, T&&>>>> then(stream<T> s, F f) {
    while (auto v = co_await s.next()) {
        auto work = std::invoke(f, std::move(*v));
        co_yield co_await std::move(work);
    }
}

/// The items paired with their index: (0, first), (1, second), …
template <class T>
stream<std::pair<std::size_t, T>> enumerate(stream<T> s) {
    std::size_t i = 0;
    while (auto v = co_await s.next()) {
        co_yield std::pair<std::size_t, T>(i++, std::move(*v));
    }
}

/// The same stream: every `tako::stream` is already fused (after the end, `next()` keeps
/// giving `std::nullopt`). Kept so code written against tokio-stream reads the same.
template <class T>
stream<T> fuse(stream<T> s) {
    return s;
}

// ---- prefix and suffix -----------------------------------------------------------------

/// The first `n` items (the source is not polled again after the `n`-th).
template <class T>
stream<T> take(stream<T> s, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        auto v = co_await s.next();
        if (!v) {
            co_return;
        }
        co_yield std::move(*v);
    }
}

/// Items while `pred(item)` holds; the first item failing it is dropped and ends the
/// stream.
template <class T, class P>
stream<T> take_while(stream<T> s, P pred) {
    while (auto v = co_await s.next()) {
        if (!std::invoke(pred, std::as_const(*v))) {
            co_return;
        }
        co_yield std::move(*v);
    }
}

/// All items but the first `n`.
template <class T>
stream<T> skip(stream<T> s, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        if (!co_await s.next()) {
            co_return;
        }
    }
    while (auto v = co_await s.next()) {
        co_yield std::move(*v);
    }
}

/// Drops items while `pred(item)` holds, then yields the rest (the first failing item
/// included).
template <class T, class P>
stream<T> skip_while(stream<T> s, P pred) {
    while (auto v = co_await s.next()) {
        if (!std::invoke(pred, std::as_const(*v))) {
            co_yield std::move(*v);
            break;
        }
    }
    while (auto v = co_await s.next()) {
        co_yield std::move(*v);
    }
}

// ---- combining -------------------------------------------------------------------------

/// The items of `first`, then those of `second` (which starts only when `first` ended).
template <class T>
stream<T> chain(stream<T> first, stream<T> second) {
    while (auto v = co_await first.next()) {
        co_yield std::move(*v);
    }
    while (auto v = co_await second.next()) {
        co_yield std::move(*v);
    }
}

/// Pairs of one item of `a` and one of `b`; ends when either ends. `b` is polled after `a`
/// gave its item (which is kept if the `next()` is cancelled in between).
template <class A, class B>
stream<std::pair<A, B>> zip(stream<A> a, stream<B> b) {
    for (;;) {
        auto x = co_await a.next();
        if (!x) {
            co_return;
        }
        auto y = co_await b.next();
        if (!y) {
            co_return;
        }
        co_yield std::pair<A, B>(std::move(*x), std::move(*y));
    }
}

} // namespace tako::streams

namespace tako::detail {
template <class T>
stream<std::vector<T>> chunks_body(stream<T> s, std::size_t n) {
    std::vector<T> buf;
    buf.reserve(n);
    while (auto v = co_await s.next()) {
        buf.push_back(std::move(*v));
        if (buf.size() == n) {
            co_yield std::exchange(buf, {});
            buf.reserve(n);
        }
    }
    if (!buf.empty()) {
        co_yield std::move(buf);
    }
}

/// Throws `std::invalid_argument` for a chunk size of 0.
inline void check_chunk_size(std::size_t n, const char* who) {
    if (n == 0) {
        throw std::invalid_argument(std::string("tako::streams::") + who +
                                    ": the chunk size must be at least 1");
    }
}
} // namespace tako::detail

namespace tako::streams {

/// Items in vectors of `n` (the last one may be shorter). Throws `std::invalid_argument`
/// at once when `n` is 0.
template <class T>
stream<std::vector<T>> chunks(stream<T> s, std::size_t n) {
    detail::check_chunk_size(n, "chunks");
    return detail::chunks_body(std::move(s), n);
}

// ---- consumers -------------------------------------------------------------------------

/// Calls `f(item)` for every item; when `f` returns an awaitable (a task), awaits it before
/// pulling the next item.
template <class T, class F>
task<void> for_each(stream<T> s, F f) {
    while (auto v = co_await s.next()) {
        if constexpr (std::is_void_v<std::invoke_result_t<F&, T&&>>) {
            std::invoke(f, std::move(*v));
        } else {
            auto work = std::invoke(f, std::move(*v));
            co_await std::move(work);
        }
    }
}

/// `acc = f(std::move(acc), item)` over every item, starting from `init`.
template <class T, class Acc, class F>
task<Acc> fold(stream<T> s, Acc init, F f) {
    while (auto v = co_await s.next()) {
        init = std::invoke(f, std::move(init), std::move(*v));
    }
    co_return init;
}

/// Every item, in order.
template <class T>
task<std::vector<T>> collect(stream<T> s) {
    std::vector<T> out;
    while (auto v = co_await s.next()) {
        out.push_back(std::move(*v));
    }
    co_return out;
}

/// How many items the stream yields.
template <class T>
task<std::size_t> count(stream<T> s) {
    std::size_t n = 0;
    while (co_await s.next()) {
        ++n;
    }
    co_return n;
}

// ---- pipeable forms --------------------------------------------------------------------

/// `map` partly applied: `std::move(s) | streams::map(...)`.
template <class F>
auto map(F f) {
    return adapter{[f = std::move(f)]<class T>(stream<T> s) mutable {
        return map(std::move(s), std::move(f));
    }};
}
/// `filter` partly applied: `std::move(s) | streams::filter(...)`.
template <class P>
auto filter(P pred) {
    return adapter{[p = std::move(pred)]<class T>(stream<T> s) mutable {
        return filter(std::move(s), std::move(p));
    }};
}
/// `filter_map` partly applied: `std::move(s) | streams::filter_map(...)`.
template <class F>
auto filter_map(F f) {
    return adapter{[f = std::move(f)]<class T>(stream<T> s) mutable {
        return filter_map(std::move(s), std::move(f));
    }};
}
/// `then` partly applied: `std::move(s) | streams::then(...)`.
template <class F>
auto then(F f) {
    return adapter{[f = std::move(f)]<class T>(stream<T> s) mutable {
        return then(std::move(s), std::move(f));
    }};
}
/// `enumerate` partly applied: `std::move(s) | streams::enumerate(...)`.
inline auto enumerate() {
    return adapter{[]<class T>(stream<T> s) { return enumerate(std::move(s)); }};
}
/// `fuse` partly applied: `std::move(s) | streams::fuse(...)`.
inline auto fuse() {
    return adapter{[]<class T>(stream<T> s) { return fuse(std::move(s)); }};
}
/// `take` partly applied: `std::move(s) | streams::take(...)`.
inline auto take(std::size_t n) {
    return adapter{[n]<class T>(stream<T> s) { return take(std::move(s), n); }};
}
/// `take_while` partly applied: `std::move(s) | streams::take_while(...)`.
template <class P>
auto take_while(P pred) {
    return adapter{[p = std::move(pred)]<class T>(stream<T> s) mutable {
        return take_while(std::move(s), std::move(p));
    }};
}
/// `skip` partly applied: `std::move(s) | streams::skip(...)`.
inline auto skip(std::size_t n) {
    return adapter{[n]<class T>(stream<T> s) { return skip(std::move(s), n); }};
}
/// `skip_while` partly applied: `std::move(s) | streams::skip_while(...)`.
template <class P>
auto skip_while(P pred) {
    return adapter{[p = std::move(pred)]<class T>(stream<T> s) mutable {
        return skip_while(std::move(s), std::move(p));
    }};
}
/// `chain` partly applied: `std::move(s) | streams::chain(...)`.
template <class T>
auto chain(stream<T> second) {
    return adapter{
        [b = std::move(second)](stream<T> a) mutable { return chain(std::move(a), std::move(b)); }};
}
/// `zip` partly applied: `std::move(s) | streams::zip(...)`.
template <class B>
auto zip(stream<B> second) {
    return adapter{[b = std::move(second)]<class A>(stream<A> a) mutable {
        return zip(std::move(a), std::move(b));
    }};
}
/// `chunks` partly applied: `std::move(s) | streams::chunks(...)`.
inline auto chunks(std::size_t n) {
    detail::check_chunk_size(n, "chunks");
    return adapter{[n]<class T>(stream<T> s) { return chunks(std::move(s), n); }};
}
/// `for_each` partly applied: `std::move(s) | streams::for_each(...)`.
template <class F>
auto for_each(F f) {
    return adapter{[f = std::move(f)]<class T>(stream<T> s) mutable {
        return for_each(std::move(s), std::move(f));
    }};
}
/// `fold` partly applied: `std::move(s) | streams::fold(...)`.
template <class Acc, class F>
auto fold(Acc init, F f) {
    return adapter{[init = std::move(init), f = std::move(f)]<class T>(stream<T> s) mutable {
        return fold(std::move(s), std::move(init), std::move(f));
    }};
}
/// `collect` partly applied: `std::move(s) | streams::collect(...)`.
inline auto collect() {
    return adapter{[]<class T>(stream<T> s) { return collect(std::move(s)); }};
}
/// `count` partly applied: `std::move(s) | streams::count(...)`.
inline auto count() {
    return adapter{[]<class T>(stream<T> s) { return count(std::move(s)); }};
}

} // namespace tako::streams
