#pragma once
/// \file
/// The byte-stream concepts of `tako::io` (Tokio's `AsyncRead`, `AsyncWrite` and
/// `AsyncBufRead`), and `io::flush` / `io::shutdown`, which work on any writer.
///
/// ```cpp
/// #include <tako/io/traits.hpp>
///
/// template <tako::io::async_write W>
/// tako::task<tako::io::result<void>> say_bye(W& w) {
///     auto bye = std::as_bytes(std::span("bye\n", 4));
///     auto n = co_await w.write(bye);                 // some of it, maybe not all
///     if (!n) co_return std::unexpected(n.error());
///     if (auto f = co_await tako::io::flush(w); !f) co_return f;
///     co_return co_await tako::io::shutdown(w);       // the peer reads end of stream
/// }
/// ```
///
/// A type is a reader or a writer by having the member functions, nothing to inherit:
///
/// - `async_read`: `read(std::span<std::byte>)` → `task<io::result<std::size_t>>`, at most
///   the span's size; 0 means end of stream (or an empty span).
/// - `async_write`: `write(std::span<const std::byte>)` → `task<io::result<std::size_t>>`,
///   how many bytes were taken (at least one for a non-empty span, unless it fails).
/// - `async_buf_read`: a reader with its own buffer: `fill_buf()` →
///   `task<io::result<std::span<const std::byte>>>` (the buffered bytes, reading more only
///   when the buffer is empty; an empty span at end of stream) and `consume(n)` (those `n`
///   bytes were used). The span stays valid until the next call on the reader.
///
/// `tcp_stream`, `unix_stream`, the halves of `tcp_stream::split` / `into_split`, and
/// everything in `tako::io` (`buf_reader`, `buf_writer`, `duplex_stream`, …) satisfy them.
/// A writer need not buffer or support half-closing, so `flush` and `shutdown` are not part
/// of `async_write`: `io::flush(w)` calls `w.flush()` when the writer has one (a buffered
/// writer) and does nothing otherwise; `io::shutdown(w)` flushes, then calls
/// `w.shutdown()` (awaited if it returns a task) or `w.shutdown(shutdown_how::write)` (a
/// socket), and does nothing for a writer that has neither.
///
/// The functions of `tako::io` take the reader or writer by reference: it must outlive the
/// operation (await them in the statement that calls them, or keep the stream alive).
/// Types whose operations can be cancelled without losing data say so; the helpers'
/// cancel safety is documented with each.

#include <concepts>
#include <cstddef>
#include <span>

#include "tako/io/result.hpp"
#include "tako/net/shutdown_how.hpp"
#include "tako/task.hpp"

namespace tako::io {

/// A byte source: `read(buf)` gives at most `buf.size()` bytes, 0 at end of stream.
template <class R>
concept async_read = requires(R& r, std::span<std::byte> buf) {
    { r.read(buf) } -> std::same_as<task<io::result<std::size_t>>>;
};

/// A byte sink: `write(buf)` takes some of `buf` and says how much.
template <class W>
concept async_write = requires(W& w, std::span<const std::byte> buf) {
    { w.write(buf) } -> std::same_as<task<io::result<std::size_t>>>;
};

/// A reader with an internal buffer: `fill_buf()` shows the buffered bytes (reading more
/// only when none are buffered; empty at end of stream) and `consume(n)` marks `n` of them
/// used.
template <class R>
concept async_buf_read = async_read<R> && requires(R& r, std::size_t n) {
    { r.fill_buf() } -> std::same_as<task<io::result<std::span<const std::byte>>>>;
    r.consume(n);
};

/// Writes out whatever `w` buffers (`w.flush()` if it has one; otherwise there is nothing
/// to do). Cancel safety: that of `w.flush()`.
template <async_write W>
[[nodiscard]] task<io::result<void>> flush(W& w) {
    if constexpr (requires {
                      { w.flush() } -> std::same_as<task<io::result<void>>>;
                  }) {
        co_return co_await w.flush();
    } else {
        co_return io::result<void>{};
    }
}

/// Flushes `w`, then closes its write direction so that the reader on the other side sees
/// end of stream: `w.shutdown()` (awaited when it returns a task), or
/// `w.shutdown(net::shutdown_how::write)` for a socket; nothing for a writer with neither.
/// Cancel safety: that of `flush`; the shutdown itself does not wait.
template <async_write W>
[[nodiscard]] task<io::result<void>> shutdown(W& w) {
    if constexpr (requires {
                      { w.shutdown() } -> std::same_as<task<io::result<void>>>;
                  }) {
        co_return co_await w.shutdown(); // a buffered writer flushes there itself
    } else {
        auto flushed = co_await io::flush(w);
        if (!flushed) {
            co_return flushed;
        }
        if constexpr (requires {
                          { w.shutdown() } -> std::convertible_to<io::result<void>>;
                      }) {
            co_return w.shutdown();
        } else if constexpr (requires {
                                 {
                                     w.shutdown(net::shutdown_how::write)
                                     } -> std::convertible_to<io::result<void>>;
                             }) {
            co_return w.shutdown(net::shutdown_how::write);
        } else {
            co_return io::result<void>{};
        }
    }
}

} // namespace tako::io
