#pragma once
/// \file
/// In-memory byte streams (Tokio's `io::duplex` and `io::simplex`): two ends connected to
/// each other through bounded buffers, for tests and for joining two parts of a program
/// that expect sockets.
///
/// ```cpp
/// #include <tako/io/duplex.hpp>
/// #include <tako/io/util.hpp>
///
/// tako::task<void> ping_pong() {
///     auto [client, server] = tako::io::duplex(64);   // 64 bytes buffered each way
///     (void)co_await tako::io::write_all(client, "ping");
///     std::array<std::byte, 4> got;
///     (void)co_await tako::io::read_exact(server, got); // "ping"
/// }
/// ```
///
/// `simplex(capacity)` gives a reader and a writer over one buffer of `capacity` bytes;
/// `duplex(capacity)` gives two `duplex_stream`s, each writing into a buffer that the other
/// reads. Back-pressure: a write takes what fits and waits while the buffer is full, until
/// the reader reads. End of stream: once the writer is destroyed or shut down, the reader
/// reads what is left, then 0. Dropping the reader makes writes fail with
/// `std::errc::broken_pipe` (and drops what was buffered); so does writing after
/// `shutdown()`. A moved-from end fails with `io::errc::closed`.
///
/// The ends may be used from any threads (one reader and one writer at a time per
/// direction; more interleave unpredictably), and an end must outlive its operations.
///
/// **Cancel safety.** `read` and `write` are cancel-safe: cancelled while waiting, they
/// read or wrote nothing.

#include <cstddef>
#include <memory>
#include <span>
#include <utility>

#include "tako/io/result.hpp"
#include "tako/task.hpp"

namespace tako::detail {
class byte_pipe;

/// One end's share of a pipe; closes its side (reading or writing) when destroyed.
class pipe_end {
public:
    pipe_end() noexcept = default;
    pipe_end(std::shared_ptr<byte_pipe> p, bool writer) noexcept
        : pipe_(std::move(p)), writer_(writer) {}
    pipe_end(pipe_end&&) noexcept = default;
    pipe_end& operator=(pipe_end&& o) noexcept {
        if (this != &o) {
            close();
            pipe_ = std::move(o.pipe_);
            writer_ = o.writer_;
        }
        return *this;
    }
    ~pipe_end() { close(); }

    /// Closes this side now (idempotent).
    void close() noexcept;
    [[nodiscard]] byte_pipe* get() const noexcept { return pipe_.get(); }

private:
    std::shared_ptr<byte_pipe> pipe_;
    bool writer_ = false;
};
} // namespace tako::detail

namespace tako::io {

class simplex_writer;

/// The reading end of `simplex`.
class simplex_reader {
public:
    /// A closed reader: reads fail with `io::errc::closed`.
    simplex_reader() noexcept = default;

    /// Reads what is buffered, at most `buf.size()` bytes, waiting while the buffer is
    /// empty; 0 once the writer is gone (or shut down) and the buffer is empty, or for an
    /// empty `buf`. Cancel-safe.
    [[nodiscard]] task<io::result<std::size_t>> read(std::span<std::byte> buf);

private:
    friend std::pair<simplex_reader, simplex_writer> simplex(std::size_t);
    explicit simplex_reader(detail::pipe_end e) noexcept : end_(std::move(e)) {}
    detail::pipe_end end_;
};

/// The writing end of `simplex`. Destroying it is a `shutdown()`.
class simplex_writer {
public:
    /// A closed writer: writes fail with `io::errc::closed`.
    simplex_writer() noexcept = default;

    /// Copies as much of `buf` as fits into the buffer, waiting while it is full; how much
    /// (0 only for an empty `buf`). `broken_pipe` once the reader is gone or after
    /// `shutdown()`. Cancel-safe.
    [[nodiscard]] task<io::result<std::size_t>> write(std::span<const std::byte> buf);
    /// Ends the stream: the reader reads what is buffered, then end of stream. Never fails.
    io::result<void> shutdown() noexcept;

private:
    friend std::pair<simplex_reader, simplex_writer> simplex(std::size_t);
    explicit simplex_writer(detail::pipe_end e) noexcept : end_(std::move(e)) {}
    detail::pipe_end end_;
};

/// A reader and a writer over one buffer of `capacity` bytes (0 is taken as 1).
[[nodiscard]] std::pair<simplex_reader, simplex_writer> simplex(std::size_t capacity);

/// One end of `duplex`: reads what the other end writes, and writes what it reads.
/// Destroying it gives the other end end of stream on read and `broken_pipe` on write.
class duplex_stream {
public:
    /// A closed stream: operations fail with `io::errc::closed`.
    duplex_stream() noexcept = default;

    /// Reads what the other end wrote (see `simplex_reader::read`). Cancel-safe.
    [[nodiscard]] task<io::result<std::size_t>> read(std::span<std::byte> buf) {
        return rd_.read(buf);
    }
    /// Writes for the other end to read (see `simplex_writer::write`). Cancel-safe.
    [[nodiscard]] task<io::result<std::size_t>> write(std::span<const std::byte> buf) {
        return wr_.write(buf);
    }
    /// Shuts this end's write direction down: the other end reads end of stream after what
    /// is buffered; this end can still read.
    io::result<void> shutdown() noexcept { return wr_.shutdown(); }

private:
    friend std::pair<duplex_stream, duplex_stream> duplex(std::size_t);
    duplex_stream(simplex_reader rd, simplex_writer wr) noexcept
        : rd_(std::move(rd)), wr_(std::move(wr)) {}
    simplex_reader rd_;
    simplex_writer wr_;
};

/// Two streams connected to each other, with `capacity` bytes buffered in each direction
/// (0 is taken as 1).
[[nodiscard]] std::pair<duplex_stream, duplex_stream> duplex(std::size_t capacity);

} // namespace tako::io
