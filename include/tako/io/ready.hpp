#pragma once
/// \file
/// `tako::io::ready_state`: the readiness a `readable()` / `writable()` wait reports
/// (Tokio's `Ready`).

#include <cstdint>

namespace tako::io {

/// Readiness bits reported by the I/O driver. A spurious readiness is possible: the next
/// `try_` operation may still report `operation_would_block`.
struct ready_state {
    std::uint32_t bits = 0;
    [[nodiscard]] bool is_readable() const noexcept { return (bits & 1U) != 0; }
    [[nodiscard]] bool is_writable() const noexcept { return (bits & 2U) != 0; }
    /// The peer shut down its write side (a read returns end of stream).
    [[nodiscard]] bool is_read_closed() const noexcept { return (bits & 4U) != 0; }
    /// Writing can no longer succeed.
    [[nodiscard]] bool is_write_closed() const noexcept { return (bits & 8U) != 0; }
    /// An error is pending on the descriptor.
    [[nodiscard]] bool is_error() const noexcept { return (bits & 16U) != 0; }
};

} // namespace tako::io
