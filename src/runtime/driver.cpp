#include "runtime/driver.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <ctime>

namespace tako::detail {

void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                std::optional<std::chrono::nanoseconds> timeout) noexcept {
    timespec ts{};
    timespec* tsp = nullptr;
    if (timeout) {
        auto ns = timeout->count() < 0 ? 0 : timeout->count();
        ts.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
        ts.tv_nsec = static_cast<long>(ns % 1'000'000'000);
        tsp = &ts;
    }
    // The kernel re-checks `word == expected` atomically with queueing us, so a wake
    // between our check and this call is never lost. EINTR/EAGAIN: callers re-check.
    ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT_PRIVATE, expected, tsp,
              nullptr, 0);
}

void futex_wake(std::atomic<std::uint32_t>& word, int count) noexcept {
    ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE_PRIVATE, count,
              nullptr, nullptr, 0);
}

void thread_parker::park(std::optional<std::chrono::nanoseconds> timeout) noexcept {
    // acquire: everything the unparker wrote before unpark() is visible after we return.
    std::uint32_t s = notified;
    if (state_.compare_exchange_strong(s, empty, std::memory_order_acquire)) {
        return;
    }
    if (timeout && timeout->count() <= 0) {
        return;
    }
    s = empty;
    if (!state_.compare_exchange_strong(s, parked, std::memory_order_acquire)) {
        state_.exchange(empty, std::memory_order_acquire); // it was notified meanwhile
        return;
    }
    const auto deadline = timeout ? std::chrono::steady_clock::now() + *timeout
                                  : std::chrono::steady_clock::time_point::max();
    for (;;) {
        std::optional<std::chrono::nanoseconds> left;
        if (timeout) {
            left = deadline - std::chrono::steady_clock::now();
            if (left->count() <= 0) {
                state_.exchange(empty, std::memory_order_acquire);
                return;
            }
        }
        futex_wait(state_, parked, left);
        s = notified;
        if (state_.compare_exchange_strong(s, empty, std::memory_order_acquire)) {
            return;
        }
        // Spurious wake-up or timeout: loop re-checks the deadline.
    }
}

void thread_parker::unpark() noexcept {
    // release: pairs with the acquire in park().
    if (state_.exchange(notified, std::memory_order_release) == parked) {
        futex_wake(state_, 1);
    }
}

} // namespace tako::detail
