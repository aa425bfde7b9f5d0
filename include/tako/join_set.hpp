#pragma once
/// \file
/// `tako::join_set<T>`: a set of spawned tasks, joined in completion order
/// (`tokio::task::JoinSet`).
///
/// ```cpp
/// tako::join_set<int> set;
/// for (int i = 0; i < 10; ++i) set.spawn([i]() -> tako::task<int> { co_return i; });
/// while (auto r = co_await set.join_next()) { use(**r); }
/// ```
/// Destroying the set aborts every task still in it. The set itself is not thread-safe
/// (use it from one task at a time, like `&mut JoinSet`).

#include <deque>
#include <expected>
#include <memory>
#include <mutex>
#include <optional>
#include <source_location>
#include <unordered_map>
#include <utility>

#include "tako/detail/spin_lock.hpp"
#include "tako/detail/task_cell.hpp"
#include "tako/join_handle.hpp"
#include "tako/sync/notify.hpp"

namespace tako {

namespace detail {

/// Tasks of a join_set report here when they end (finish or are cancelled).
struct join_set_state {
    spin_lock lock;
    std::deque<std::uint64_t> finished; ///< ids, in completion order
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
/// when the task ends (see task_cell), reports the end to the set.
template <class X>
struct join_set_entry {
    std::shared_ptr<join_set_state> state;
    std::uint64_t id = 0;
    X work;

    join_set_entry(std::shared_ptr<join_set_state> s, X&& w)
        : state(std::move(s)), work(std::forward<X>(w)) {}
    join_set_entry(join_set_entry&&) noexcept = default;
    join_set_entry& operator=(join_set_entry&&) = delete;
    ~join_set_entry() {
        if (state) {
            state->mark_finished(id);
        }
    }
    auto operator()() {
        if constexpr (task_type<X>) {
            return std::move(work);
        } else {
            return std::invoke(work);
        }
    }
};

} // namespace detail

template <class T>
class join_set {
public:
    using result_type = std::expected<T, join_error>;

    join_set() : state_(std::make_shared<detail::join_set_state>()) {}
    join_set(join_set&&) noexcept = default;
    join_set& operator=(join_set&& other) noexcept {
        if (this != &other) {
            abort_all();
            state_ = std::move(other.state_);
            tasks_ = std::move(other.tasks_);
        }
        return *this;
    }
    /// Aborts every task still in the set (they are cancelled at their next suspension).
    ~join_set() { abort_all(); }

    /// Spawns `work` (a `task<T>` or a callable returning one) on the current runtime and
    /// adds it to the set.
    template <class X>
    requires detail::spawnable<X> && std::is_same_v<detail::spawn_result_t<X>, T>
        abort_handle spawn(X&& work, std::source_location loc = std::source_location::current()) {
        detail::scheduler& s = detail::current_scheduler("tako::join_set::spawn");
        using entry = detail::join_set_entry<std::decay_t<X>>;
        auto* cell = detail::make_cell(entry(state_, std::forward<X>(work)), nullptr, loc);
        cell->callable->id = cell->id;
        tasks_.emplace(cell->id, join_handle<T>(cell));
        abort_handle ah(cell);
        detail::submit_new_task(s, cell);
        return ah;
    }

    /// Waits for the next task to finish and gives its result; empty when the set is.
    /// Cancel-safe: if the wait is cancelled, no result is lost.
    task<std::optional<result_type>> join_next() {
        for (;;) {
            if (tasks_.empty()) {
                co_return std::nullopt;
            }
            if (auto id = peek_finished()) {
                auto it = tasks_.find(*id);
                // The task reported its end just before it completes: await the handle.
                result_type r = co_await it->second;
                pop_finished();
                tasks_.erase(it);
                co_return std::optional<result_type>(std::move(r));
            }
            co_await state_->changed.notified();
        }
    }

    /// The result of a task that already finished, if any; never waits.
    std::optional<result_type> try_join_next() {
        auto id = peek_finished();
        if (!id) {
            return std::nullopt;
        }
        auto it = tasks_.find(*id);
        if (!it->second.is_finished()) {
            return std::nullopt;
        }
        pop_finished();
        auto r = it->second.take_result();
        tasks_.erase(it);
        return r;
    }

    /// Requests cancellation of every task; they stay in the set until joined.
    void abort_all() noexcept {
        for (auto& [id, h] : tasks_) {
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

    /// Removes every task from the set without aborting them (they keep running).
    void detach_all() noexcept {
        tasks_.clear();
        std::lock_guard guard(state_->lock);
        state_->finished.clear();
    }

    [[nodiscard]] std::size_t size() const noexcept { return tasks_.size(); }
    [[nodiscard]] bool empty() const noexcept { return tasks_.empty(); }

private:
    std::optional<std::uint64_t> peek_finished() {
        std::lock_guard guard(state_->lock);
        // Skip ids of detached tasks.
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
    std::unordered_map<std::uint64_t, join_handle<T>> tasks_;
};

} // namespace tako
