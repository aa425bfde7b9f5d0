#pragma once
// What schedulers park on. A driver blocks the parking thread until it is unparked or a
// timeout passes, processing its events (timers, readiness) before it returns. The drivers
// form a stack (docs/io-driver.md): the time driver wraps the I/O driver, or a
// `thread_parker` when I/O is off; the runtime composes it in one place (runtime_core.cpp).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>

namespace tako::detail {

class driver {
public:
    virtual ~driver() = default;
    /// Blocks until `unpark` or `timeout` (none: no limit); a zero timeout only processes
    /// pending events. An `unpark` that precedes `park` makes it return at once.
    /// Only one thread parks on a driver at a time.
    virtual void park(std::optional<std::chrono::nanoseconds> timeout) noexcept = 0;
    /// Wakes the parked thread, or the next one to park. Any thread.
    virtual void unpark() noexcept = 0;
    /// The runtime shuts down: fail what waits on the driver's resources, refuse new ones,
    /// and shut the inner driver down. Idempotent.
    virtual void shutdown() noexcept {}
};

/// Parks one thread on a futex.
class thread_parker final : public driver {
public:
    void park(std::optional<std::chrono::nanoseconds> timeout) noexcept override;
    void unpark() noexcept override;

private:
    static constexpr std::uint32_t empty = 0, parked = 1, notified = 2;
    std::atomic<std::uint32_t> state_{empty};
};

/// futex(2) wrappers on a 32-bit atomic.
void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                std::optional<std::chrono::nanoseconds> timeout) noexcept;
void futex_wake(std::atomic<std::uint32_t>& word, int count) noexcept;

} // namespace tako::detail
