#pragma once
/// \file
/// The errors a codec reports (category "tako.codec"), as `std::error_code`s in the same
/// `io::result<T>` every I/O operation returns.
///
/// ```cpp
/// #include <tako/codec/error.hpp>
///
/// inline bool recoverable(std::error_code e) {
///     // lines_codec skips the rest of an over-long line, so reading can go on
///     return e == tako::codec::errc::max_length_exceeded;
/// }
/// ```
///
/// A decoder never crashes on bad input and never buffers without bound: malformed or
/// over-long input is one of these errors, returned by `decode` (and so by
/// `framed::next()`). Whether decoding can go on after an error is the codec's to say (each
/// codec documents it).

#include <string>
#include <system_error>
#include <type_traits>

namespace tako::codec {

/// Why a codec refused its input (category "tako.codec").
enum class errc {
    /// A delimited frame (a line) grew beyond the codec's `max_length` without a delimiter.
    max_length_exceeded = 1,
    /// A length-prefixed frame is longer than `max_frame_length` (decoding or encoding), or
    /// its length does not fit in the length field (encoding).
    frame_too_long,
    /// A length field that, with the length adjustment, gives a negative or impossible
    /// length (or a frame that would consume no bytes at all).
    invalid_length,
    /// A line is not valid UTF-8 (only when the codec checks it).
    invalid_utf8,
    /// The stream ended inside a frame: bytes were left over that make no whole frame.
    incomplete_frame,
};

} // namespace tako::codec

namespace tako::detail {
/// The "tako.codec" error category.
class codec_category final : public std::error_category {
public:
    [[nodiscard]] const char* name() const noexcept override { return "tako.codec"; }
    [[nodiscard]] std::string message(int ev) const override {
        switch (static_cast<codec::errc>(ev)) {
        case codec::errc::max_length_exceeded:
            return "frame longer than the maximum length without a delimiter";
        case codec::errc::frame_too_long:
            return "frame longer than the maximum frame length";
        case codec::errc::invalid_length:
            return "invalid length field";
        case codec::errc::invalid_utf8:
            return "line is not valid UTF-8";
        case codec::errc::incomplete_frame:
            return "stream ended inside a frame";
        }
        return "unknown codec error";
    }
};
} // namespace tako::detail

namespace tako::codec {

/// The category of `codec::errc` (one object for the whole program).
[[nodiscard]] inline const std::error_category& category() noexcept {
    static const tako::detail::codec_category instance;
    return instance;
}

/// Makes an error code of the codec category.
[[nodiscard]] inline std::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), category()};
}

} // namespace tako::codec

template <>
struct std::is_error_code_enum<tako::codec::errc> : std::true_type {};
