#pragma once
/// \file
/// A one-byte lock for critical sections of a few instructions (waiter lists, join slots).

#include <atomic>
#include <thread>

namespace tako::detail {

/// Tells the CPU we are busy-waiting (lets the sibling hyper-thread run).
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}

/// Test-and-test-and-set lock. Critical sections guarded by it never block or allocate,
/// so spinning briefly and then yielding the CPU is cheaper than a futex round trip.
class spin_lock {
public:
    void lock() noexcept {
        for (unsigned spins = 0;; ++spins) {
            // acquire: pairs with the release in unlock(), so the previous holder's
            // writes are visible once we own the lock.
            if (!locked_.exchange(true, std::memory_order_acquire)) {
                return;
            }
            while (locked_.load(std::memory_order_relaxed)) {
                if (spins++ < 64) {
                    cpu_relax();
                } else {
                    std::this_thread::yield();
                }
            }
        }
    }
    bool try_lock() noexcept {
        return !locked_.load(std::memory_order_relaxed) &&
               !locked_.exchange(true, std::memory_order_acquire);
    }
    void unlock() noexcept { locked_.store(false, std::memory_order_release); }

private:
    std::atomic<bool> locked_{false};
};

} // namespace tako::detail
