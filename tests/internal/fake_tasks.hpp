#pragma once
// Helpers for the internal tests: fake task headers for the queues (never run, never
// freed through ref_dec: only their queue links and ids are used), draining a queue, and
// an exactly-once check over the tasks several threads took.

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "tako/detail/task_header.hpp"

namespace tako_internal {

using tako::detail::task_header;

/// `n` task headers whose ids are their indices 0..n-1.
class fake_tasks {
public:
    explicit fake_tasks(std::size_t n) : tasks_(std::make_unique<task_header[]>(n)), size_(n) {
        for (std::size_t i = 0; i < n; ++i) {
            tasks_[i].id = i;
        }
    }

    task_header* operator[](std::size_t i) noexcept { return &tasks_[i]; }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }

private:
    std::unique_ptr<task_header[]> tasks_;
    std::size_t size_;
};

/// Pops `q` (a run queue, owner side) until it is empty; returns the ids in pop order.
template <class Queue>
std::vector<std::uint64_t> pop_ids(Queue& q) {
    std::vector<std::uint64_t> ids;
    while (task_header* t = q.pop()) {
        ids.push_back(t->id);
    }
    return ids;
}

/// Succeeds if the ids in `taken` (one list per thread) are exactly 0..n-1, each once.
inline testing::AssertionResult each_taken_once(const std::vector<std::vector<std::uint64_t>>& taken,
                                                std::size_t n) {
    std::vector<int> count(n, 0);
    for (const auto& ids : taken) {
        for (std::uint64_t id : ids) {
            if (id >= n) {
                return testing::AssertionFailure() << "unknown task id " << id;
            }
            ++count[id];
        }
    }
    for (std::size_t id = 0; id < n; ++id) {
        if (count[id] != 1) {
            return testing::AssertionFailure()
                   << "task " << id << " was taken " << count[id] << " times";
        }
    }
    return testing::AssertionSuccess();
}

} // namespace tako_internal
