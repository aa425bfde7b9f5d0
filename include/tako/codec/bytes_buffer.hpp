#pragma once
/// \file
/// `codec::bytes_buffer`: the growable byte buffer decoders read from and encoders write
/// to (what `BytesMut` is to Tokio's codecs).
///
/// ```cpp
/// #include <tako/codec/bytes_buffer.hpp>
///
/// inline std::string first_word(tako::codec::bytes_buffer& buf) {
///     auto text = buf.view();                           // the buffered bytes, as chars
///     auto space = text.find(' ');
///     if (space == std::string_view::npos) return {};   // not yet: wait for more bytes
///     auto word = buf.take_string(space);               // copies and consumes them
///     buf.consume(1);                                   // the space
///     return word;
/// }
/// ```
///
/// The bytes are contiguous, from `data()` for `size()` bytes. Consuming from the front is
/// O(1) (a start index moves); the free space before the bytes is reclaimed by moving them
/// to the front only when `reserve` needs the room (and for free whenever the buffer
/// empties), so a reader that consumes frames as it goes keeps a buffer of a stable size.
/// Filling it from a reader without a copy: `reserve(n)`, read into `spare()`, then
/// `commit(bytes_read)`.
///
/// Unlike the fixed-size buffers inside `io::buf_reader` / `io::buf_writer`, it grows on
/// demand (doubling): a frame longer than the current capacity fits. What bounds it is the
/// decoder's maximum frame length.
///
/// Not thread-safe: one user at a time. Spans and pointers into it are invalidated by
/// `reserve`, `append` and anything else that may grow or compact it.

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tako::codec {

/// A contiguous, growable byte buffer with cheap consumption from the front.
class bytes_buffer {
public:
    /// An empty buffer; allocates nothing until bytes arrive.
    bytes_buffer() noexcept = default;
    /// An empty buffer with room for `capacity` bytes.
    explicit bytes_buffer(std::size_t capacity) { reserve(capacity); }
    /// A buffer holding a copy of `bytes`.
    explicit bytes_buffer(std::span<const std::byte> bytes) { append(bytes); }
    /// A buffer holding a copy of `text`'s bytes.
    explicit bytes_buffer(std::string_view text) { append(text); }

    /// Takes `o`'s bytes; `o` is left empty.
    bytes_buffer(bytes_buffer&& o) noexcept
        : buf_(std::move(o.buf_)), cap_(std::exchange(o.cap_, 0)), head_(std::exchange(o.head_, 0)),
          tail_(std::exchange(o.tail_, 0)) {}
    /// Takes `o`'s bytes; `o` is left empty.
    bytes_buffer& operator=(bytes_buffer&& o) noexcept {
        if (this != &o) {
            buf_ = std::move(o.buf_);
            cap_ = std::exchange(o.cap_, 0);
            head_ = std::exchange(o.head_, 0);
            tail_ = std::exchange(o.tail_, 0);
        }
        return *this;
    }
    bytes_buffer(const bytes_buffer&) = delete;
    bytes_buffer& operator=(const bytes_buffer&) = delete;

    /// The first buffered byte (valid for `size()` bytes).
    [[nodiscard]] std::byte* data() noexcept { return buf_.get() + head_; }
    /// The first buffered byte (valid for `size()` bytes).
    [[nodiscard]] const std::byte* data() const noexcept { return buf_.get() + head_; }
    /// How many bytes are buffered.
    [[nodiscard]] std::size_t size() const noexcept { return tail_ - head_; }
    /// Whether no bytes are buffered.
    [[nodiscard]] bool empty() const noexcept { return tail_ == head_; }
    /// The size of the storage (buffered bytes, space consumed in front of them, and spare
    /// space after them).
    [[nodiscard]] std::size_t capacity() const noexcept { return cap_; }
    /// The buffered bytes.
    [[nodiscard]] std::span<const std::byte> bytes() const noexcept { return {data(), size()}; }
    /// The buffered bytes, writable.
    [[nodiscard]] std::span<std::byte> bytes() noexcept { return {data(), size()}; }
    /// The buffered bytes as characters.
    [[nodiscard]] std::string_view view() const noexcept {
        return {reinterpret_cast<const char*>(data()), size()};
    }
    /// The byte at `i` (less than `size()`).
    [[nodiscard]] std::byte operator[](std::size_t i) const noexcept { return data()[i]; }

    /// Drops the first `n` bytes (all of them if `n >= size()`). O(1).
    void consume(std::size_t n) noexcept {
        head_ += std::min(n, size());
        if (head_ == tail_) {
            head_ = tail_ = 0; // empty: the whole storage is free again, without a copy
        }
    }
    /// Drops every byte; keeps the storage.
    void clear() noexcept { head_ = tail_ = 0; }

    /// Copies out the first `n` bytes (at most `size()`) and consumes them.
    [[nodiscard]] std::vector<std::byte> take_bytes(std::size_t n) {
        n = std::min(n, size());
        std::vector<std::byte> out(data(), data() + n);
        consume(n);
        return out;
    }
    /// Copies out the first `n` bytes (at most `size()`) as a string and consumes them.
    [[nodiscard]] std::string take_string(std::size_t n) {
        n = std::min(n, size());
        std::string out(view().substr(0, n));
        consume(n);
        return out;
    }

    /// How many bytes fit after the buffered ones without growing or compacting.
    [[nodiscard]] std::size_t spare_capacity() const noexcept { return cap_ - tail_; }
    /// Makes room for at least `additional` more bytes after the buffered ones: moves the
    /// buffered bytes to the front when that is enough, otherwise grows the storage (at
    /// least doubling it). Invalidates pointers into the buffer when it moves bytes.
    void reserve(std::size_t additional) {
        if (spare_capacity() >= additional) {
            return;
        }
        const std::size_t n = size();
        if (cap_ - n >= additional) {
            std::memmove(buf_.get(), data(), n); // reclaim the consumed front
        } else {
            const std::size_t want = std::max(cap_ * 2, n + additional);
            auto bigger = std::make_unique_for_overwrite<std::byte[]>(want);
            if (n != 0) {
                std::memcpy(bigger.get(), data(), n);
            }
            buf_ = std::move(bigger);
            cap_ = want;
        }
        head_ = 0;
        tail_ = n;
    }
    /// The free space after the buffered bytes, to read into; then `commit` what was
    /// written there. Empty until `reserve` made room.
    [[nodiscard]] std::span<std::byte> spare() noexcept {
        return {buf_.get() + tail_, spare_capacity()};
    }
    /// Adds the first `n` bytes of `spare()` (at most its size) to the buffered bytes.
    void commit(std::size_t n) noexcept { tail_ += std::min(n, spare_capacity()); }

    /// Appends a copy of `bytes`.
    void append(std::span<const std::byte> bytes) {
        if (bytes.empty()) {
            return;
        }
        reserve(bytes.size());
        std::memcpy(buf_.get() + tail_, bytes.data(), bytes.size());
        tail_ += bytes.size();
    }
    /// Appends a copy of `text`'s bytes.
    void append(std::string_view text) { append(std::as_bytes(std::span(text))); }
    /// Appends one byte.
    void push_back(std::byte b) {
        reserve(1);
        buf_[tail_++] = b;
    }

private:
    std::unique_ptr<std::byte[]> buf_;
    std::size_t cap_ = 0;  ///< size of buf_
    std::size_t head_ = 0; ///< first buffered byte
    std::size_t tail_ = 0; ///< one past the last buffered byte
};

} // namespace tako::codec
