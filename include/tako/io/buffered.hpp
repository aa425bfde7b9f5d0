#pragma once
/// \file
/// Buffered I/O over any reader or writer (Tokio's `BufReader`, `BufWriter`, `BufStream`).
///
/// ```cpp
/// #include <tako/io/buffered.hpp>
/// #include <tako/io/util.hpp>
/// #include <tako/net/tcp_stream.hpp>
///
/// tako::task<void> greet(tako::net::tcp_stream s) {
///     tako::io::buf_writer out(s);                     // borrows s: an lvalue
///     for (int i = 0; i < 100; ++i) {
///         (void)co_await tako::io::write_all(out, "hello\n"); // into the buffer
///     }
///     (void)co_await out.flush();  // one write(2) for all of it: flush before `out` dies
/// }
/// ```
///
/// Each wrapper holds its inner stream as its template argument says: `buf_reader<S>` owns
/// an `S` (moved in), `buf_reader<S&>` borrows one that must outlive it. Class template
/// argument deduction picks by the argument: `buf_reader r(stream)` borrows,
/// `buf_reader r(std::move(stream))` owns.
///
/// - `buf_reader<R>` reads from `R` in chunks of its capacity (8 KiB by default) and is an
///   `async_read` and an `async_buf_read` (for `read_until`, `read_line`, `lines`, `copy_buf`).
///   A read into a buffer at least as large as the capacity, while nothing is buffered,
///   goes straight to `R`. If `R` is a writer, its writes pass through unbuffered.
/// - `buf_writer<W>` gathers small writes and writes them to `W` when the buffer would
///   overflow or on `flush()`. A write at least as large as the capacity goes straight to
///   `W` (after what is buffered). If `W` is a reader, reads pass through.
/// - `buf_stream<S>` is both, over one stream.
///
/// **A `buf_writer` destroyed with unflushed data loses that data.** The destructor cannot
/// wait for the writer, so it writes nothing: call `co_await w.flush()` (or
/// `io::shutdown(w)`, which flushes) before dropping it, including on error paths. The same
/// holds for a `buf_stream` (its write side) and for the bytes a `buf_reader` has read
/// ahead but not handed out (they are gone with it).
///
/// **Cancel safety.** As the inner stream's: if its `read` and `write` are cancel-safe
/// (sockets, `duplex_stream`), so are `read`, `fill_buf`, `write` and `flush` here —
/// cancelled while suspended, a read consumed nothing and a flush keeps the bytes it has not
/// written yet, and the next `flush` goes on from there.

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <span>
#include <utility>

#include "tako/io/result.hpp"
#include "tako/io/traits.hpp"
#include "tako/task.hpp"

namespace tako::io {

/// The buffer size of `buf_reader`, `buf_writer` and `copy` unless told otherwise.
inline constexpr std::size_t default_buffer_size = 8 * 1024;

} // namespace tako::io

namespace tako::detail {
/// A fixed-size byte buffer (not zero-filled); capacity at least 1.
inline std::unique_ptr<std::byte[]> make_buffer(std::size_t& capacity) {
    capacity = std::max<std::size_t>(capacity, 1);
    return std::make_unique_for_overwrite<std::byte[]>(capacity);
}
} // namespace tako::detail

namespace tako::io {

/// Reads its inner reader `R` (a type, or a reference to borrow) through a buffer.
template <class R>
requires async_read<R>
class buf_reader {
public:
    /// Wraps `inner` with a buffer of `capacity` bytes (0 is taken as 1).
    explicit buf_reader(R inner, std::size_t capacity = default_buffer_size)
        : inner_(std::forward<R>(inner)), buf_(detail::make_buffer(capacity)), cap_(capacity) {}
    buf_reader(buf_reader&&) noexcept = default;

    /// Reads from the buffer, refilling it from `R` when empty; 0 at end of stream. Reads
    /// of at least `capacity()` bytes with an empty buffer bypass it; an empty `out` reads
    /// nothing. Cancel-safe if `R`'s
    /// read is.
    [[nodiscard]] task<io::result<std::size_t>> read(std::span<std::byte> out) {
        if (out.empty()) {
            co_return 0;
        }
        if (pos_ == filled_ && out.size() >= cap_) {
            co_return co_await inner_.read(out);
        }
        auto avail = co_await fill_buf();
        if (!avail) {
            co_return std::unexpected(avail.error());
        }
        const std::size_t n = std::min(avail->size(), out.size());
        std::memcpy(out.data(), avail->data(), n);
        consume(n);
        co_return n;
    }

    /// The buffered bytes, after reading from `R` if there were none; empty at end of
    /// stream. Valid until the next call on this reader. Cancel-safe if `R`'s read is.
    [[nodiscard]] task<io::result<std::span<const std::byte>>> fill_buf() {
        if (pos_ == filled_) {
            auto n = co_await inner_.read(std::span(buf_.get(), cap_));
            if (!n) {
                co_return std::unexpected(n.error());
            }
            pos_ = 0;
            filled_ = *n;
        }
        co_return buffer();
    }

    /// Marks `n` buffered bytes as used (at most what is buffered).
    void consume(std::size_t n) noexcept { pos_ = std::min(pos_ + n, filled_); }

    /// The bytes buffered now (read from `R`, not yet handed out); no I/O.
    [[nodiscard]] std::span<const std::byte> buffer() const noexcept {
        return {buf_.get() + pos_, filled_ - pos_};
    }
    /// The buffer's size.
    [[nodiscard]] std::size_t capacity() const noexcept { return cap_; }
    /// The inner reader. Reading from it directly skips the buffered bytes.
    [[nodiscard]] std::remove_reference_t<R>& inner() noexcept { return inner_; }

    /// Writes pass through to `R`, unbuffered (when `R` is a writer).
    [[nodiscard]] task<io::result<std::size_t>>
    write(std::span<const std::byte> in) requires async_write<R> {
        return inner_.write(in);
    }
    /// `io::flush` of `R`.
    [[nodiscard]] task<io::result<void>> flush() requires async_write<R> {
        return io::flush(inner_);
    }
    /// `io::shutdown` of `R`.
    [[nodiscard]] task<io::result<void>> shutdown() requires async_write<R> {
        return io::shutdown(inner_);
    }

private:
    R inner_;
    std::unique_ptr<std::byte[]> buf_;
    std::size_t cap_;
    std::size_t pos_ = 0;    ///< next unread byte
    std::size_t filled_ = 0; ///< end of the bytes read into buf_
};

/// `buf_reader r(s)` borrows an lvalue `s`; `buf_reader r(std::move(s))` owns it.
template <class R>
buf_reader(R&&) -> buf_reader<R>;
/// As above, with a capacity.
template <class R>
buf_reader(R&&, std::size_t) -> buf_reader<R>;

/// Writes to its inner writer `W` (a type, or a reference to borrow) through a buffer.
/// **Unflushed data is lost when it is destroyed**: flush first.
template <class W>
requires async_write<W>
class buf_writer {
public:
    /// Wraps `inner` with a buffer of `capacity` bytes (0 is taken as 1).
    explicit buf_writer(W inner, std::size_t capacity = default_buffer_size)
        : inner_(std::forward<W>(inner)), buf_(detail::make_buffer(capacity)), cap_(capacity) {}
    buf_writer(buf_writer&&) noexcept = default;
    /// **Drops any unflushed bytes** (see the file comment): the destructor does no I/O.
    ~buf_writer() = default;

    /// Buffers `in` (all of it: the result is `in.size()`), writing the buffer out first
    /// if `in` would not fit; a write of at least `capacity()` bytes goes straight to `W`
    /// (and may then be partial). Cancel-safe if `W`'s write is.
    [[nodiscard]] task<io::result<std::size_t>> write(std::span<const std::byte> in) {
        if (end_ + in.size() > cap_) {
            auto flushed = co_await write_buffer();
            if (!flushed) {
                co_return std::unexpected(flushed.error());
            }
        }
        if (in.size() >= cap_) {
            co_return co_await inner_.write(in);
        }
        if (!in.empty()) {
            std::memcpy(buf_.get() + end_, in.data(), in.size());
            end_ += in.size();
        }
        co_return in.size();
    }

    /// Writes out the buffer, then flushes `W` (`io::flush`). Cancel-safe if `W`'s write
    /// is: what was not written stays buffered.
    [[nodiscard]] task<io::result<void>> flush() {
        auto flushed = co_await write_buffer();
        if (!flushed) {
            co_return flushed;
        }
        co_return co_await io::flush(inner_);
    }

    /// Flushes, then shuts `W`'s write direction down (`io::shutdown`).
    [[nodiscard]] task<io::result<void>> shutdown() {
        auto flushed = co_await write_buffer();
        if (!flushed) {
            co_return flushed;
        }
        co_return co_await io::shutdown(inner_);
    }

    /// The bytes buffered and not yet written.
    [[nodiscard]] std::span<const std::byte> buffer() const noexcept {
        return {buf_.get() + start_, end_ - start_};
    }
    /// The buffer's size.
    [[nodiscard]] std::size_t capacity() const noexcept { return cap_; }
    /// The inner writer. Writing to it directly goes ahead of the buffered bytes.
    [[nodiscard]] std::remove_reference_t<W>& inner() noexcept { return inner_; }

    /// Reads pass through to `W` (when `W` is a reader).
    [[nodiscard]] task<io::result<std::size_t>>
    read(std::span<std::byte> out) requires async_read<W> {
        return inner_.read(out);
    }
    /// `W`'s `fill_buf` (when `W` is a buffered reader).
    [[nodiscard]] task<io::result<std::span<const std::byte>>>
    fill_buf() requires async_buf_read<W> {
        return inner_.fill_buf();
    }
    /// `W`'s `consume`.
    void consume(std::size_t n) requires async_buf_read<W> { inner_.consume(n); }

private:
    /// Writes buf_[start_, end_) to W, advancing start_ after each write so that a
    /// cancelled or failed flush keeps exactly the unwritten bytes.
    task<io::result<void>> write_buffer() {
        while (start_ < end_) {
            auto n = co_await inner_.write(
                std::span<const std::byte>(buf_.get() + start_, end_ - start_));
            if (!n) {
                co_return std::unexpected(n.error());
            }
            if (*n == 0) {
                co_return std::unexpected(make_error_code(errc::write_zero));
            }
            start_ += *n;
        }
        start_ = end_ = 0;
        co_return io::result<void>{};
    }

    W inner_;
    std::unique_ptr<std::byte[]> buf_;
    std::size_t cap_;
    std::size_t start_ = 0; ///< first byte not yet written to W
    std::size_t end_ = 0;   ///< end of the buffered bytes
};

/// `buf_writer w(s)` borrows an lvalue `s`; `buf_writer w(std::move(s))` owns it.
template <class W>
buf_writer(W&&) -> buf_writer<W>;
/// As above, with a capacity.
template <class W>
buf_writer(W&&, std::size_t) -> buf_writer<W>;

/// A stream read through a `buf_reader` and written through a `buf_writer` (reads see the
/// stream's data, not what this side wrote). **Unflushed writes are lost when it is
/// destroyed**: flush first.
template <class S>
requires async_read<S> && async_write<S>
class buf_stream : public buf_reader<buf_writer<S>> {
public:
    /// Wraps `inner` with a read buffer and a write buffer (8 KiB each by default).
    explicit buf_stream(S inner, std::size_t read_capacity = default_buffer_size,
                        std::size_t write_capacity = default_buffer_size)
        : buf_reader<buf_writer<S>>(buf_writer<S>(std::forward<S>(inner), write_capacity),
                                    read_capacity) {}
    /// The wrapped stream.
    [[nodiscard]] std::remove_reference_t<S>& stream() noexcept { return this->inner().inner(); }
};

/// `buf_stream b(s)` borrows an lvalue `s`; `buf_stream b(std::move(s))` owns it.
template <class S>
buf_stream(S&&) -> buf_stream<S>;

} // namespace tako::io
