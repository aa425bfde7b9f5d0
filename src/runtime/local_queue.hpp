#pragma once
// A worker's run queue: a fixed ring of 256 tasks. The owner pushes with a plain store and
// pops with a CAS on the head; thieves steal half. The head packs two 32-bit indices:
// `steal` (where an in-progress steal started) and `real` (the next task to hand out).
// While they differ a steal is copying [steal, real) and no other thief may start.

#include <array>
#include <atomic>
#include <cstdint>

#include "runtime/inject_queue.hpp"
#include "tako/detail/task_header.hpp"

namespace tako::detail {

class local_queue {
public:
    static constexpr std::uint32_t capacity = 256;

    /// Owner only. When the ring is full, the older half plus `t` move to `overflow`.
    void push_back(task_header* t, inject_queue& overflow) noexcept {
        for (;;) {
            const std::uint32_t tail = tail_.load(std::memory_order_relaxed); // we own it
            // acquire: a thief's slot reads finished before it advanced `steal`.
            const std::uint64_t head = head_.load(std::memory_order_acquire);
            const std::uint32_t steal = steal_of(head);
            if (tail - steal < capacity) {
                buffer_[tail % capacity].store(t, std::memory_order_relaxed);
                // release: the slot write is visible to whoever reads the new tail.
                tail_.store(tail + 1, std::memory_order_release);
                return;
            }
            if (steal != real_of(head)) {
                overflow.push(t); // a thief is busy; the slots free up soon
                return;
            }
            if (push_overflow(t, real_of(head), overflow)) {
                return;
            }
            // A thief claimed some tasks meanwhile: there is room now.
        }
    }

    /// Owner only.
    task_header* pop() noexcept {
        std::uint64_t head = head_.load(std::memory_order_acquire);
        for (;;) {
            const std::uint32_t steal = steal_of(head), real = real_of(head);
            if (real == tail_.load(std::memory_order_relaxed)) {
                return nullptr;
            }
            const std::uint32_t next_real = real + 1;
            const std::uint32_t next_steal = steal == real ? next_real : steal;
            if (head_.compare_exchange_weak(head, pack(next_steal, next_real),
                                            std::memory_order_acq_rel, std::memory_order_acquire)) {
                return buffer_[real % capacity].load(std::memory_order_relaxed);
            }
        }
    }

    /// Called by the owner of `dst`: moves about half of this queue into `dst` and returns
    /// one of the stolen tasks to run now (null if nothing was stolen).
    task_header* steal_into(local_queue& dst) noexcept {
        const std::uint32_t dst_tail = dst.tail_.load(std::memory_order_relaxed);
        const std::uint32_t dst_steal = steal_of(dst.head_.load(std::memory_order_acquire));
        if (dst_tail - dst_steal > capacity / 2) {
            return nullptr; // our own queue is busy enough
        }
        // Claim [real, real + n) by advancing `real` while leaving `steal` behind.
        std::uint64_t head = head_.load(std::memory_order_acquire);
        std::uint32_t first = 0, n = 0;
        for (;;) {
            const std::uint32_t steal = steal_of(head), real = real_of(head);
            if (steal != real) {
                return nullptr; // another thief is at work
            }
            // acquire: slots up to the tail are written.
            const std::uint32_t tail = tail_.load(std::memory_order_acquire);
            n = tail - real;
            n -= n / 2;
            if (n == 0) {
                return nullptr;
            }
            if (head_.compare_exchange_weak(head, pack(steal, real + n), std::memory_order_acq_rel,
                                            std::memory_order_acquire)) {
                first = real;
                break;
            }
        }
        for (std::uint32_t i = 0; i < n; ++i) {
            task_header* t = buffer_[(first + i) % capacity].load(std::memory_order_relaxed);
            dst.buffer_[(dst_tail + i) % capacity].store(t, std::memory_order_relaxed);
        }
        // Release the claimed slots: steal := real.
        head = head_.load(std::memory_order_acquire);
        for (;;) {
            const std::uint32_t real = real_of(head);
            // release: our slot reads happen before the owner reuses them.
            if (head_.compare_exchange_weak(head, pack(real, real), std::memory_order_acq_rel,
                                            std::memory_order_acquire)) {
                break;
            }
        }
        // Keep the last stolen task to run now; publish the rest in our queue.
        task_header* ret =
            dst.buffer_[(dst_tail + n - 1) % capacity].load(std::memory_order_relaxed);
        if (n > 1) {
            dst.tail_.store(dst_tail + n - 1, std::memory_order_release);
        }
        return ret;
    }

    [[nodiscard]] bool empty() const noexcept { return len() == 0; }
    [[nodiscard]] std::uint32_t len() const noexcept {
        const std::uint64_t head = head_.load(std::memory_order_acquire);
        return tail_.load(std::memory_order_acquire) - real_of(head);
    }
    /// Free slots (owner's view).
    [[nodiscard]] std::uint32_t remaining() const noexcept {
        const std::uint64_t head = head_.load(std::memory_order_acquire);
        return capacity - (tail_.load(std::memory_order_relaxed) - steal_of(head));
    }

private:
    static std::uint32_t steal_of(std::uint64_t head) noexcept {
        return static_cast<std::uint32_t>(head >> 32);
    }
    static std::uint32_t real_of(std::uint64_t head) noexcept {
        return static_cast<std::uint32_t>(head);
    }
    static std::uint64_t pack(std::uint32_t steal, std::uint32_t real) noexcept {
        return (static_cast<std::uint64_t>(steal) << 32) | real;
    }

    /// Moves the older half of a full ring, plus `t`, to `overflow` in one locked batch.
    /// Advancing the head claims those slots, so no thief can take them meanwhile.
    bool push_overflow(task_header* t, std::uint32_t head, inject_queue& overflow) noexcept {
        constexpr std::uint32_t half = capacity / 2;
        std::uint64_t expected = pack(head, head);
        if (!head_.compare_exchange_strong(expected, pack(head + half, head + half),
                                           std::memory_order_release, std::memory_order_relaxed)) {
            return false;
        }
        task_header* first = buffer_[head % capacity].load(std::memory_order_relaxed);
        task_header* prev = first;
        for (std::uint32_t i = 1; i < half; ++i) {
            task_header* cur = buffer_[(head + i) % capacity].load(std::memory_order_relaxed);
            prev->queue_next = cur;
            prev = cur;
        }
        prev->queue_next = t;
        overflow.push_batch(first, t, half + 1);
        return true;
    }

    std::atomic<std::uint64_t> head_{0};
    std::atomic<std::uint32_t> tail_{0};
    std::array<std::atomic<task_header*>, capacity> buffer_{};
};

} // namespace tako::detail
