#pragma once
/// \file
/// `codec::framed`, `codec::framed_read` and `codec::framed_write`: a byte stream seen as a
/// sequence of frames, through a codec (Tokio's `Framed`, `FramedRead`, `FramedWrite`).
///
/// ```cpp
/// #include <tako/codec/framed.hpp>
/// #include <tako/codec/lines_codec.hpp>
/// #include <tako/net/tcp_stream.hpp>
///
/// tako::task<void> shout(tako::net::tcp_stream s) {
///     tako::codec::framed lines(std::move(s), tako::codec::lines_codec(4096));
///     for (;;) {
///         auto line = co_await lines.next();    // io::result<std::optional<std::string>>
///         if (!line) {
///             if (line.error() == tako::codec::errc::max_length_exceeded) continue; // skipped
///             break;                              // an I/O error
///         }
///         if (!*line) break;                      // the peer closed between lines
///         for (char& c : **line) c = static_cast<char>(std::toupper(c));
///         if (!co_await lines.send(**line)) break;
///     }
/// }
/// ```
///
/// `framed<IO, Codec>` holds a stream `IO` (an `io::async_read` and/or `io::async_write`; a
/// value type is owned, a reference type borrowed, as with `io::buf_reader`: `framed f(s,
/// c)` borrows an lvalue `s`, `framed f(std::move(s), c)` owns it), a codec, and one
/// growable `bytes_buffer` per direction:
///
/// - **Reading.** `next()` decodes a frame from the read buffer, reading from `IO` (up to
///   the buffer size, 8 KiB by default) only when no whole frame is buffered. It returns the
///   frame, `std::nullopt` at a clean end of stream (after the codec's `decode_eof` gave
///   every last frame), or an error: the stream's, or the codec's — for example
///   `errc::incomplete_frame` when the stream ended inside a frame. After an error, `next()`
///   can be called again: the codec decides whether decoding goes on (lines codecs skip the
///   bad line) or repeats the error (a corrupt length prefix). After the end was reported,
///   `next()` reads the stream again.
/// - **Writing.** `send(item)` encodes the item into the write buffer *when it is called*,
///   and the task it returns writes the buffer out and flushes `IO`. `feed(item)` encodes
///   without flushing; its task writes the buffer out only once it holds
///   `backpressure_boundary()` bytes (8 KiB by default), so many small frames go out in few
///   writes; `flush()` writes the rest. An encoder error (a frame the codec cannot
///   represent) is the task's result, and nothing was buffered.
///
/// **Cancel safety.** `next()` is cancel-safe: destroyed while suspended (in `select`, a
/// `timeout`, an abort), it has lost nothing — bytes read so far are in the read buffer and
/// the next `next()` continues with them — provided `IO`'s `read` is cancel-safe (sockets,
/// `io::duplex_stream` are). `send`, `feed` and `flush` are cancel-safe in the same sense:
/// the item is in the write buffer from the moment `send`/`feed` is called, and a write cut
/// short leaves exactly the unwritten bytes buffered, which the next `flush`/`send` writes;
/// nothing is lost or written twice, though the item may not have left yet.
///
/// **Destruction.** Bytes in the write buffer are dropped with the `framed` (the destructor
/// does no I/O): `flush()` first. Read-ahead bytes in the read buffer are dropped too;
/// `into_parts()` hands both buffers out with the stream and the codec.
///
/// One `next()` at a time, and one `send`/`feed`/`flush` at a time; a `framed` is used by
/// one task (to read and write from two tasks, split the stream and use a `framed_read` and
/// a `framed_write`). The `framed` must outlive the tasks its members return.

#include <cstddef>
#include <optional>
#include <type_traits>
#include <utility>

#include "tako/codec/bytes_buffer.hpp"
#include "tako/codec/decoder.hpp"
#include "tako/detail/frame_buffers.hpp"
#include "tako/io/buffered.hpp"
#include "tako/io/result.hpp"
#include "tako/io/traits.hpp"
#include "tako/task.hpp"

namespace tako::codec {

/// What `into_parts()` gives back (and what a `framed` can be rebuilt from): the stream,
/// the codec, and the buffered bytes of each direction.
template <class IO, class Codec>
struct framed_parts {
    IO io;                  ///< the stream
    Codec codec;            ///< the codec, with its state
    bytes_buffer read_buf;  ///< bytes read and not yet decoded
    bytes_buffer write_buf; ///< encoded bytes not yet written
};

/// A stream read and written as frames through `Codec` (see the file comment).
template <class IO, class Codec>
requires io::async_read<IO> || io::async_write<IO>
class framed {
public:
    /// Frames `io` with `codec`, reading up to `capacity` bytes at once (0 is taken as 1).
    /// Allocates nothing until the first read or write.
    explicit framed(IO io, Codec codec = Codec(), std::size_t capacity = io::default_buffer_size)
        : framed(framed_parts<IO, Codec>{std::forward<IO>(io), std::move(codec), {}, {}},
                 capacity) {}
    /// Rebuilds a `framed` from `into_parts()` (buffered bytes included).
    explicit framed(framed_parts<IO, Codec> parts, std::size_t capacity = io::default_buffer_size)
        : io_(std::forward<IO>(parts.io)), codec_(std::move(parts.codec)),
          rd_(capacity, std::move(parts.read_buf)),
          wr_(io::default_buffer_size, std::move(parts.write_buf)) {}
    framed(framed&&) noexcept = default;

    /// The next frame; `std::nullopt` at a clean end of stream; a read or decode error.
    /// Cancel-safe (nothing read is lost).
    template <class C = Codec>
    requires io::async_read<IO> && decoder<C>
    [[nodiscard]] task<io::result<std::optional<item_t<C>>>> next() {
        return rd_.next(io_, codec_);
    }

    /// Encodes `item` into the write buffer now; the task writes the buffer out and flushes
    /// the stream. Its result is the encoder's error, or the stream's. Cancel-safe: the
    /// unwritten bytes stay buffered for the next `flush`/`send`.
    template <class Item>
    requires io::async_write<IO> && encoder<Codec, Item>
    [[nodiscard]] task<io::result<void>> send(Item&& item) {
        return wr_.encode_then(io_, codec_, std::forward<Item>(item), /*send=*/true);
    }

    /// Encodes `item` into the write buffer now; the task writes the buffer out only if it
    /// holds at least `backpressure_boundary()` bytes. Cancel-safe, as `send`.
    template <class Item>
    requires io::async_write<IO> && encoder<Codec, Item>
    [[nodiscard]] task<io::result<void>> feed(Item&& item) {
        return wr_.encode_then(io_, codec_, std::forward<Item>(item), /*send=*/false);
    }

    /// Writes out the write buffer, then flushes the stream (`io::flush`). Cancel-safe: what
    /// was not written stays buffered.
    [[nodiscard]] task<io::result<void>> flush() requires io::async_write<IO> {
        return wr_.flush(io_);
    }

    /// Writes out the write buffer, then shuts the stream's write direction down
    /// (`io::shutdown`): the peer reads end of stream after the last frame.
    [[nodiscard]] task<io::result<void>> shutdown() requires io::async_write<IO> {
        return wr_.shutdown(io_);
    }

    /// The stream. Reading from it directly skips the read buffer; writing to it goes
    /// ahead of the write buffer.
    [[nodiscard]] std::remove_reference_t<IO>& inner() noexcept { return io_; }
    /// The codec.
    [[nodiscard]] Codec& codec() noexcept { return codec_; }
    /// The bytes read and not yet decoded.
    [[nodiscard]] bytes_buffer& read_buffer() noexcept { return rd_.buffer(); }
    /// The encoded bytes not yet written.
    [[nodiscard]] bytes_buffer& write_buffer() noexcept { return wr_.buffer(); }
    /// How many buffered bytes make `feed` write the buffer out (default 8 KiB).
    [[nodiscard]] std::size_t backpressure_boundary() const noexcept { return wr_.boundary(); }
    /// Sets the backpressure boundary (0: every `feed` writes).
    void set_backpressure_boundary(std::size_t n) noexcept { wr_.set_boundary(n); }

    /// The stream, the codec and both buffers; the `framed` is left moved-from.
    [[nodiscard]] framed_parts<IO, Codec> into_parts() && {
        return {std::forward<IO>(io_), std::move(codec_), std::move(rd_.buffer()),
                std::move(wr_.buffer())};
    }

private:
    IO io_;
    Codec codec_;
    detail::frame_reader rd_;
    detail::frame_writer wr_;
};

/// `framed f(s, c)` borrows an lvalue `s`; `framed f(std::move(s), c)` owns it.
template <class IO, class Codec>
framed(IO&&, Codec) -> framed<IO, Codec>;
/// As above, with a read buffer size.
template <class IO, class Codec>
framed(IO&&, Codec, std::size_t) -> framed<IO, Codec>;

/// The reading half of `framed` alone: frames decoded from a reader `R` with decoder `D`.
template <class R, class D>
requires io::async_read<R> && decoder<D>
class framed_read {
public:
    /// Decodes frames from `reader` with `d`, reading up to `capacity` bytes at once.
    explicit framed_read(R reader, D d = D(), std::size_t capacity = io::default_buffer_size)
        : io_(std::forward<R>(reader)), codec_(std::move(d)), rd_(capacity, {}) {}
    /// Rebuilds a `framed_read` from `into_parts()` (its write buffer is ignored).
    explicit framed_read(framed_parts<R, D> parts, std::size_t capacity = io::default_buffer_size)
        : io_(std::forward<R>(parts.io)), codec_(std::move(parts.codec)),
          rd_(capacity, std::move(parts.read_buf)) {}
    framed_read(framed_read&&) noexcept = default;

    /// The next frame; `std::nullopt` at a clean end of stream; a read or decode error.
    /// Cancel-safe (nothing read is lost), as `framed::next`.
    [[nodiscard]] task<io::result<std::optional<item_t<D>>>> next() {
        return rd_.next(io_, codec_);
    }

    /// The reader. Reading from it directly skips the read buffer.
    [[nodiscard]] std::remove_reference_t<R>& inner() noexcept { return io_; }
    /// The decoder.
    [[nodiscard]] D& decoder() noexcept { return codec_; }
    /// The bytes read and not yet decoded.
    [[nodiscard]] bytes_buffer& read_buffer() noexcept { return rd_.buffer(); }
    /// The reader, the decoder and the read buffer (the write buffer is empty).
    [[nodiscard]] framed_parts<R, D> into_parts() && {
        return {std::forward<R>(io_), std::move(codec_), std::move(rd_.buffer()), {}};
    }

private:
    R io_;
    D codec_;
    detail::frame_reader rd_;
};

/// `framed_read f(r, d)` borrows an lvalue `r`; `framed_read f(std::move(r), d)` owns it.
template <class R, class D>
framed_read(R&&, D) -> framed_read<R, D>;
/// As above, with a read buffer size.
template <class R, class D>
framed_read(R&&, D, std::size_t) -> framed_read<R, D>;

/// The writing half of `framed` alone: frames encoded with `E` into a writer `W`.
template <class W, class E>
requires io::async_write<W>
class framed_write {
public:
    /// Encodes frames with `e` into `writer`.
    explicit framed_write(W writer, E e = E())
        : io_(std::forward<W>(writer)), codec_(std::move(e)), wr_(io::default_buffer_size, {}) {}
    /// Rebuilds a `framed_write` from `into_parts()` (its read buffer is ignored).
    explicit framed_write(framed_parts<W, E> parts)
        : io_(std::forward<W>(parts.io)), codec_(std::move(parts.codec)),
          wr_(io::default_buffer_size, std::move(parts.write_buf)) {}
    framed_write(framed_write&&) noexcept = default;

    /// As `framed::send`: encodes now, then writes out and flushes. Cancel-safe.
    template <class Item>
    requires tako::codec::encoder<E, Item>
    [[nodiscard]] task<io::result<void>> send(Item&& item) {
        return wr_.encode_then(io_, codec_, std::forward<Item>(item), /*send=*/true);
    }
    /// As `framed::feed`: encodes now, writes out past the backpressure boundary.
    /// Cancel-safe.
    template <class Item>
    requires tako::codec::encoder<E, Item>
    [[nodiscard]] task<io::result<void>> feed(Item&& item) {
        return wr_.encode_then(io_, codec_, std::forward<Item>(item), /*send=*/false);
    }
    /// Writes out the write buffer, then flushes the writer. Cancel-safe.
    [[nodiscard]] task<io::result<void>> flush() { return wr_.flush(io_); }
    /// Writes out the write buffer, then shuts the writer down (`io::shutdown`).
    [[nodiscard]] task<io::result<void>> shutdown() { return wr_.shutdown(io_); }

    /// The writer. Writing to it directly goes ahead of the write buffer.
    [[nodiscard]] std::remove_reference_t<W>& inner() noexcept { return io_; }
    /// The encoder.
    [[nodiscard]] E& encoder() noexcept { return codec_; }
    /// The encoded bytes not yet written.
    [[nodiscard]] bytes_buffer& write_buffer() noexcept { return wr_.buffer(); }
    /// How many buffered bytes make `feed` write the buffer out (default 8 KiB).
    [[nodiscard]] std::size_t backpressure_boundary() const noexcept { return wr_.boundary(); }
    /// Sets the backpressure boundary (0: every `feed` writes).
    void set_backpressure_boundary(std::size_t n) noexcept { wr_.set_boundary(n); }
    /// The writer, the encoder and the write buffer (the read buffer is empty).
    [[nodiscard]] framed_parts<W, E> into_parts() && {
        return {std::forward<W>(io_), std::move(codec_), {}, std::move(wr_.buffer())};
    }

private:
    W io_;
    E codec_;
    detail::frame_writer wr_;
};

/// `framed_write f(w, e)` borrows an lvalue `w`; `framed_write f(std::move(w), e)` owns it.
template <class W, class E>
framed_write(W&&, E) -> framed_write<W, E>;

} // namespace tako::codec
