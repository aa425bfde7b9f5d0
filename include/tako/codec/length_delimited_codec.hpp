#pragma once
/// \file
/// `codec::length_delimited_codec`: frames prefixed with their length (Tokio's
/// `LengthDelimitedCodec`), configured by a builder.
///
/// ```cpp
/// #include <tako/codec/framed.hpp>
/// #include <tako/codec/length_delimited_codec.hpp>
/// #include <tako/net/tcp_stream.hpp>
///
/// tako::task<void> frames(tako::net::tcp_stream s) {
///     // A 2-byte little-endian length, then the payload; payloads up to 64 KiB.
///     auto codec = tako::codec::length_delimited_codec::builder()
///                      .length_field_length(2)
///                      .little_endian()
///                      .max_frame_length(64 * 1024)
///                      .new_codec();
///     tako::codec::framed f(std::move(s), std::move(codec));
///     (void)co_await f.send(std::string_view("hello"));  // 05 00 'h' 'e' 'l' 'l' 'o'
///     auto reply = co_await f.next();                      // io::result<optional<vector<byte>>>
/// }
/// ```
///
/// By default (`length_delimited_codec()`): a 4-byte big-endian length at the start of the
/// frame, counting the payload only, and frames of at most 8 MiB.
///
/// **The header.** A frame on the wire is `length_field_offset` bytes, then the length field
/// (`length_field_length` bytes, 1 to 8, big- or little-endian), then whatever follows. The
/// field's value plus `length_adjustment` (which may be negative) is how many bytes follow
/// the first `num_skip` bytes of the frame (by default the whole header: offset + field).
/// The decoded frame is those bytes: with the default `num_skip` the payload alone; with
/// `num_skip(0)` and a suitable adjustment the header too. For example a length that counts
/// its own 4 bytes is `length_adjustment(-4)`.
///
/// **Errors.** A frame whose adjusted length exceeds `max_frame_length` is
/// `errc::frame_too_long`, found as soon as its header has arrived (nothing of the frame is
/// buffered beyond the header); an adjusted length below zero, or one that would make a frame
/// of no bytes at all, is `errc::invalid_length`. The stream is then out of step — there is
/// no way to find the next frame — so the codec repeats the same error on every later call:
/// close the connection. End of stream inside a frame is `errc::incomplete_frame`.
///
/// **Encoding** writes `length_field_offset` zero bytes, the length field (the payload size
/// minus `length_adjustment`), then the payload: what the decoder reads back when `num_skip`
/// is the default. A payload longer than `max_frame_length`, or too long for the field, is
/// `errc::frame_too_long`; one too short for a positive adjustment is `errc::invalid_length`.
/// For any other header, write it yourself (e.g. with `bytes_codec`).

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "tako/codec/bytes_buffer.hpp"
#include "tako/codec/error.hpp"
#include "tako/io/result.hpp"

namespace tako::codec {

/// Frames preceded by a length field; decodes `std::vector<std::byte>` payloads, encodes
/// byte spans and strings.
class length_delimited_codec {
public:
    /// The frame type: the payload (the bytes after `num_skip`).
    using item_type = std::vector<std::byte>;

    /// The default frame size limit, 8 MiB (as Tokio's).
    static constexpr std::size_t default_max_frame_length = 8 * 1024 * 1024;

    /// Configures a `length_delimited_codec`. Setters return the builder; `new_codec()`
    /// makes the codec. Invalid settings throw `std::invalid_argument` at the setter.
    class builder {
    public:
        /// Bytes before the length field (default 0).
        builder& length_field_offset(std::size_t n) {
            if (n > std::numeric_limits<std::size_t>::max() / 2) {
                throw std::invalid_argument("length_delimited_codec: length field offset too "
                                            "large");
            }
            offset_ = n;
            return *this;
        }
        /// Size of the length field: 1 to 8 bytes (default 4).
        builder& length_field_length(std::size_t n) {
            if (n < 1 || n > 8) {
                throw std::invalid_argument("length_delimited_codec: the length field must be "
                                            "1 to 8 bytes");
            }
            field_len_ = n;
            return *this;
        }
        /// Added to the length field's value to get the number of bytes after `num_skip`
        /// (default 0).
        builder& length_adjustment(std::int64_t n) noexcept {
            adjustment_ = n;
            return *this;
        }
        /// Bytes dropped from the start of each frame before the payload (default: the
        /// offset plus the length field, i.e. the whole header).
        builder& num_skip(std::size_t n) noexcept {
            num_skip_ = n;
            return *this;
        }
        /// The largest frame (adjusted length) accepted, default 8 MiB.
        builder& max_frame_length(std::size_t n) noexcept {
            max_frame_ = n;
            return *this;
        }
        /// The length field is big-endian (network order, the default).
        builder& big_endian() noexcept {
            big_endian_ = true;
            return *this;
        }
        /// The length field is little-endian.
        builder& little_endian() noexcept {
            big_endian_ = false;
            return *this;
        }
        /// The length field is in the machine's byte order.
        builder& native_endian() noexcept {
            big_endian_ = std::endian::native == std::endian::big;
            return *this;
        }
        /// A codec with these settings.
        [[nodiscard]] length_delimited_codec new_codec() const {
            return length_delimited_codec(*this);
        }

    private:
        friend class length_delimited_codec;
        std::size_t offset_ = 0;
        std::size_t field_len_ = 4;
        std::int64_t adjustment_ = 0;
        std::optional<std::size_t> num_skip_;
        std::size_t max_frame_ = default_max_frame_length;
        bool big_endian_ = true;
    };

    /// A 4-byte big-endian length before each payload; frames up to 8 MiB.
    length_delimited_codec() : length_delimited_codec(builder()) {}
    /// A codec configured by `b`.
    explicit length_delimited_codec(const builder& b)
        : offset_(b.offset_), field_len_(b.field_len_), adjustment_(b.adjustment_),
          num_skip_(b.num_skip_.value_or(b.offset_ + b.field_len_)), max_frame_(b.max_frame_),
          big_endian_(b.big_endian_) {}

    /// The largest frame accepted (decoding and encoding).
    [[nodiscard]] std::size_t max_frame_length() const noexcept { return max_frame_; }
    /// Changes the largest frame accepted; takes effect from the next frame.
    void set_max_frame_length(std::size_t n) noexcept { max_frame_ = n; }

    /// The next payload, `std::nullopt` until its header and all its bytes have arrived, or
    /// `errc::frame_too_long` / `errc::invalid_length` (repeated on later calls).
    io::result<std::optional<std::vector<std::byte>>> decode(bytes_buffer& buf) {
        if (!pending_) {
            const std::size_t head = offset_ + field_len_;
            if (buf.size() < std::max(head, num_skip_)) {
                return std::nullopt;
            }
            std::uint64_t field = 0;
            for (std::size_t i = 0; i < field_len_; ++i) {
                const std::size_t at = big_endian_ ? i : field_len_ - 1 - i;
                field = field << 8 | std::to_integer<std::uint64_t>(buf[offset_ + at]);
            }
            auto n = frame_length(field);
            if (!n) {
                return std::unexpected(n.error()); // the header stays: the error repeats
            }
            buf.consume(num_skip_);
            pending_ = *n;
        }
        const std::size_t n = *pending_;
        if (buf.size() < n) {
            buf.reserve(n - buf.size()); // room for the whole frame in one step
            return std::nullopt;
        }
        pending_.reset();
        return buf.take_bytes(n);
    }

    /// Appends the header and `payload` to `buf`, or `errc::frame_too_long` /
    /// `errc::invalid_length` (and appends nothing).
    io::result<void> encode(std::span<const std::byte> payload, bytes_buffer& buf) {
        const std::size_t n = payload.size();
        if (n > max_frame_) {
            return std::unexpected(make_error_code(errc::frame_too_long));
        }
        auto adjusted = adjust(n, /*subtract=*/adjustment_ > 0); // field = n - adjustment
        if (!adjusted) {
            return std::unexpected(adjusted.error());
        }
        const std::uint64_t field = *adjusted;
        const auto max_field = field_len_ == 8 ? std::numeric_limits<std::uint64_t>::max()
                                               : (std::uint64_t{1} << (8 * field_len_)) - 1;
        if (field > max_field) {
            return std::unexpected(make_error_code(errc::frame_too_long));
        }
        buf.reserve(offset_ + field_len_ + n);
        for (std::size_t i = 0; i < offset_; ++i) {
            buf.push_back(std::byte{0});
        }
        for (std::size_t i = 0; i < field_len_; ++i) {
            const std::size_t shift = 8 * (big_endian_ ? field_len_ - 1 - i : i);
            buf.push_back(static_cast<std::byte>(field >> shift));
        }
        buf.append(payload);
        return {};
    }
    /// Encodes the bytes of `text`, as above.
    io::result<void> encode(std::string_view text, bytes_buffer& buf) {
        return encode(std::as_bytes(std::span(text)), buf);
    }

private:
    /// The adjusted length of a frame whose length field holds `field`, or why it is bad.
    [[nodiscard]] io::result<std::size_t> frame_length(std::uint64_t field) const noexcept {
        auto adjusted = adjust(field, /*subtract=*/adjustment_ < 0); // n = field + adjustment
        if (!adjusted) {
            return std::unexpected(adjusted.error());
        }
        const std::uint64_t n = *adjusted;
        if (n > max_frame_) {
            return std::unexpected(make_error_code(errc::frame_too_long));
        }
        if (n == 0 && num_skip_ == 0) {
            return std::unexpected(make_error_code(errc::invalid_length)); // would not advance
        }
        return static_cast<std::size_t>(n);
    }

    /// `v` minus or plus |length_adjustment| (also for INT64_MIN): below zero is
    /// `invalid_length`, past 2^64 - 1 is `frame_too_long`.
    [[nodiscard]] io::result<std::uint64_t> adjust(std::uint64_t v, bool subtract) const noexcept {
        const auto a = static_cast<std::uint64_t>(adjustment_);
        const std::uint64_t magnitude = adjustment_ < 0 ? std::uint64_t{0} - a : a;
        if (subtract) {
            if (v < magnitude) {
                return std::unexpected(make_error_code(errc::invalid_length));
            }
            return v - magnitude;
        }
        if (v > std::numeric_limits<std::uint64_t>::max() - magnitude) {
            return std::unexpected(make_error_code(errc::frame_too_long));
        }
        return v + magnitude;
    }

    std::size_t offset_;
    std::size_t field_len_;
    std::int64_t adjustment_;
    std::size_t num_skip_;
    std::size_t max_frame_;
    bool big_endian_;
    std::optional<std::size_t> pending_; ///< the frame length, once its header is consumed
};

} // namespace tako::codec
