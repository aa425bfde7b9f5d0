#pragma once
// Intrusive FIFO of tasks through task_header::queue_next. Not synchronized.

#include <cstddef>

#include "tako/detail/task_header.hpp"

namespace tako::detail {

class task_queue {
public:
    void push_back(task_header* t) noexcept {
        t->queue_next = nullptr;
        if (tail_ != nullptr) {
            tail_->queue_next = t;
        } else {
            head_ = t;
        }
        tail_ = t;
        ++size_;
    }
    /// Appends a chain `first..last` of `n` tasks already linked through queue_next.
    void push_batch(task_header* first, task_header* last, std::size_t n) noexcept {
        last->queue_next = nullptr;
        if (tail_ != nullptr) {
            tail_->queue_next = first;
        } else {
            head_ = first;
        }
        tail_ = last;
        size_ += n;
    }
    task_header* pop_front() noexcept {
        task_header* t = head_;
        if (t != nullptr) {
            head_ = t->queue_next;
            if (head_ == nullptr) {
                tail_ = nullptr;
            }
            --size_;
        }
        return t;
    }
    /// Removes the `k`-th task (0-based, k < size()).
    task_header* take_at(std::size_t k) noexcept {
        if (k == 0) {
            return pop_front();
        }
        task_header* prev = head_;
        for (std::size_t i = 1; i < k; ++i) {
            prev = prev->queue_next;
        }
        task_header* t = prev->queue_next;
        prev->queue_next = t->queue_next;
        if (tail_ == t) {
            tail_ = prev;
        }
        --size_;
        return t;
    }
    [[nodiscard]] bool empty() const noexcept { return head_ == nullptr; }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }

private:
    task_header* head_ = nullptr;
    task_header* tail_ = nullptr;
    std::size_t size_ = 0;
};

} // namespace tako::detail
