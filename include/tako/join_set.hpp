#pragma once
/// \file
/// `tako::join_set<T>`: a set of spawned tasks, joined in completion order
/// (`tokio::task::JoinSet`).
///
/// ```cpp
/// tako::join_set<int> set;
/// for (int i = 0; i < 10; ++i) set.spawn([i]() -> tako::task<int> { co_return i; });
/// set.spawn_blocking([] { return expensive(); });      // on the blocking pool
/// while (auto r = co_await set.join_next()) { use(**r); }
///
/// // Or all at once, in completion order (throws if a task failed or was cancelled):
/// std::vector<int> all = co_await set.join_all();
/// ```
/// Destroying the set aborts every task still in it. The set itself is not thread-safe
/// (use it from one task at a time, like `&mut JoinSet`).

#include <concepts>
#include <cstdint>
#include <deque>
#include <expected>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <source_location>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tako/detail/branches.hpp"
#include "tako/detail/spin_lock.hpp"
#include "tako/detail/task_cell.hpp"
#include "tako/join_error.hpp"
#include "tako/join_handle.hpp"
#include "tako/runtime.hpp"
#include "tako/sync/notify.hpp"
#include "tako/task_id.hpp"

namespace tako {

namespace detail {

/// Tasks of a join_set report here when they end (finish or are cancelled).
struct join_set_state {
    spin_lock lock;
    std::deque<std::uint64_t> finished; ///< keys (see join_set_entry), in completion order
    sync::notify changed;

    void mark_finished(std::uint64_t id) {
        {
            std::lock_guard guard(lock);
            finished.push_back(id);
        }
        changed.notify_one();
    }
};

/// The callable a join_set spawns: it owns the user's work and, being destroyed exactly
/// when the task ends (see task_cell), reports the end to the set. `key` is the set's own
/// number for the task, fixed before the task exists: a blocking task may end on another
/// thread before its id is known to the set.
template <class X>
struct join_set_entry {
    std::shared_ptr<join_set_state> state;
    std::uint64_t key = 0;
    X work;

    join_set_entry(std::shared_ptr<join_set_state> s, std::uint64_t k, X&& w)
        : state(std::move(s)), key(k), work(std::forward<X>(w)) {}
    join_set_entry(join_set_entry&&) noexcept = default;
    join_set_entry& operator=(join_set_entry&&) = delete;
    ~join_set_entry() {
        if (state) {
            state->mark_finished(key);
        }
    }
    /// A task, a callable returning one, or (spawn_blocking) a plain callable.
    auto operator()() {
        if constexpr (task_type<X>) {
            return std::move(work);
        } else {
            return std::invoke(work);
        }
    }
};

/// `join_set<T>::spawn(f, args...)`: `f(args...)` gives a `task<T>`.
template <class F, class T, class... Args>
concept spawnable_into = spawnable_with<F, Args...> &&
    std::is_same_v<spawn_result_t<bound_call<std::decay_t<F>, std::decay_t<Args>...>>, T>;

/// What a plain callable `F` returns when the blocking pool calls it.
template <class F>
using blocking_result_t = std::invoke_result_t<std::decay_t<F>&>;

/// `join_set<T>::spawn_blocking(f)`: `f()` is a plain call returning `T` (a type that cannot
/// be invoked has no `blocking_result_t`, so it does not satisfy this).
template <class F, class T>
concept blocking_into = std::same_as<blocking_result_t<F>, T>;

/// `join_set<T>::spawn_blocking(f, args...)`: `f(args...)` is a plain call returning `T`.
template <class F, class T, class... Args>
concept blocking_into_with = blocking_callable_with<F, Args...> &&
    blocking_into<bound_call<std::decay_t<F>, std::decay_t<Args>...>, T>;

} // namespace detail

/// A set of spawned tasks whose results are taken in completion order
/// (`tokio::task::JoinSet`). Every task's result type is `T`.
template <class T>
class join_set {
public:
    /// What `join_next` gives for one task: its value, or why there is none.
    using result_type = std::expected<T, join_error>;
    /// What `join_all` collects (`std::monostate` for `void`, as `tako::join` does).
    using value_type = detail::value_or_monostate<T>;

    join_set() : state_(std::make_shared<detail::join_set_state>()) {}
    /// Takes `other`'s tasks; `other` is left empty and usable (it makes new shared state
    /// when it next spawns).
    join_set(join_set&& other) noexcept
        : state_(std::move(other.state_)), tasks_(std::exchange(other.tasks_, {})),
          next_key_(other.next_key_) {}
    join_set& operator=(join_set&& other) noexcept {
        if (this != &other) {
            abort_all();
            state_ = std::move(other.state_);
            tasks_ = std::exchange(other.tasks_, {});
            next_key_ = other.next_key_;
        }
        return *this;
    }
    /// Aborts every task still in the set (they are cancelled at their next suspension).
    ~join_set() { abort_all(); }

    /// Spawns `work` (a `task<T>` or a callable returning one) on the current runtime and
    /// adds it to the set. Throws `std::runtime_error` outside a runtime.
    template <class X>
    requires detail::spawnable<X> && std::is_same_v<detail::spawn_result_t<X>, T>
        abort_handle spawn(X&& work, std::source_location loc = std::source_location::current()) {
        detail::scheduler& s = detail::current_scheduler("tako::join_set::spawn");
        ensure_state();
        using entry = detail::join_set_entry<std::decay_t<X>>;
        const std::uint64_t key = next_key_++;
        auto* cell = detail::make_cell(entry(state_, key, std::forward<X>(work)), nullptr, loc);
        tasks_.emplace(key, join_handle<T>(cell));
        abort_handle ah(cell);
        detail::submit_new_task(s, cell);
        return ah;
    }

    /// Spawns `f(args...)` (`f` returning a `task<T>`) and adds it to the set; `f` and the
    /// decayed arguments are stored in the task, as `tako::spawn(f, args...)` does (the form
    /// that is safe inside a `co_await` statement on g++ 12).
    template <class F, class A0, class... As>
    abort_handle spawn(F&& f, A0&& a0,
                       As&&... as) requires detail::spawnable_into<F, T, A0, As...> {
        return spawn(
            detail::bind_call(std::forward<F>(f), std::forward<A0>(a0), std::forward<As>(as)...));
    }

    /// Runs `f()` (a plain callable returning `T`) on the current runtime's blocking pool,
    /// as `tako::spawn_blocking` does, and adds that task to the set: it is joined, aborted
    /// and detached like the others. As with `spawn_blocking`, `abort` only cancels it
    /// before it starts. Throws `std::runtime_error` outside a runtime.
    template <detail::blocking_into<T> F>
    abort_handle spawn_blocking(F&& f, std::source_location loc = std::source_location::current()) {
        using entry = detail::join_set_entry<std::decay_t<F>>;
        ensure_state();
        const std::uint64_t key = next_key_++;
        // The task may end (and report `key`) before it is in `tasks_`: the report waits in
        // `state_->finished` until this task (the set's only user) looks at it.
        join_handle<T> h =
            runtime_handle::current().spawn_blocking(entry(state_, key, std::forward<F>(f)), loc);
        abort_handle ah = h.get_abort_handle();
        tasks_.emplace(key, std::move(h));
        return ah;
    }

    /// `spawn_blocking` of `f(args...)`, with `f` and the decayed arguments stored in the
    /// task.
    template <class F, class A0, class... As>
    abort_handle spawn_blocking(F&& f, A0&& a0,
                                As&&... as) requires detail::blocking_into_with<F, T, A0, As...> {
        return spawn_blocking(
            detail::bind_call(std::forward<F>(f), std::forward<A0>(a0), std::forward<As>(as)...));
    }

    /// Waits for the next task to finish and gives its result; empty when the set is.
    /// Cancel-safe: if the wait is cancelled, no result is lost.
    task<std::optional<result_type>> join_next() {
        for (;;) {
            if (tasks_.empty()) {
                co_return std::nullopt;
            }
            if (auto key = peek_finished()) {
                auto it = tasks_.find(*key);
                // The task reported its end just before it completes: await the handle.
                result_type r = co_await it->second;
                pop_finished();
                tasks_.erase(it);
                co_return std::optional<result_type>(std::move(r));
            }
            co_await state_->changed.notified();
        }
    }

    /// As `join_next`, with the id of the task that finished (the id its `abort_handle`
    /// reports; `JoinSet::join_next_with_id`). The id comes with failures and cancellations
    /// too (it is also in the `join_error`). Cancel-safe.
    task<std::optional<std::pair<task_id, result_type>>> join_next_with_id() {
        for (;;) {
            if (tasks_.empty()) {
                co_return std::nullopt;
            }
            if (auto key = peek_finished()) {
                auto it = tasks_.find(*key);
                const task_id id = it->second.id();
                // The task reported its end just before it completes: await the handle.
                result_type r = co_await it->second;
                pop_finished();
                tasks_.erase(it);
                co_return std::optional<std::pair<task_id, result_type>>(std::in_place, id,
                                                                         std::move(r));
            }
            co_await state_->changed.notified();
        }
    }

    /// The result of a task that already finished, if any; never waits.
    std::optional<result_type> try_join_next() {
        auto r = try_join_next_with_id();
        if (!r) {
            return std::nullopt;
        }
        return std::optional<result_type>(std::move(r->second));
    }

    /// As `try_join_next`, with the id of the task that finished.
    std::optional<std::pair<task_id, result_type>> try_join_next_with_id() {
        auto key = peek_finished();
        if (!key) {
            return std::nullopt;
        }
        auto it = tasks_.find(*key);
        if (!it->second.is_finished()) {
            return std::nullopt;
        }
        pop_finished();
        const task_id id = it->second.id();
        auto r = it->second.take_result();
        tasks_.erase(it);
        return std::optional<std::pair<task_id, result_type>>(std::in_place, id, std::move(r));
    }

    /// Waits for every task in the set and gives their values in completion order (not
    /// spawn order; `JoinSet::join_all`), leaving the set empty. Where Tokio panics, this
    /// throws: if a task failed, every task still in the set is aborted and the task's own
    /// exception is rethrown; if a task was cancelled, they are aborted and
    /// `tako::task_cancelled` is thrown (what `tako::unwrap` does to one result). The aborted
    /// tasks stay in the set until joined (or the set is destroyed, or `shutdown()`); the
    /// values already collected are lost. To handle failures another way, loop over
    /// `join_next`. Not cancel-safe: cancelling the wait loses the values collected so far
    /// (the tasks not joined yet stay in the set).
    task<std::vector<value_type>> join_all() {
        std::vector<value_type> out;
        out.reserve(tasks_.size());
        for (;;) {
            auto r = co_await join_next();
            if (!r) {
                break;
            }
            if (!r->has_value()) {
                abort_all();
                // Throws: the task's own exception, or task_cancelled.
                (void)tako::unwrap(std::move(*r));
            }
            if constexpr (std::is_void_v<T>) {
                out.emplace_back();
            } else {
                out.push_back(std::move(**r));
            }
        }
        co_return out;
    }

    /// Requests cancellation of every task in the set (`JoinSet::abort_all`): each is
    /// cancelled at its next suspension point (a blocking task only if it has not started).
    /// The tasks stay in the set until joined, and `join_next` then reports them as
    /// cancelled (or with their result, if they finished first).
    void abort_all() noexcept {
        for (auto& [key, h] : tasks_) {
            h.abort();
        }
    }

    /// Aborts every task and waits until all have ended, discarding their results.
    task<void> shutdown() {
        abort_all();
        // Not `while (co_await …) {}`: g++ 12 miscompiles a co_await whose result is only
        // tested in a loop condition with an empty body (it reaches __builtin_unreachable).
        for (;;) {
            auto r = co_await join_next();
            if (!r) {
                break;
            }
        }
    }

    /// Removes every task from the set without aborting them (`JoinSet::detach_all`): they
    /// keep running, their results are discarded, and an exception escaping one of them
    /// goes to the runtime's unhandled-exception hook. The set is empty afterwards.
    void detach_all() noexcept {
        tasks_.clear();
        if (state_) { // null in a moved-from set
            std::lock_guard guard(state_->lock);
            state_->finished.clear();
        }
    }

    /// The number of tasks in the set (running, or finished and not yet joined).
    [[nodiscard]] std::size_t size() const noexcept { return tasks_.size(); }
    /// True if the set holds no task.
    [[nodiscard]] bool empty() const noexcept { return tasks_.empty(); }

private:
    /// A moved-from set gets fresh shared state before it spawns again.
    void ensure_state() {
        if (!state_) {
            state_ = std::make_shared<detail::join_set_state>();
        }
    }
    std::optional<std::uint64_t> peek_finished() {
        std::lock_guard guard(state_->lock);
        // Skip keys of detached tasks.
        while (!state_->finished.empty() && !tasks_.contains(state_->finished.front())) {
            state_->finished.pop_front();
        }
        if (state_->finished.empty()) {
            return std::nullopt;
        }
        return state_->finished.front();
    }
    void pop_finished() {
        std::lock_guard guard(state_->lock);
        state_->finished.pop_front();
    }

    std::shared_ptr<detail::join_set_state> state_;
    /// Keyed by the set's own numbering (join_set_entry::key), not by task id.
    std::unordered_map<std::uint64_t, join_handle<T>> tasks_;
    std::uint64_t next_key_ = 1;
};

} // namespace tako
