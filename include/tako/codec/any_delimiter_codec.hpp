#pragma once
/// \file
/// `codec::any_delimiter_codec`: frames end at any one of a set of delimiter bytes (Tokio's
/// `AnyDelimiterCodec`).
///
/// ```cpp
/// #include <tako/codec/any_delimiter_codec.hpp>
/// #include <tako/codec/framed.hpp>
/// #include <tako/io/duplex.hpp>
///
/// tako::task<void> split_fields() {
///     auto [a, b] = tako::io::duplex(64);
///     // Fields end at ',' ';' or '\n'; encoding ends each with ";".
///     tako::codec::framed f(std::move(b), tako::codec::any_delimiter_codec(",;\n", ";", 256));
///     (void)co_await tako::io::write_all(a, "x=1,y=2;z\n");
///     auto x = co_await f.next(); // "x=1", then "y=2", then "z"
/// }
/// ```
///
/// Decoding gives the bytes before the first delimiter found (any byte of
/// `seek_delimiters`), and consumes the delimiter too; empty frames (two delimiters in a
/// row) are frames. At end of stream, bytes left without a delimiter are a last frame.
/// Encoding appends the frame, then `sequence_writer` (the delimiter to write).
///
/// **Maximum length.** A frame longer than `max_length` bytes is
/// `errc::max_length_exceeded`, reported once `max_length + 1` bytes without a delimiter are
/// buffered; the codec then skips the rest of that frame, up to and including its
/// delimiter, and decoding goes on with the next frame. Without a maximum there is no bound:
/// use one for untrusted input.

#include <algorithm>
#include <array>
#include <cstddef>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "tako/codec/bytes_buffer.hpp"
#include "tako/detail/delimited_scan.hpp"
#include "tako/io/result.hpp"

namespace tako::codec {

/// Frames ended by any of several delimiter bytes; decodes `std::string` chunks (which may
/// hold any bytes) and encodes anything convertible to `std::string_view`.
class any_delimiter_codec {
public:
    /// The frame type: the bytes of one frame, without its delimiter.
    using item_type = std::string;

    /// Frames end at any byte of `seek_delimiters` (by default ',', ';', '\n' and '\r', as
    /// Tokio's); encoding writes `sequence_writer` (by default ",") after each frame; frames
    /// longer than `max_length` are an error.
    explicit any_delimiter_codec(std::string_view seek_delimiters = ",;\n\r",
                                 std::string_view sequence_writer = ",",
                                 std::size_t max_length = std::numeric_limits<std::size_t>::max())
        : sequence_writer_(sequence_writer), scan_(max_length) {
        for (const char c : seek_delimiters) {
            is_delim_[static_cast<unsigned char>(c)] = true;
        }
    }

    /// The longest frame accepted.
    [[nodiscard]] std::size_t max_length() const noexcept { return scan_.max_length(); }
    /// What `encode` writes after each frame.
    [[nodiscard]] std::string_view sequence_writer() const noexcept { return sequence_writer_; }

    /// The next frame, `std::nullopt` until a delimiter has arrived, or
    /// `errc::max_length_exceeded` for an over-long frame (whose rest the next calls skip).
    io::result<std::optional<std::string>> decode(bytes_buffer& buf) {
        auto at = scan_.next(buf, [this](const std::byte* first, const std::byte* last) {
            return std::find_if(first, last, [this](std::byte b) {
                return is_delim_[std::to_integer<unsigned char>(b)];
            });
        });
        if (!at) {
            return std::unexpected(at.error());
        }
        if (!*at) {
            return std::nullopt;
        }
        std::string frame = buf.take_string(**at);
        buf.consume(1); // the delimiter
        return frame;
    }

    /// At end of stream: the remaining frames, then the bytes left without a delimiter (if
    /// any), then `std::nullopt`.
    io::result<std::optional<std::string>> decode_eof(bytes_buffer& buf) {
        auto frame = decode(buf);
        if (!frame || *frame) {
            return frame;
        }
        scan_.reset();
        if (buf.empty()) {
            return std::nullopt;
        }
        return buf.take_string(buf.size());
    }

    /// Appends `frame` and the sequence writer to `buf`. Never fails.
    io::result<void> encode(std::string_view frame, bytes_buffer& buf) {
        buf.reserve(frame.size() + sequence_writer_.size());
        buf.append(frame);
        buf.append(sequence_writer_);
        return {};
    }

private:
    std::array<bool, 256> is_delim_{};
    std::string sequence_writer_;
    detail::delimited_scan scan_;
};

} // namespace tako::codec
