#pragma once
// Which workers sleep and how many search (Tokio's idle.rs, re-derived): at most half of
// the workers steal at once; a worker that finds work while searching wakes one more; the
// last searcher re-checks every queue before it sleeps, so no wake-up is lost.

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <vector>

namespace tako::detail {

class idle {
public:
    explicit idle(std::size_t workers) : workers_(static_cast<std::uint32_t>(workers)) {
        state_.store(workers_ << unparked_shift, std::memory_order_relaxed);
        sleepers_.reserve(workers);
    }

    /// True if the caller may start searching (fewer than half are searching).
    bool transition_to_searching() noexcept {
        // seq_cst throughout: these counters pair with queue pushes in other threads
        // (store queue, load idle) vs (store idle, load queue): a Dekker pattern.
        const std::uint32_t s = state_.load(std::memory_order_seq_cst);
        if (2 * searching(s) >= workers_) {
            return false;
        }
        state_.fetch_add(1, std::memory_order_seq_cst);
        return true;
    }

    /// The caller found work; true if it was the last searcher (it must wake another).
    bool transition_from_searching() noexcept {
        return searching(state_.fetch_sub(1, std::memory_order_seq_cst)) == 1;
    }

    /// Records that worker `index` sleeps; true if it was the last searcher.
    bool transition_to_parked(std::size_t index, bool was_searching) {
        std::lock_guard guard(lock_);
        const std::uint32_t dec = (1u << unparked_shift) + (was_searching ? 1u : 0u);
        const std::uint32_t prev = state_.fetch_sub(dec, std::memory_order_seq_cst);
        sleepers_.push_back(index);
        return was_searching && searching(prev) == 1;
    }

    /// A sleeper to wake because work arrived, if nobody is searching already. The woken
    /// worker starts out searching.
    std::optional<std::size_t> worker_to_notify() {
        if (!should_notify()) {
            return std::nullopt;
        }
        std::lock_guard guard(lock_);
        if (!should_notify() || sleepers_.empty()) {
            return std::nullopt;
        }
        state_.fetch_add((1u << unparked_shift) + 1u, std::memory_order_seq_cst);
        const std::size_t index = sleepers_.back();
        sleepers_.pop_back();
        return index;
    }

    /// Removes `index` from the sleepers (it woke up for its own reasons). False if a
    /// notifier had already taken it out, counting it as searching: the worker must then
    /// search (and leave searching through `transition_from_searching`), or the count
    /// leaks and no later notification ever wakes a worker.
    bool unpark_worker_by_id(std::size_t index) {
        std::lock_guard guard(lock_);
        auto it = std::find(sleepers_.begin(), sleepers_.end(), index);
        if (it == sleepers_.end()) {
            return false;
        }
        sleepers_.erase(it);
        state_.fetch_add(1u << unparked_shift, std::memory_order_seq_cst);
        return true;
    }

    bool is_parked(std::size_t index) {
        std::lock_guard guard(lock_);
        return std::find(sleepers_.begin(), sleepers_.end(), index) != sleepers_.end();
    }

private:
    static constexpr std::uint32_t unparked_shift = 16;
    static std::uint32_t searching(std::uint32_t s) noexcept {
        return s & ((1u << unparked_shift) - 1);
    }
    static std::uint32_t unparked(std::uint32_t s) noexcept { return s >> unparked_shift; }

    bool should_notify() noexcept {
        // An RMW rather than a load: it orders after the caller's queue push (seq_cst).
        const std::uint32_t s = state_.fetch_add(0, std::memory_order_seq_cst);
        return searching(s) == 0 && unparked(s) < workers_;
    }

    const std::uint32_t workers_;
    std::atomic<std::uint32_t> state_{0};
    std::mutex lock_;
    std::vector<std::size_t> sleepers_;
};

} // namespace tako::detail
