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
///     auto body = co_await tako::io::read_exact(s, payload);
///     if (!body) co_return std::unexpected(body.error());
///     co_return payload;
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
#include <type_traits>
#include <vector>

#include "tako/io/result.hpp"
#include "tako/io/traits.hpp"
#include "tako/task.hpp"

namespace tako::detail {
/// The loop of `read_exact` (a `span<byte>`) and `write_all` (a `span<const byte>`): read or
/// write until `buf` is done; a 0 from the stream is an error.
template <class S, class Byte>
task<io::result<void>> transfer_all(S& s, std::span<Byte> buf) {
    constexpr bool reading = !std::is_const_v<Byte>;
    while (!buf.empty()) {
        io::result<std::size_t> n;
        if constexpr (reading) {
            n = co_await s.read(buf);
        } else {
            n = co_await s.write(buf);
        }
        if (!n) {
            co_return std::unexpected(n.error());
        }
        if (*n == 0) {
            co_return std::unexpected(
                io::make_error_code(reading ? io::errc::unexpected_eof : io::errc::write_zero));
        }
        buf = buf.subspan(*n);
    }
    co_return io::result<void>{};
}

/// The loop of `read_to_end` and `read_to_string`: read into the free end of `out` (grown
/// by at least 4 KiB at a time), keeping what arrived, until end of stream.
template <class R, class Buf>
task<io::result<std::size_t>> read_to_end_into(R& r, Buf& out) {
    constexpr std::size_t chunk = 4096;
    std::size_t total = 0;
    for (;;) {
        const std::size_t old = out.size();
        out.resize(std::max(out.capacity(), old + chunk));
        auto n =
            co_await r.read(std::as_writable_bytes(std::span(out.data() + old, out.size() - old)));
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
} // namespace tako::detail

namespace tako::io {

/// Reads until `buf` is full; `io::errc::unexpected_eof` if the stream ends first (the
/// bytes read so far are in `buf`). Not cancel-safe.
template <async_read R>
[[nodiscard]] task<io::result<void>> read_exact(R& r, std::span<std::byte> buf) {
    return detail::transfer_all(r, buf);
}

/// Writes all of `buf`; `io::errc::write_zero` if the writer takes no bytes. Not
/// cancel-safe: cancelled midway, part of `buf` may have been written.
template <async_write W>
[[nodiscard]] task<io::result<void>> write_all(W& w, std::span<const std::byte> buf) {
    return detail::transfer_all(w, buf);
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
    return detail::read_to_end_into(r, out);
}

/// `read_to_end` into a string (bytes as they are: no UTF-8 validation). Cancel-safe in the
/// same sense: what was read is in `out`.
template <async_read R>
[[nodiscard]] task<io::result<std::size_t>> read_to_string(R& r, std::string& out) {
    return detail::read_to_end_into(r, out);
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

} // namespace tako::io

namespace tako::detail {
/// The function object behind `io::read_u16` and friends.
template <std::integral T, std::endian E>
struct int_reader {
    template <io::async_read R>
    [[nodiscard]] task<io::result<T>> operator()(R& r) const {
        return io::read_int<T, E>(r);
    }
};
/// The function object behind `io::write_u16` and friends.
template <std::integral T, std::endian E>
struct int_writer {
    template <io::async_write W>
    [[nodiscard]] task<io::result<void>> operator()(W& w, T value) const {
        return io::write_int<T, E>(w, value);
    }
};
} // namespace tako::detail

namespace tako::io {

// The named forms of read_int / write_int (Tokio's names): `read_u32(r)` reads a big-endian
// `uint32_t`, `write_u64_le(w, v)` writes a little-endian `uint64_t`. Each is a `read_int` /
// `write_int`: `unexpected_eof` at an early end of stream, not cancel-safe.

/// Reads one byte.
inline constexpr detail::int_reader<std::uint8_t, std::endian::big> read_u8{};
/// Reads one signed byte.
inline constexpr detail::int_reader<std::int8_t, std::endian::big> read_i8{};
/// Reads a big-endian `uint16_t`.
inline constexpr detail::int_reader<std::uint16_t, std::endian::big> read_u16{};
/// Reads a big-endian `int16_t`.
inline constexpr detail::int_reader<std::int16_t, std::endian::big> read_i16{};
/// Reads a big-endian `uint32_t`.
inline constexpr detail::int_reader<std::uint32_t, std::endian::big> read_u32{};
/// Reads a big-endian `int32_t`.
inline constexpr detail::int_reader<std::int32_t, std::endian::big> read_i32{};
/// Reads a big-endian `uint64_t`.
inline constexpr detail::int_reader<std::uint64_t, std::endian::big> read_u64{};
/// Reads a big-endian `int64_t`.
inline constexpr detail::int_reader<std::int64_t, std::endian::big> read_i64{};
/// Reads a little-endian `uint16_t`.
inline constexpr detail::int_reader<std::uint16_t, std::endian::little> read_u16_le{};
/// Reads a little-endian `int16_t`.
inline constexpr detail::int_reader<std::int16_t, std::endian::little> read_i16_le{};
/// Reads a little-endian `uint32_t`.
inline constexpr detail::int_reader<std::uint32_t, std::endian::little> read_u32_le{};
/// Reads a little-endian `int32_t`.
inline constexpr detail::int_reader<std::int32_t, std::endian::little> read_i32_le{};
/// Reads a little-endian `uint64_t`.
inline constexpr detail::int_reader<std::uint64_t, std::endian::little> read_u64_le{};
/// Reads a little-endian `int64_t`.
inline constexpr detail::int_reader<std::int64_t, std::endian::little> read_i64_le{};

/// Writes one byte.
inline constexpr detail::int_writer<std::uint8_t, std::endian::big> write_u8{};
/// Writes one signed byte.
inline constexpr detail::int_writer<std::int8_t, std::endian::big> write_i8{};
/// Writes a big-endian `uint16_t`.
inline constexpr detail::int_writer<std::uint16_t, std::endian::big> write_u16{};
/// Writes a big-endian `int16_t`.
inline constexpr detail::int_writer<std::int16_t, std::endian::big> write_i16{};
/// Writes a big-endian `uint32_t`.
inline constexpr detail::int_writer<std::uint32_t, std::endian::big> write_u32{};
/// Writes a big-endian `int32_t`.
inline constexpr detail::int_writer<std::int32_t, std::endian::big> write_i32{};
/// Writes a big-endian `uint64_t`.
inline constexpr detail::int_writer<std::uint64_t, std::endian::big> write_u64{};
/// Writes a big-endian `int64_t`.
inline constexpr detail::int_writer<std::int64_t, std::endian::big> write_i64{};
/// Writes a little-endian `uint16_t`.
inline constexpr detail::int_writer<std::uint16_t, std::endian::little> write_u16_le{};
/// Writes a little-endian `int16_t`.
inline constexpr detail::int_writer<std::int16_t, std::endian::little> write_i16_le{};
/// Writes a little-endian `uint32_t`.
inline constexpr detail::int_writer<std::uint32_t, std::endian::little> write_u32_le{};
/// Writes a little-endian `int32_t`.
inline constexpr detail::int_writer<std::int32_t, std::endian::little> write_i32_le{};
/// Writes a little-endian `uint64_t`.
inline constexpr detail::int_writer<std::uint64_t, std::endian::little> write_u64_le{};
/// Writes a little-endian `int64_t`.
inline constexpr detail::int_writer<std::int64_t, std::endian::little> write_i64_le{};

} // namespace tako::io
