#pragma once
/// \file
/// `tako::net::basic_stream`: the byte-stream operations that every connected stream socket
/// shares (`tcp_stream`, `unix_stream`): read, write, their exact and vectored forms, the
/// try_ forms, readiness and shutdown. Not used on its own.
///
/// Reads and writes may run at the same time from two tasks (each direction has its own
/// waiters); the stream must outlive its operations. Writes never raise SIGPIPE.

#include <sys/uio.h>

#include <cstddef>
#include <span>
#include <string_view>
#include <utility>

#include "tako/detail/io_source.hpp"
#include "tako/io/result.hpp"
#include "tako/net/ready_state.hpp"
#include "tako/net/shutdown_how.hpp"
#include "tako/task.hpp"

namespace tako::net {

class basic_stream {
public:
    /// Reads what is available, at most `buf.size()` bytes; 0 at end of stream (or for an
    /// empty buffer). Cancel-safe.
    [[nodiscard]] task<io::result<std::size_t>> read(std::span<std::byte> buf);
    /// `read` into chars. Cancel-safe.
    [[nodiscard]] task<io::result<std::size_t>> read(std::span<char> buf) {
        return read(std::as_writable_bytes(buf));
    }
    /// Like `read` but leaves the bytes in the socket. Cancel-safe.
    [[nodiscard]] task<io::result<std::size_t>> peek(std::span<std::byte> buf);
    /// Fills `buf` entirely; `io::errc::unexpected_eof` if the stream ends first. Not
    /// cancel-safe: cancelled midway, the bytes read so far are lost.
    [[nodiscard]] task<io::result<void>> read_exact(std::span<std::byte> buf);
    /// Writes some of `buf`; how much. Cancel-safe.
    [[nodiscard]] task<io::result<std::size_t>> write(std::span<const std::byte> buf);
    /// Writes all of `buf` (`io::errc::write_zero` if the socket takes nothing). Not
    /// cancel-safe: cancelled midway, part of `buf` may have been written.
    [[nodiscard]] task<io::result<void>> write_all(std::span<const std::byte> buf);
    /// `write_all` of text. Not cancel-safe.
    [[nodiscard]] task<io::result<void>> write_all(std::string_view text) {
        return write_all(std::as_bytes(std::span(text.data(), text.size())));
    }
    /// Scatter read over `iov` (at most IOV_MAX entries). Cancel-safe.
    [[nodiscard]] task<io::result<std::size_t>> read_vectored(std::span<const ::iovec> iov);
    /// Gather write over `iov` (at most IOV_MAX entries). Cancel-safe.
    [[nodiscard]] task<io::result<std::size_t>> write_vectored(std::span<const ::iovec> iov);

    /// One read attempt, now: `std::errc::operation_would_block` if nothing is available.
    [[nodiscard]] io::result<std::size_t> try_read(std::span<std::byte> buf) noexcept;
    /// One write attempt, now: `operation_would_block` if the send buffer is full.
    [[nodiscard]] io::result<std::size_t> try_write(std::span<const std::byte> buf) noexcept;
    /// Waits until the socket is readable (or closed / in error). A spurious readiness is
    /// possible: `try_read` may still report would_block. Cancel-safe.
    [[nodiscard]] task<io::result<ready_state>> readable();
    /// Waits until the socket is writable (or closed / in error). Cancel-safe.
    [[nodiscard]] task<io::result<ready_state>> writable();

    /// shutdown(2): after `write`, the peer reads end of stream once it has read all that
    /// was sent; this side can still read.
    io::result<void> shutdown(shutdown_how how) noexcept;
    /// The descriptor, still owned by the stream.
    [[nodiscard]] int native_handle() const noexcept { return source_.fd(); }
    /// False once closed or moved from.
    [[nodiscard]] bool is_open() const noexcept { return source_.is_open(); }
    /// Closes the connection now (the destructor does it otherwise).
    void close() noexcept { source_.close(); }

protected:
    basic_stream() noexcept = default;
    explicit basic_stream(::tako::detail::io_source s) noexcept : source_(std::move(s)) {}
    basic_stream(basic_stream&&) noexcept = default;
    basic_stream& operator=(basic_stream&&) noexcept = default;
    ~basic_stream() = default;

    ::tako::detail::io_source source_;
};

} // namespace tako::net
