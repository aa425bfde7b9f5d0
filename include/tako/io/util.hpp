#pragma once
/// \file
/// Operations over any `io::async_read` / `io::async_write` (Tokio's `AsyncReadExt` and
/// `AsyncWriteExt`): `read_exact`, `write_all`, `read_to_end`, `read_to_string`, and
/// integers in big-endian (network) or little-endian byte order.
///
/// ```cpp
/// #include <tako/io/util.hpp>
/// #include <tako/net/tcp_stream.hpp>
///
/// // A frame: a 4-byte big-endian length, then the payload.
/// tako::task<tako::io::result<std::vector<std::byte>>> read_frame(tako::net::tcp_stream& s) {
///     auto len = co_await tako::io::read_u32(s);
///     if (!len) co_return std::unexpected(len.error()); // unexpected_eof: the stream ended
///     std::vector<std::byte> payload(*len);
///     if (auto r = co_await tako::io::read_exact(s, payload); !r) co_return
///     std::unexpected(r.error()); co_return payload;
/// }
/// ```
///
/// **Cancel safety.** None of these is cancel-safe except `read_to_end` and
/// `read_to_string`: cancelled midway, `read_exact` and the integer reads lose the bytes
/// they read, and `write_all` and the integer writes may have written part of their data.
/// `read_to_end` / `read_to_string` append to the caller's buffer as they go, so what they
/// read before being cancelled is there, and calling again continues.

#include <algorithm>
#include <array>
#include <bit>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tako/io/result.hpp"
#include "tako/io/traits.hpp"
#include "tako/task.hpp"

namespace tako::io {

/// Reads until `buf` is full; `io::errc::unexpected_eof` if the stream ends first (the
/// bytes read so far are in `buf`). Not cancel-safe.
template <async_read R>
[[nodiscard]] task<io::result<void>> read_exact(R& r, std::span<std::byte> buf) {
    while (!buf.empty()) {
        auto n = co_await r.read(buf);
        if (!n) {
            co_return std::unexpected(n.error());
        }
        if (*n == 0) {
            co_return std::unexpected(make_error_code(errc::unexpected_eof));
        }
        buf = buf.subspan(*n);
    }
    co_return io::result<void>{};
}

/// Writes all of `buf`; `io::errc::write_zero` if the writer takes no bytes. Not
/// cancel-safe: cancelled midway, part of `buf` may have been written.
template <async_write W>
[[nodiscard]] task<io::result<void>> write_all(W& w, std::span<const std::byte> buf) {
    while (!buf.empty()) {
        auto n = co_await w.write(buf);
        if (!n) {
            co_return std::unexpected(n.error());
        }
        if (*n == 0) {
            co_return std::unexpected(make_error_code(errc::write_zero));
        }
        buf = buf.subspan(*n);
    }
    co_return io::result<void>{};
}

/// `write_all` of text (the view must stay valid until it completes). Not cancel-safe.
template <async_write W>
[[nodiscard]] task<io::result<void>> write_all(W& w, std::string_view text) {
    return io::write_all(w, std::as_bytes(std::span(text.data(), text.size())));
}

/// Reads until end of stream, appending to `out`; how many bytes were appended.
/// Cancel-safe in this sense: what was read before cancellation is in `out`.
template <async_read R>
[[nodiscard]] task<io::result<std::size_t>> read_to_end(R& r, std::vector<std::byte>& out) {
    constexpr std::size_t chunk = 4096;
    std::size_t total = 0;
    for (;;) {
        const std::size_t old = out.size();
        if (out.capacity() - old < chunk) {
            out.reserve(old + std::max(chunk, old)); // grow geometrically
        }
        out.resize(out.capacity());
        auto n = co_await r.read(std::span(out).subspan(old));
        out.resize(old + (n ? *n : 0));
        if (!n) {
            co_return std::unexpected(n.error());
        }
        if (*n == 0) {
            co_return total;
        }
        total += *n;
    }
}

/// `read_to_end` into a string (bytes as they are: no UTF-8 validation). Cancel-safe in the
/// same sense: what was read is in `out`.
template <async_read R>
[[nodiscard]] task<io::result<std::size_t>> read_to_string(R& r, std::string& out) {
    constexpr std::size_t chunk = 4096;
    std::size_t total = 0;
    for (;;) {
        const std::size_t old = out.size();
        out.resize(old + chunk);
        auto n = co_await r.read(std::as_writable_bytes(std::span(out).subspan(old)));
        out.resize(old + (n ? *n : 0));
        if (!n) {
            co_return std::unexpected(n.error());
        }
        if (*n == 0) {
            co_return total;
        }
        total += *n;
    }
}

/// Reads an integer of type `T` stored in byte order `E` (big-endian by default);
/// `unexpected_eof` if the stream ends first. Not cancel-safe.
template <std::integral T, std::endian E = std::endian::big, async_read R>
[[nodiscard]] task<io::result<T>> read_int(R& r) {
    std::array<std::byte, sizeof(T)> raw{};
    auto got = co_await io::read_exact(r, raw);
    if (!got) {
        co_return std::unexpected(got.error());
    }
    auto value = std::bit_cast<T>(raw);
    if constexpr (sizeof(T) > 1 && E != std::endian::native) {
        value = std::byteswap(value);
    }
    co_return value;
}

/// Writes `value` in byte order `E` (big-endian by default). Not cancel-safe.
template <std::integral T, std::endian E = std::endian::big, async_write W>
[[nodiscard]] task<io::result<void>> write_int(W& w, T value) {
    if constexpr (sizeof(T) > 1 && E != std::endian::native) {
        value = std::byteswap(value);
    }
    const auto raw = std::bit_cast<std::array<std::byte, sizeof(T)>>(value);
    co_return co_await io::write_all(w, std::span<const std::byte>(raw));
}

// The named forms of read_int / write_int (Tokio's names): big-endian, and `_le` for
// little-endian. Each is a `read_int` / `write_int`: `unexpected_eof` at an early end of
// stream, not cancel-safe.

/// Reads one byte.
template <async_read R>
[[nodiscard]] task<io::result<std::uint8_t>> read_u8(R& r) {
    return read_int<std::uint8_t>(r);
}
/// Reads one signed byte.
template <async_read R>
[[nodiscard]] task<io::result<std::int8_t>> read_i8(R& r) {
    return read_int<std::int8_t>(r);
}
/// Reads a big-endian `uint16_t`.
template <async_read R>
[[nodiscard]] task<io::result<std::uint16_t>> read_u16(R& r) {
    return read_int<std::uint16_t>(r);
}
/// Reads a big-endian `int16_t`.
template <async_read R>
[[nodiscard]] task<io::result<std::int16_t>> read_i16(R& r) {
    return read_int<std::int16_t>(r);
}
/// Reads a big-endian `uint32_t`.
template <async_read R>
[[nodiscard]] task<io::result<std::uint32_t>> read_u32(R& r) {
    return read_int<std::uint32_t>(r);
}
/// Reads a big-endian `int32_t`.
template <async_read R>
[[nodiscard]] task<io::result<std::int32_t>> read_i32(R& r) {
    return read_int<std::int32_t>(r);
}
/// Reads a big-endian `uint64_t`.
template <async_read R>
[[nodiscard]] task<io::result<std::uint64_t>> read_u64(R& r) {
    return read_int<std::uint64_t>(r);
}
/// Reads a big-endian `int64_t`.
template <async_read R>
[[nodiscard]] task<io::result<std::int64_t>> read_i64(R& r) {
    return read_int<std::int64_t>(r);
}
/// Reads a little-endian `uint16_t`.
template <async_read R>
[[nodiscard]] task<io::result<std::uint16_t>> read_u16_le(R& r) {
    return read_int<std::uint16_t, std::endian::little>(r);
}
/// Reads a little-endian `int16_t`.
template <async_read R>
[[nodiscard]] task<io::result<std::int16_t>> read_i16_le(R& r) {
    return read_int<std::int16_t, std::endian::little>(r);
}
/// Reads a little-endian `uint32_t`.
template <async_read R>
[[nodiscard]] task<io::result<std::uint32_t>> read_u32_le(R& r) {
    return read_int<std::uint32_t, std::endian::little>(r);
}
/// Reads a little-endian `int32_t`.
template <async_read R>
[[nodiscard]] task<io::result<std::int32_t>> read_i32_le(R& r) {
    return read_int<std::int32_t, std::endian::little>(r);
}
/// Reads a little-endian `uint64_t`.
template <async_read R>
[[nodiscard]] task<io::result<std::uint64_t>> read_u64_le(R& r) {
    return read_int<std::uint64_t, std::endian::little>(r);
}
/// Reads a little-endian `int64_t`.
template <async_read R>
[[nodiscard]] task<io::result<std::int64_t>> read_i64_le(R& r) {
    return read_int<std::int64_t, std::endian::little>(r);
}

/// Writes one byte.
template <async_write W>
[[nodiscard]] task<io::result<void>> write_u8(W& w, std::uint8_t v) {
    return write_int(w, v);
}
/// Writes one signed byte.
template <async_write W>
[[nodiscard]] task<io::result<void>> write_i8(W& w, std::int8_t v) {
    return write_int(w, v);
}
/// Writes a big-endian `uint16_t`.
template <async_write W>
[[nodiscard]] task<io::result<void>> write_u16(W& w, std::uint16_t v) {
    return write_int(w, v);
}
/// Writes a big-endian `int16_t`.
template <async_write W>
[[nodiscard]] task<io::result<void>> write_i16(W& w, std::int16_t v) {
    return write_int(w, v);
}
/// Writes a big-endian `uint32_t`.
template <async_write W>
[[nodiscard]] task<io::result<void>> write_u32(W& w, std::uint32_t v) {
    return write_int(w, v);
}
/// Writes a big-endian `int32_t`.
template <async_write W>
[[nodiscard]] task<io::result<void>> write_i32(W& w, std::int32_t v) {
    return write_int(w, v);
}
/// Writes a big-endian `uint64_t`.
template <async_write W>
[[nodiscard]] task<io::result<void>> write_u64(W& w, std::uint64_t v) {
    return write_int(w, v);
}
/// Writes a big-endian `int64_t`.
template <async_write W>
[[nodiscard]] task<io::result<void>> write_i64(W& w, std::int64_t v) {
    return write_int(w, v);
}
/// Writes a little-endian `uint16_t`.
template <async_write W>
[[nodiscard]] task<io::result<void>> write_u16_le(W& w, std::uint16_t v) {
    return write_int<std::uint16_t, std::endian::little>(w, v);
}
/// Writes a little-endian `int16_t`.
template <async_write W>
[[nodiscard]] task<io::result<void>> write_i16_le(W& w, std::int16_t v) {
    return write_int<std::int16_t, std::endian::little>(w, v);
}
/// Writes a little-endian `uint32_t`.
template <async_write W>
[[nodiscard]] task<io::result<void>> write_u32_le(W& w, std::uint32_t v) {
    return write_int<std::uint32_t, std::endian::little>(w, v);
}
/// Writes a little-endian `int32_t`.
template <async_write W>
[[nodiscard]] task<io::result<void>> write_i32_le(W& w, std::int32_t v) {
    return write_int<std::int32_t, std::endian::little>(w, v);
}
/// Writes a little-endian `uint64_t`.
template <async_write W>
[[nodiscard]] task<io::result<void>> write_u64_le(W& w, std::uint64_t v) {
    return write_int<std::uint64_t, std::endian::little>(w, v);
}
/// Writes a little-endian `int64_t`.
template <async_write W>
[[nodiscard]] task<io::result<void>> write_i64_le(W& w, std::int64_t v) {
    return write_int<std::int64_t, std::endian::little>(w, v);
}

} // namespace tako::io
