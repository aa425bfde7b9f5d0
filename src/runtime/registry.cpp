#include "runtime/registry.hpp"

#include <bit>
#include <mutex>

namespace tako::detail {

// A task that is in no list points to itself (list_prev == this).

task_registry::task_registry(std::size_t shards)
    : shards_(std::make_unique<shard[]>(std::bit_ceil(shards < 1 ? 1 : shards))),
      mask_(std::bit_ceil(shards < 1 ? 1 : shards) - 1) {}

bool task_registry::insert(task_header* t) noexcept {
    shard& s = shard_for(t);
    std::lock_guard guard(s.lock);
    if (s.closed) {
        return false;
    }
    t->list_prev = nullptr;
    t->list_next = s.head;
    if (s.head != nullptr) {
        s.head->list_prev = t;
    }
    s.head = t;
    ++s.count;
    ++s.inserted;
    return true;
}

void task_registry::remove(task_header* t) noexcept {
    shard& s = shard_for(t);
    std::lock_guard guard(s.lock);
    if (t->list_prev == t) {
        return; // already taken by pop_any
    }
    if (t->list_prev != nullptr) {
        t->list_prev->list_next = t->list_next;
    } else {
        s.head = t->list_next;
    }
    if (t->list_next != nullptr) {
        t->list_next->list_prev = t->list_prev;
    }
    t->list_prev = t->list_next = t;
    --s.count;
}

void task_registry::close() noexcept {
    for (std::size_t i = 0; i <= mask_; ++i) {
        std::lock_guard guard(shards_[i].lock);
        shards_[i].closed = true;
    }
}

task_header* task_registry::pop_any() noexcept {
    for (std::size_t i = 0; i <= mask_; ++i) {
        shard& s = shards_[i];
        std::lock_guard guard(s.lock);
        task_header* t = s.head;
        if (t == nullptr) {
            continue;
        }
        s.head = t->list_next;
        if (s.head != nullptr) {
            s.head->list_prev = nullptr;
        }
        t->list_prev = t->list_next = t;
        --s.count;
        // A task is alive while listed (finish() unlinks it under this lock before it
        // drops the lifecycle reference): our reference keeps it alive for the caller.
        t->ref_inc();
        return t;
    }
    return nullptr;
}

template <class Field>
std::uint64_t task_registry::sum(Field field) const noexcept {
    std::uint64_t n = 0;
    for (std::size_t i = 0; i <= mask_; ++i) {
        std::lock_guard guard(shards_[i].lock);
        n += shards_[i].*field;
    }
    return n;
}

std::size_t task_registry::size() const noexcept {
    return sum(&shard::count);
}

std::uint64_t task_registry::inserted() const noexcept {
    return sum(&shard::inserted);
}

} // namespace tako::detail
