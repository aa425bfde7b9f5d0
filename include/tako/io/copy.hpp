#pragma once
/// \file
/// Moving bytes from a reader to a writer (Tokio's `io::copy`, `copy_buf` and
/// `copy_bidirectional`).
///
/// ```cpp
/// #include <tako/io/copy.hpp>
/// #include <tako/net/tcp_stream.hpp>
///
/// // A TCP proxy for one connection.
/// tako::task<void> proxy(tako::net::tcp_stream client, std::string upstream) {
///     auto server = co_await tako::net::tcp_stream::connect(upstream);
///     if (!server) co_return;
///     auto counts = co_await tako::io::copy_bidirectional(client, *server);
///     if (counts) std::printf("%llu bytes up, %llu down\n",
///                             static_cast<unsigned long long>(counts->first),
///                             static_cast<unsigned long long>(counts->second));
/// }
/// ```
///
/// **The splice path.** When both ends are plain descriptors (`tcp_stream`, `unix_stream`:
/// types with `native_handle()` and no buffer of their own), `copy` moves the bytes with
/// splice(2) through a pipe, inside the kernel, instead of through an 8 KiB user-space
/// buffer. It falls back to the buffer when splice cannot be used (a descriptor the driver
/// or splice(2) refuses, no descriptor left for the pipe); the bytes that arrive, the count
/// and the errors are the same either way. `copy_buffered` always uses the buffer.
///
/// **Cancel safety.** `copy` reads into its own buffer, then writes: cancelled while
/// waiting to read, everything it read has been written (nothing is lost, and the reader
/// can go on being read); cancelled while waiting to write, the bytes it read and had not
/// written yet are lost. `copy_buf` writes straight from the reader's buffer and consumes
/// only what was written, so it loses nothing when cancelled (if the reader's `fill_buf`
/// and the writer's `write` are cancel-safe). `copy_bidirectional` is `copy` both ways. On the
/// splice path the buffer is the pipe: up to its capacity (1 MiB, less when the kernel
/// refuses to grow it) is lost when cancelled while waiting to write.

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "tako/detail/splice.hpp"
#include "tako/io/buffered.hpp"
#include "tako/io/result.hpp"
#include "tako/io/traits.hpp"
#include "tako/io/util.hpp"
#include "tako/join.hpp"
#include "tako/task.hpp"

namespace tako::detail {
/// The end of a copy: flush `w`, then report `total`.
template <class W>
task<io::result<std::uint64_t>> flush_then(W& w, std::uint64_t total) {
    auto flushed = co_await io::flush(w);
    if (!flushed) {
        co_return std::unexpected(flushed.error());
    }
    co_return total;
}
} // namespace tako::detail

namespace tako::io {

/// Copies `r` to `w` until `r` ends, always through an 8 KiB buffer, then flushes `w`;
/// how many bytes were copied. Stops at the first error of either side. Cancel-safe only
/// while waiting to read (see above).
template <async_read R, async_write W>
[[nodiscard]] task<io::result<std::uint64_t>> copy_buffered(R& r, W& w) {
    std::vector<std::byte> buf(default_buffer_size);
    std::uint64_t total = 0;
    for (;;) {
        auto n = co_await r.read(buf);
        if (!n) {
            co_return std::unexpected(n.error());
        }
        if (*n == 0) {
            break;
        }
        auto written = co_await io::write_all(w, std::span<const std::byte>(buf).first(*n));
        if (!written) {
            co_return std::unexpected(written.error());
        }
        total += *n;
    }
    co_return co_await detail::flush_then(w, total);
}

/// Copies `r` to `w` until `r` ends, then flushes `w` (`io::flush`; `w` is not shut down);
/// how many bytes were copied. With splice(2) when both are plain descriptors, else as
/// `copy_buffered` (see above). Stops at the first error of either side. Cancel-safe only
/// while waiting to read (see above).
template <async_read R, async_write W>
[[nodiscard]] task<io::result<std::uint64_t>> copy(R& r, W& w) {
    if constexpr (detail::plain_descriptor<R> && detail::plain_descriptor<W>) {
        auto spliced = co_await detail::splice_copy(r.native_handle(), w.native_handle());
        if (!spliced) {
            co_return std::unexpected(spliced.error());
        }
        if (!spliced->unsupported) {
            co_return spliced->bytes;
        }
        if (!spliced->leftover.empty()) {
            auto sent = co_await io::write_all(w, std::span<const std::byte>(spliced->leftover));
            if (!sent) {
                co_return std::unexpected(sent.error());
            }
        }
        const std::uint64_t before = spliced->bytes + spliced->leftover.size();
        auto rest = co_await copy_buffered(r, w);
        if (!rest) {
            co_return rest;
        }
        co_return before + *rest;
    } else {
        co_return co_await copy_buffered(r, w);
    }
}

/// Copies a buffered reader to `w` without a buffer of its own, then flushes `w`; how many
/// bytes were copied. Cancel-safe: a byte leaves `r`'s buffer only once `w` took it.
template <async_buf_read R, async_write W>
[[nodiscard]] task<io::result<std::uint64_t>> copy_buf(R& r, W& w) {
    std::uint64_t total = 0;
    for (;;) {
        auto avail = co_await r.fill_buf();
        if (!avail) {
            co_return std::unexpected(avail.error());
        }
        if (avail->empty()) {
            break;
        }
        auto n = co_await w.write(*avail);
        if (!n) {
            co_return std::unexpected(n.error());
        }
        if (*n == 0) {
            co_return std::unexpected(make_error_code(errc::write_zero));
        }
        r.consume(*n);
        total += *n;
    }
    co_return co_await detail::flush_then(w, total);
}

} // namespace tako::io

namespace tako::io {
/// How `copy_bidirectional` moves bytes: as `copy` (splice when it can), or always as
/// `copy_buffered`.
enum class copy_mode : unsigned char { automatic, buffered };
} // namespace tako::io

namespace tako::detail {
/// One direction of copy_bidirectional: copy, then pass the end of stream on.
template <class R, class W>
task<io::result<std::uint64_t>> copy_then_shutdown(R& r, W& w, io::copy_mode mode) {
    io::result<std::uint64_t> n;
    if (mode == io::copy_mode::buffered) {
        n = co_await io::copy_buffered(r, w);
    } else {
        n = co_await io::copy(r, w);
    }
    if (!n) {
        co_return n;
    }
    auto closed = co_await io::shutdown(w);
    if (!closed) {
        co_return std::unexpected(closed.error());
    }
    co_return n;
}
} // namespace tako::detail

namespace tako::io {

/// Copies `a` to `b` and `b` to `a` at the same time, inside the calling task (both
/// directions run under `try_join`). When one side's reads end, the other side's write
/// direction is shut down (`io::shutdown`: the peer sees end of stream) and the other
/// direction goes on until it ends too. Gives (bytes a→b, bytes b→a); the first error of
/// either direction ends both. Between two sockets the bytes go through splice(2) (see
/// `copy`) unless `mode` is `copy_mode::buffered`. Not cancel-safe (see `copy`).
template <class A, class B>
requires async_read<A> && async_write<A> && async_read<B> && async_write<B>
[[nodiscard]] task<io::result<std::pair<std::uint64_t, std::uint64_t>>>
copy_bidirectional(A& a, B& b, copy_mode mode = copy_mode::automatic) {
    auto both = co_await try_join(detail::copy_then_shutdown(a, b, mode),
                                  detail::copy_then_shutdown(b, a, mode));
    if (!both) {
        co_return std::unexpected(both.error());
    }
    co_return std::pair(std::get<0>(*both), std::get<1>(*both));
}

} // namespace tako::io
