#pragma once
/// \file
/// The intrusive timer entry that a sleep awaiter embeds (no allocation per timer), and the
/// calls into the runtime's time driver that the templates need.

#include <chrono>
#include <cstdint>

#include "tako/detail/task_header.hpp"

namespace tako::detail {

class time_driver;
struct timer_shard;

/// Linked into one wheel slot while armed. Every field is guarded by its shard's lock.
struct timer_entry {
    timer_entry* prev = nullptr;
    timer_entry* next = nullptr;
    std::uint64_t tick = 0;       ///< deadline in the driver's milliseconds, rounded up
    waker to_wake;                ///< fired (under the lock) when the deadline passes
    timer_shard* shard = nullptr; ///< the wheel it is armed in; null when not armed
    timer_shard* home = nullptr;  ///< the wheel it was last armed in (set by its owner only)
    bool fired = false;
    std::uint8_t level = 0; ///< where the wheel linked it
    std::uint8_t slot = 0;
};

/// The time driver of the calling thread's runtime; throws `std::runtime_error` outside one.
time_driver& current_time_driver(const char* what);

/// Arms `e` for `deadline`; false (and not armed) if the deadline has already passed.
bool timer_arm(time_driver& d, timer_entry& e, std::chrono::steady_clock::time_point deadline,
               waker w) noexcept;
/// Disarms `e` if it is still armed (any thread). True if it had fired.
bool timer_disarm(timer_entry& e) noexcept;
/// The current time on the calling thread's runtime clock, or the steady clock outside.
std::chrono::steady_clock::time_point clock_now() noexcept;

} // namespace tako::detail
