#pragma once
/// \file
/// Reading up to a delimiter from an `io::async_buf_read` (Tokio's `read_until`,
/// `read_line` and `lines`).
///
/// ```cpp
/// #include <tako/io/buffered.hpp>
/// #include <tako/io/lines.hpp>
/// #include <tako/net/tcp_stream.hpp>
///
/// tako::task<void> print_lines(tako::net::tcp_stream s) {
///     auto lines = tako::io::lines(tako::io::buf_reader(std::move(s)));
///     for (;;) {
///         auto line = co_await lines.next_line();      // io::result<optional<string>>
///         if (!line || !*line) break;                   // an error, or end of stream
///         std::printf("%s\n", (*line)->c_str());        // without the "\n" / "\r\n"
///     }
/// }
/// ```
///
/// **Cancel safety.** `read_until` and `read_line` append to the caller's buffer as they
/// go and consume from the reader only what they appended: cancelled while suspended (in a
/// `select` or `timeout`), the bytes read so far are in the buffer and nothing is lost;
/// calling again with the same buffer continues the line. `line_reader::next_line` keeps
/// its partial line itself, so it is cancel-safe too. (This holds when the reader's
/// `fill_buf` is cancel-safe, as `buf_reader`'s is over a socket or a `duplex_stream`.)

#include <algorithm>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "tako/io/result.hpp"
#include "tako/io/traits.hpp"
#include "tako/task.hpp"

namespace tako::io {} // namespace tako::io

namespace tako::detail {
/// Appends bytes from `r` to `out` up to and including `delim`, or to end of stream.
template <class R, class Out>
task<io::result<std::size_t>> read_until_into(R& r, std::byte delim, Out& out) {
    std::size_t total = 0;
    for (;;) {
        auto avail = co_await r.fill_buf();
        if (!avail) {
            co_return std::unexpected(avail.error());
        }
        if (avail->empty()) {
            co_return total; // end of stream
        }
        const auto hit = std::find(avail->begin(), avail->end(), delim);
        const bool found = hit != avail->end();
        const auto n = static_cast<std::size_t>(hit - avail->begin()) + (found ? 1 : 0);
        const auto* first = reinterpret_cast<const typename Out::value_type*>(avail->data());
        out.insert(out.end(), first, first + n);
        r.consume(n); // only after the bytes are in `out`: cancel-safe
        total += n;
        if (found) {
            co_return total;
        }
    }
}
} // namespace tako::detail

namespace tako::io {

/// Appends to `out` the bytes up to and including `delim` (or up to end of stream); how
/// many were appended, 0 at end of stream. Cancel-safe: what was read is in `out`.
template <async_buf_read R>
[[nodiscard]] task<io::result<std::size_t>> read_until(R& r, std::byte delim,
                                                       std::vector<std::byte>& out) {
    return detail::read_until_into(r, delim, out);
}

/// Appends one line, with its "\n", to `out` (the last line of a stream may have none); how
/// many bytes were appended, 0 at end of stream. Bytes are taken as they are (no UTF-8
/// check). Cancel-safe: what was read is in `out`.
template <async_buf_read R>
[[nodiscard]] task<io::result<std::size_t>> read_line(R& r, std::string& out) {
    return detail::read_until_into(r, std::byte{'\n'}, out);
}

/// The lines of a buffered reader, one `next_line()` at a time (Tokio's `Lines`). Holds
/// `R` as `buf_reader` does: a reference type borrows, a value type owns.
template <class R>
requires async_buf_read<R>
class line_reader {
public:
    /// Reads lines from `inner`.
    explicit line_reader(R inner) : inner_(std::forward<R>(inner)) {}

    /// The next line without its "\n" or "\r\n", or `std::nullopt` at end of stream. The
    /// last line of a stream counts even without a "\n". Cancel-safe: a partial line
    /// stays here and the next call completes it.
    [[nodiscard]] task<io::result<std::optional<std::string>>> next_line() {
        auto n = co_await io::read_line(inner_, line_);
        if (!n) {
            co_return std::unexpected(n.error());
        }
        if (line_.empty()) {
            co_return std::optional<std::string>();
        }
        std::string line = std::exchange(line_, {});
        if (line.ends_with('\n')) {
            line.pop_back();
            if (line.ends_with('\r')) {
                line.pop_back();
            }
        }
        co_return std::optional<std::string>(std::move(line));
    }

    /// The reader.
    [[nodiscard]] std::remove_reference_t<R>& inner() noexcept { return inner_; }

private:
    R inner_;
    std::string line_; ///< the line read so far
};

/// The lines of `r`: `lines(reader)` borrows an lvalue, `lines(std::move(reader))` (or a
/// temporary) owns it.
template <class R>
requires async_buf_read<std::remove_reference_t<R>>
[[nodiscard]] line_reader<R> lines(R&& r) {
    return line_reader<R>(std::forward<R>(r));
}

} // namespace tako::io
