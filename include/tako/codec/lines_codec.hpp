#pragma once
/// \file
/// `codec::lines_codec`: frames are lines of text ending in "\n" (Tokio's `LinesCodec`).
///
/// ```cpp
/// #include <tako/codec/framed.hpp>
/// #include <tako/codec/lines_codec.hpp>
/// #include <tako/net/tcp_stream.hpp>
///
/// tako::task<void> greet(tako::net::tcp_stream s) {
///     tako::codec::framed lines(std::move(s), tako::codec::lines_codec(1024));
///     while (auto line = co_await lines.next()) {     // io::result<optional<string>>
///         if (!*line) break;                          // the peer closed
///         (void)co_await lines.send("hello, " + **line); // appends the "\n"
///     }
/// }
/// ```
///
/// Decoding gives each line without its "\n" and without a "\r" before it (so "\r\n"
/// endings work too). At end of stream a last line without "\n" is still a line; a stream
/// ending in a lone "\r" gives none. Bytes are taken as they are unless `check_utf8()` is
/// on, in which case a line that is not valid UTF-8 is `errc::invalid_utf8` (the line is
/// consumed; the next `decode` goes on with the next line).
///
/// **Maximum length.** With `lines_codec(max_length)`, a line longer than `max_length` bytes
/// (counting a "\r" before the "\n") is `errc::max_length_exceeded`, reported as soon as
/// `max_length + 1` bytes without a "\n" are buffered — memory stays bounded whatever the
/// peer sends. The codec then skips the rest of that line up to its "\n", and the next line
/// decodes normally: the stream can go on. The default, `lines_codec()`, has no limit:
/// use it only with a trusted peer.
///
/// Encoding appends the line and a "\n". It does not check the line: one that contains a
/// "\n" is read back as two lines.

#include <cstddef>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "tako/codec/bytes_buffer.hpp"
#include "tako/codec/error.hpp"
#include "tako/detail/delimited_scan.hpp"
#include "tako/io/result.hpp"

namespace tako::detail {
/// Whether `s` is well-formed UTF-8 (no overlong forms, surrogates or values past U+10FFFF).
[[nodiscard]] inline bool is_utf8(std::string_view s) noexcept {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const auto* end = p + s.size();
    while (p != end) {
        const unsigned c = *p;
        if (c < 0x80) {
            ++p;
            continue;
        }
        std::size_t len = 0;
        unsigned lo = 0x80; // allowed range of the second byte
        unsigned hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            lo = c == 0xE0 ? 0xA0 : 0x80; // no overlong forms
            hi = c == 0xED ? 0x9F : 0xBF; // no surrogates
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            lo = c == 0xF0 ? 0x90 : 0x80;
            hi = c == 0xF4 ? 0x8F : 0xBF; // nothing past U+10FFFF
        } else {
            return false;
        }
        if (static_cast<std::size_t>(end - p) < len || p[1] < lo || p[1] > hi) {
            return false;
        }
        for (std::size_t i = 2; i < len; ++i) {
            if (p[i] < 0x80 || p[i] > 0xBF) {
                return false;
            }
        }
        p += len;
    }
    return true;
}
} // namespace tako::detail

namespace tako::codec {

/// Lines of text: decodes `std::string` lines, encodes anything convertible to
/// `std::string_view` followed by "\n".
class lines_codec {
public:
    /// The frame type: one line, without its line ending.
    using item_type = std::string;

    /// No limit on the length of a line.
    lines_codec() noexcept : lines_codec(std::numeric_limits<std::size_t>::max()) {}
    /// Lines longer than `max_length` bytes are an error (and skipped).
    explicit lines_codec(std::size_t max_length) noexcept : scan_(max_length) {}

    /// The longest line accepted.
    [[nodiscard]] std::size_t max_length() const noexcept { return scan_.max_length(); }
    /// Checks that every decoded line is valid UTF-8 (off by default).
    lines_codec& check_utf8(bool on = true) noexcept {
        check_utf8_ = on;
        return *this;
    }

    /// The next line, `std::nullopt` until its "\n" has arrived, `errc::max_length_exceeded`
    /// for an over-long line (whose rest the next calls skip), or `errc::invalid_utf8`.
    io::result<std::optional<std::string>> decode(bytes_buffer& buf) {
        auto at = scan_.next(buf, detail::delimited_scan::find_byte{std::byte{'\n'}});
        if (!at) {
            return std::unexpected(at.error());
        }
        if (!*at) {
            return std::nullopt;
        }
        std::string line = buf.take_string(**at);
        buf.consume(1); // the "\n"
        return finish(std::move(line));
    }

    /// At end of stream: the remaining lines, then a last line without "\n" (if there are
    /// bytes other than a lone "\r"), then `std::nullopt`.
    io::result<std::optional<std::string>> decode_eof(bytes_buffer& buf) {
        auto line = decode(buf);
        if (!line || *line) {
            return line;
        }
        scan_.reset();
        if (buf.view() == "\r") {
            buf.clear(); // a stream ending in "\r": no line after the last "\n"
        }
        if (buf.empty()) {
            return std::nullopt;
        }
        return finish(buf.take_string(buf.size()));
    }

    /// Appends `line` and "\n" to `buf`. Never fails.
    io::result<void> encode(std::string_view line, bytes_buffer& buf) {
        buf.reserve(line.size() + 1);
        buf.append(line);
        buf.push_back(std::byte{'\n'});
        return {};
    }

private:
    /// Strips a "\r" ending and checks the encoding.
    io::result<std::optional<std::string>> finish(std::string line) const {
        if (line.ends_with('\r')) {
            line.pop_back();
        }
        if (check_utf8_ && !detail::is_utf8(line)) {
            return std::unexpected(make_error_code(errc::invalid_utf8));
        }
        return std::optional<std::string>(std::move(line));
    }

    detail::delimited_scan scan_;
    bool check_utf8_ = false;
};

} // namespace tako::codec
