#pragma once
/// \file
/// `codec::bytes_codec`: no framing at all; each decode takes every buffered byte (Tokio's
/// `BytesCodec`).
///
/// ```cpp
/// #include <tako/codec/bytes_codec.hpp>
/// #include <tako/codec/framed.hpp>
/// #include <tako/net/tcp_stream.hpp>
///
/// tako::task<void> chunks(tako::net::tcp_stream s) {
///     tako::codec::framed f(std::move(s), tako::codec::bytes_codec{});
///     while (auto chunk = co_await f.next()) {    // what each read brought
///         if (!*chunk) break;
///         (void)co_await f.send(**chunk);         // echo it
///     }
/// }
/// ```
///
/// A frame is whatever the buffer holds when `decode` is called — with `framed`, what one
/// read brought, in chunks of at most the read buffer's size; the sizes say nothing about
/// how the peer wrote. Decoding never fails and never leaves bytes behind, so end of stream
/// inside a "frame" cannot happen. Encoding appends the bytes as they are.

#include <cstddef>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "tako/codec/bytes_buffer.hpp"
#include "tako/io/result.hpp"

namespace tako::codec {

/// Raw bytes in, raw bytes out.
class bytes_codec {
public:
    /// The frame type: a chunk of bytes.
    using item_type = std::vector<std::byte>;

    /// Every buffered byte as one chunk, or `std::nullopt` if there are none.
    io::result<std::optional<std::vector<std::byte>>> decode(bytes_buffer& buf) {
        if (buf.empty()) {
            return std::nullopt;
        }
        return buf.take_bytes(buf.size());
    }

    /// Appends `bytes` to `buf`. Never fails.
    io::result<void> encode(std::span<const std::byte> bytes, bytes_buffer& buf) {
        buf.append(bytes);
        return {};
    }
    /// Appends the bytes of `text` to `buf`. Never fails.
    io::result<void> encode(std::string_view text, bytes_buffer& buf) {
        buf.append(text);
        return {};
    }
};

} // namespace tako::codec
