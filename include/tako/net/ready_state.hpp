#pragma once
/// \file
/// `tako::net::ready_state`: the readiness a socket's `readable()` / `writable()` report
/// (`tokio::io::Ready`), shared by every socket type.

#include <cstdint>

namespace tako::net {

/// Readiness reported by `readable()` / `writable()` (bits of `io_ready`).
struct ready_state {
    /// The raw readiness bits.
    std::uint32_t bits = 0;
    /// Data (or a connection, or end of stream) can be read.
    [[nodiscard]] bool is_readable() const noexcept { return (bits & 1U) != 0; }
    /// Data can be written.
    [[nodiscard]] bool is_writable() const noexcept { return (bits & 2U) != 0; }
    /// The peer shut down its write side: reads reach end of stream.
    [[nodiscard]] bool is_read_closed() const noexcept { return (bits & 4U) != 0; }
    /// Writing can no longer succeed.
    [[nodiscard]] bool is_write_closed() const noexcept { return (bits & 8U) != 0; }
    /// An error is pending on the socket.
    [[nodiscard]] bool is_error() const noexcept { return (bits & 16U) != 0; }
};

} // namespace tako::net
