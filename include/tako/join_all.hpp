#pragma once
/// \file
/// `tako::join_all` and `tako::try_join_all`: await a whole `std::vector` of tasks, join
/// handles or awaitables at once, inside the calling task (what a Tokio user gets from
/// `futures::future::join_all` / `try_join_all`; nothing is spawned).
///
/// ```cpp
/// std::vector<tako::task<std::size_t>> fetches;
/// for (const auto& url : urls) fetches.push_back(fetch_size(url));
/// std::vector<std::size_t> sizes = co_await tako::join_all(std::move(fetches)); // input order
///
/// std::vector<tako::task<std::expected<int, std::string>>> parses;
/// for (const auto& s : fields) parses.push_back(parse(s));
/// auto all = co_await tako::try_join_all(std::move(parses)); // expected<vector<int>, string>
/// ```
/// The vector is moved in. Its elements are `task<T>`s, `join_handle<T>`s (each gives
/// `std::expected<T, join_error>`), or any other awaitable by value (a oneshot `receiver`,
/// `notify::notified()`, …). Like `join`, the elements run concurrently inside the calling
/// task: all of them start on the first poll, in input order, and afterwards each one is
/// resumed only when its own event fired. Nothing runs in parallel on another worker: for
/// that, spawn the work (or use a `join_set`) and `join_all` the handles.
///
/// Cost: every wake of the calling task checks the flag of each unfinished element, so
/// joining n elements that finish one at a time costs O(n²) flag loads in all (cheap
/// next to the work itself for hundreds of elements; for many thousands, prefer a
/// `join_set`).

#include <cstddef>
#include <expected>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "tako/detail/branches.hpp"
#include "tako/join.hpp"

namespace tako {

namespace detail {

/// A run-time number of branches of one type: the dynamic counterpart of `branch_set`,
/// with the same rules (docs/execution-model.md). Each branch has its own slot and flag; a
/// branch is resumed only when its flag fired *and* the gate of the leaf it waits on is
/// open, so a stale wake leaves it suspended (with its flag still up: see `poll`).
template <class T>
class branch_vector {
public:
    /// Takes the branches; each is started by its first `poll`. Must be constructed by the
    /// driver coroutine itself (it reads the poll context of the chain it runs in).
    explicit branch_vector(std::vector<task<T>> ts)
        : size_(ts.size()), slots_(std::make_unique<branch_slot[]>(ts.size())),
          tasks_(std::move(ts)) {
        poll_context& c = tls_poll;
        for (std::size_t i = 0; i < size_; ++i) {
            branch_slot& b = slots_[i];
            // The driver always runs inside the same enclosing chain, so each flag's parent
            // is fixed here, before any waker can read it.
            b.resume = suspension{tasks_[i].handle(), nullptr};
            b.flag.parent = c.branch;
            b.locals = c.locals != nullptr ? *c.locals : nullptr;
            b.flag.fired.store(true, std::memory_order_relaxed);
        }
    }
    branch_vector(const branch_vector&) = delete;
    branch_vector& operator=(const branch_vector&) = delete;
    /// Destroys the branches before their slots: a branch's awaiters unlink (under their
    /// resource's lock) while its flag still exists.
    ~branch_vector() { tasks_.clear(); }

    [[nodiscard]] std::size_t size() const noexcept { return size_; }

    /// Resumes branch `i` if it fired; true if it is finished afterwards (`branch_set::poll`).
    bool poll(std::size_t i) {
        branch_slot& b = slots_[i];
        if (b.done) {
            return true;
        }
        // A plain load first: most of the flags are down on most polls, and the exchange
        // below would dirty each one's cache line.
        if (!b.flag.fired.load(std::memory_order_relaxed)) {
            return false;
        }
        // acquire: pairs with waker::fire's release, so the branch sees what fired it.
        if (!b.flag.fired.exchange(false, std::memory_order_acquire)) {
            return false;
        }
        if (!b.resume.ready()) {
            // A stale wake (the branch's current leaf has not fired), or a fire still in
            // flight: `waker::fire` marks the flags before it opens the gate, and wakes the
            // task after. Mark this branch and the enclosing ones again, as `yield_at` does,
            // so the poll that the wake brings reaches the branch once its gate is open.
            for (branch_flag* f = &b.flag; f != nullptr; f = f->parent) {
                f->fired.store(true, std::memory_order_relaxed);
            }
            return false;
        }
        resume_branch(b);
        b.done = tasks_[i].handle().done();
        return b.done;
    }

    /// Branch `i`, for taking its result once `poll(i)` said it is finished.
    [[nodiscard]] task<T>& at(std::size_t i) noexcept { return tasks_[i]; }

    /// Frees the frame of finished branch `i` (its result already taken).
    void release(std::size_t i) noexcept { tasks_[i] = task<T>{}; }

private:
    std::size_t size_;
    std::unique_ptr<branch_slot[]> slots_;
    std::vector<task<T>> tasks_;
};

/// Checks that every element is a task that can still run.
template <class T>
void require_fresh_all(const std::vector<task<T>>& ts) {
    for (const task<T>& t : ts) {
        if (!t.valid() || t.done()) {
            throw_empty_task();
        }
    }
}

/// Polls every unfinished branch once, in input order; `on_done(i)` is called for each
/// branch that finishes. `pending` holds the unfinished indices and keeps their order.
/// Returns false as soon as `on_done` does (it then stops polling).
template <class T, class OnDone>
bool poll_pending(branch_vector<T>& set, std::vector<std::size_t>& pending, OnDone&& on_done) {
    std::size_t kept = 0;
    for (std::size_t k = 0; k < pending.size(); ++k) {
        const std::size_t i = pending[k];
        if (!set.poll(i)) {
            pending[kept++] = i;
        } else if (!on_done(i)) {
            return false;
        }
    }
    pending.resize(kept);
    return true;
}

/// 0, 1, …, n - 1.
inline std::vector<std::size_t> all_indices(std::size_t n) {
    std::vector<std::size_t> v(n);
    for (std::size_t i = 0; i < n; ++i) {
        v[i] = i;
    }
    return v;
}

template <class T>
task<std::vector<value_or_monostate<T>>> join_all_driver(std::vector<task<T>> ts) {
    require_fresh_all(ts);
    branch_vector<T> set(std::move(ts));
    std::vector<std::size_t> pending = all_indices(set.size());
    while (!pending.empty()) {
        poll_pending(set, pending, [](std::size_t) { return true; });
        if (pending.empty()) {
            break;
        }
        co_await wait_for_branches{};
    }
    // Every branch has finished; the first exception (in input order) is rethrown and the
    // other results are destroyed with `set`.
    std::vector<value_or_monostate<T>> out;
    out.reserve(set.size());
    for (std::size_t i = 0; i < set.size(); ++i) {
        out.push_back(take_branch_result(set.at(i)));
    }
    co_return out;
}

/// Satisfied by `std::expected<V, E>`.
template <class R>
inline constexpr bool is_expected_v = false;
template <class V, class E>
inline constexpr bool is_expected_v<std::expected<V, E>> = true;

template <class R>
using try_join_all_result_t =
    std::expected<std::vector<expected_value_t<R>>, typename expected_traits<R>::error>;

template <class R>
task<try_join_all_result_t<R>> try_join_all_driver(std::vector<task<R>> ts) {
    using value = expected_value_t<R>;
    require_fresh_all(ts);
    branch_vector<R> set(std::move(ts));
    std::vector<std::optional<value>> values(set.size());
    std::optional<typename expected_traits<R>::error> failure;
    // Takes a finished branch's result (an exception escaping it propagates from here, and
    // the other branches are destroyed with `set` as it unwinds this frame) and frees its
    // frame; false on the first error.
    auto collect = [&](std::size_t i) {
        R r = set.at(i).handle().promise().take_result();
        set.release(i);
        if (!r) {
            failure.emplace(std::move(r.error()));
            return false;
        }
        if constexpr (std::is_void_v<typename R::value_type>) {
            values[i].emplace();
        } else {
            values[i].emplace(std::move(*r));
        }
        return true;
    };
    std::vector<std::size_t> pending = all_indices(set.size());
    while (!pending.empty()) {
        if (!poll_pending(set, pending, collect)) {
            co_return std::unexpected(std::move(*failure)); // `set` destroys the others
        }
        if (pending.empty()) {
            break;
        }
        co_await wait_for_branches{};
    }
    std::vector<value> out;
    out.reserve(values.size());
    for (auto& v : values) {
        out.push_back(std::move(*v));
    }
    co_return out;
}

/// The branches of a `join_all` / `try_join_all` argument.
template <class X>
auto as_branches(std::vector<X>&& xs) {
    if constexpr (task_type<X>) {
        return std::move(xs);
    } else {
        std::vector<decltype(as_branch(std::declval<X>()))> ts;
        ts.reserve(xs.size());
        for (X& x : xs) {
            ts.push_back(as_branch(std::move(x)));
        }
        return ts;
    }
}

} // namespace detail

/// Runs every element of `xs` concurrently inside the calling task and completes when all
/// have finished, with their results in input order: `std::vector<T>` for `task<T>`
/// elements, `std::vector<std::expected<T, join_error>>` for `join_handle<T>` elements, the
/// awaited type for other awaitables, and `std::vector<std::monostate>` (one per element,
/// as `join` gives `std::monostate` for `void`) when the result is `void`. An empty vector
/// gives an empty result at once. If some elements threw, the first exception in input
/// order is rethrown after all have finished. Elements that produce references are
/// rejected (wrap them, e.g. in `std::reference_wrapper`).
///
/// Throws `std::logic_error` (from the `co_await`) if an element is an empty or finished
/// task. Cancel-safety: cancelling the `join_all` destroys every unfinished element (a
/// `join_handle` element is then detached, not aborted, as when it is dropped; abort the
/// tasks yourself, or keep them in a `join_set`, to stop them).
template <class X>
requires(!std::is_reference_v<X>) auto join_all(std::vector<X> xs) {
    using T = detail::branch_result_t<X>;
    static_assert(!std::is_reference_v<T>,
                  "tako::join_all: the elements produce references, which a std::vector "
                  "cannot hold; return a std::reference_wrapper or a pointer instead");
    return detail::join_all_driver<T>(detail::as_branches(std::move(xs)));
}

/// Like `join_all` for elements producing `std::expected<V, E>`: completes with
/// `std::expected<std::vector<V>, E>` holding every value in input order
/// (`std::monostate` for `void` values), or with the first error as soon as it appears,
/// after destroying (cancelling) the elements still running. An exception escaping an
/// element likewise destroys the rest and is rethrown. `join_handle<T>` elements give
/// `std::expected<std::vector<T>, join_error>`: the first task that failed or was
/// cancelled ends the wait, and the other handles are dropped, which detaches their tasks
/// (they keep running).
template <class X>
requires(!std::is_reference_v<X>) auto try_join_all(std::vector<X> xs) {
    using R = detail::branch_result_t<X>;
    static_assert(detail::is_expected_v<R>,
                  "tako::try_join_all: every element must produce a std::expected<V, E>");
    return detail::try_join_all_driver<R>(detail::as_branches(std::move(xs)));
}

} // namespace tako
