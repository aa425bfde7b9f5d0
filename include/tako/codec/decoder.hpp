#pragma once
/// \file
/// The `codec::decoder` and `codec::encoder` concepts (Tokio's `Decoder` and `Encoder`
/// traits): how bytes become frames and frames become bytes. `codec::framed` drives them
/// over a byte stream.
///
/// ```cpp
/// #include <tako/codec/decoder.hpp>
///
/// // Frames of exactly 4 bytes, as a 32-bit big-endian number.
/// struct u32_codec {
///     using item_type = std::uint32_t;
///     tako::io::result<std::optional<std::uint32_t>> decode(tako::codec::bytes_buffer& buf) {
///         if (buf.size() < 4) return std::nullopt;        // need more bytes
///         std::uint32_t v = 0;
///         for (std::size_t i = 0; i < 4; ++i) v = v << 8 | std::to_integer<std::uint32_t>(buf[i]);
///         buf.consume(4);
///         return v;
///     }
///     tako::io::result<void> encode(std::uint32_t v, tako::codec::bytes_buffer& buf) {
///         for (int shift = 24; shift >= 0; shift -= 8) buf.push_back(std::byte(v >> shift));
///         return {};
///     }
/// };
/// static_assert(tako::codec::decoder<u32_codec> && tako::codec::encoder<u32_codec, int>);
/// ```
///
/// **Decoding.** `decode(buf)` looks at the buffered bytes and returns
/// - a frame, after consuming its bytes from `buf`;
/// - `std::nullopt` when `buf` holds no whole frame yet ("need more bytes"): it may consume
///   bytes it will never need again, or `reserve` room for the rest of a frame, but must not
///   lose part of a frame it has not returned (the caller appends more and calls again);
/// - an error (`codec::errc`, or any `std::error_code`) for input it refuses.
///
/// A decoder may keep state between calls (where it stopped scanning, a header it already
/// read), so one decoder serves one stream. At end of stream the caller calls
/// `decode_eof(buf)` until it gives `std::nullopt`; a decoder without its own `decode_eof`
/// gets the default, `codec::decode_eof`: `decode`, and `errc::incomplete_frame` if bytes
/// are left that make no frame.
///
/// **Encoding.** `encode(item, buf)` appends the bytes of one frame to `buf`, or returns an
/// error and appends nothing (a frame it cannot represent).

#include <concepts>
#include <optional>
#include <utility>

#include "tako/codec/bytes_buffer.hpp"
#include "tako/codec/error.hpp"
#include "tako/io/result.hpp"

namespace tako::codec {

/// Turns bytes into frames of `D::item_type`: `decode(buf)` (a frame, "need more" as
/// `std::nullopt`, or an error) and, optionally, `decode_eof(buf)` for the end of stream.
template <class D>
concept decoder = requires(D& d, bytes_buffer& buf) {
    typename D::item_type;
    { d.decode(buf) } -> std::same_as<io::result<std::optional<typename D::item_type>>>;
};

/// Turns an `Item` into bytes: `encode(item, buf)` appends one frame to `buf`.
template <class E, class Item>
concept encoder = requires(E& e, Item&& item, bytes_buffer& buf) {
    { e.encode(std::forward<Item>(item), buf) } -> std::same_as<io::result<void>>;
};

/// The frame type a decoder produces.
template <decoder D>
using item_t = typename D::item_type;

/// What a decoder makes of the bytes left at end of stream: `d.decode_eof(buf)` if it has
/// one; otherwise `d.decode(buf)`, and `errc::incomplete_frame` when that finds no frame
/// but bytes remain (they stay in `buf`).
template <decoder D>
[[nodiscard]] io::result<std::optional<item_t<D>>> decode_eof(D& d, bytes_buffer& buf) {
    if constexpr (requires {
                      { d.decode_eof(buf) } -> std::same_as<io::result<std::optional<item_t<D>>>>;
                  }) {
        return d.decode_eof(buf);
    } else {
        auto frame = d.decode(buf);
        if (frame && !*frame && !buf.empty()) {
            return std::unexpected(make_error_code(errc::incomplete_frame));
        }
        return frame;
    }
}

} // namespace tako::codec
