#pragma once
/// \file
/// `tako::time::instant`: a point on the runtime's clock (`tokio::time::Instant`).
///
/// `instant::now()` reads the calling thread's runtime clock, which a test can pause and
/// advance (`tako::time::pause`); outside a runtime it reads `std::chrono::steady_clock`.

#include <chrono>
#include <compare>
#include <optional>

#include "tako/detail/timer_entry.hpp"

namespace tako::time {

using duration = std::chrono::nanoseconds;

class instant {
public:
    using clock = std::chrono::steady_clock;

    constexpr instant() noexcept = default;
    constexpr explicit instant(clock::time_point t) noexcept : t_(t) {}

    /// Now, on the current runtime's clock (paused clocks included).
    [[nodiscard]] static instant now() noexcept { return instant(detail::clock_now()); }

    [[nodiscard]] constexpr clock::time_point time_point() const noexcept { return t_; }
    /// Time since `earlier`; zero if `earlier` is later (saturating, as Tokio's).
    [[nodiscard]] duration duration_since(instant earlier) const noexcept {
        return t_ > earlier.t_ ? std::chrono::duration_cast<duration>(t_ - earlier.t_)
                               : duration::zero();
    }
    /// Time passed since this instant.
    [[nodiscard]] duration elapsed() const noexcept { return now().duration_since(*this); }

    /// `*this + d`, or nothing if it would overflow.
    [[nodiscard]] std::optional<instant> checked_add(duration d) const noexcept {
        const auto delta = std::chrono::duration_cast<clock::duration>(d).count();
        clock::rep out{};
        if (__builtin_add_overflow(t_.time_since_epoch().count(), delta, &out)) {
            return std::nullopt;
        }
        return instant(clock::time_point(clock::duration(out)));
    }
    /// `*this - d`, or nothing if it would overflow.
    [[nodiscard]] std::optional<instant> checked_sub(duration d) const noexcept {
        if (d == duration::min()) {
            return std::nullopt; // -d would overflow
        }
        return checked_add(-d);
    }

    friend instant operator+(instant i, duration d) noexcept {
        return i.checked_add(d).value_or(instant(clock::time_point::max()));
    }
    friend instant operator-(instant i, duration d) noexcept {
        return i.checked_sub(d).value_or(instant(clock::time_point::min()));
    }
    friend duration operator-(instant a, instant b) noexcept { return a.duration_since(b); }
    friend constexpr auto operator<=>(instant, instant) noexcept = default;

private:
    clock::time_point t_{};
};

} // namespace tako::time
