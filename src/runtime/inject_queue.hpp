#pragma once
// The global injection queue: tasks scheduled from outside a scheduler's threads, and
// overflow from full local queues. A mutex-guarded intrusive list with a lock-free length.

#include <atomic>
#include <cstddef>
#include <mutex>

#include "runtime/task_queue.hpp"

namespace tako::detail {

class inject_queue {
public:
    void push(task_header* t) noexcept {
        std::lock_guard guard(lock_);
        queue_.push_back(t);
        len_.store(queue_.size(), std::memory_order_release);
    }
    void push_batch(task_header* first, task_header* last, std::size_t n) noexcept {
        std::lock_guard guard(lock_);
        queue_.push_batch(first, last, n);
        len_.store(queue_.size(), std::memory_order_release);
    }
    task_header* pop() noexcept {
        if (empty()) {
            return nullptr;
        }
        std::lock_guard guard(lock_);
        task_header* t = queue_.pop_front();
        len_.store(queue_.size(), std::memory_order_release);
        return t;
    }
    /// Moves up to `max` tasks into `out` (via `sink(task)`); returns how many.
    template <class Sink>
    std::size_t pop_n(std::size_t max, Sink&& sink) noexcept {
        if (empty()) {
            return 0;
        }
        std::lock_guard guard(lock_);
        std::size_t n = 0;
        while (n < max) {
            task_header* t = queue_.pop_front();
            if (t == nullptr) {
                break;
            }
            sink(t);
            ++n;
        }
        len_.store(queue_.size(), std::memory_order_release);
        return n;
    }
    /// Lock-free hint; may be stale by the time the caller acts on it.
    [[nodiscard]] bool empty() const noexcept { return len() == 0; }
    [[nodiscard]] std::size_t len() const noexcept { return len_.load(std::memory_order_acquire); }

private:
    std::mutex lock_;
    task_queue queue_;
    std::atomic<std::size_t> len_{0};
};

} // namespace tako::detail
