#pragma once
// The scanning shared by lines_codec and any_delimiter_codec: find the next delimiter in a
// bytes_buffer without rescanning bytes already looked at, bounded by a maximum frame
// length, and skip the rest of a frame that exceeded it.

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <limits>
#include <optional>

#include "tako/codec/bytes_buffer.hpp"
#include "tako/codec/error.hpp"
#include "tako/io/result.hpp"

namespace tako::detail {

/// The state of a delimiter search across calls.
class delimited_scan {
public:
    explicit delimited_scan(std::size_t max_length) noexcept : max_length_(max_length) {}

    /// The longest frame (without its delimiter) accepted.
    [[nodiscard]] std::size_t max_length() const noexcept { return max_length_; }
    /// Whether the rest of an over-long frame is being skipped.
    [[nodiscard]] bool discarding() const noexcept { return discarding_; }

    /// Where the next frame's delimiter is (its index in `buf`), `nullopt` if it has not
    /// arrived yet, or `max_length_exceeded` for a frame that outgrew `max_length`, whose
    /// bytes the following calls then drop up to and including its delimiter. The caller
    /// consumes the frame and its delimiter. Only bytes not scanned before are scanned.
    /// `find(first, last)` gives the first delimiter in [first, last), or `last`.
    template <class Find>
    io::result<std::optional<std::size_t>> next(codec::bytes_buffer& buf, Find find) {
        for (;;) {
            // A frame of max_length bytes has its delimiter at index max_length: look no
            // further than that.
            const std::size_t limit = max_length_ == std::numeric_limits<std::size_t>::max()
                                          ? max_length_
                                          : max_length_ + 1;
            const std::size_t window = std::min(limit, buf.size());
            const std::size_t from = std::min(next_index_, window);
            const auto* first = buf.data();
            const auto* hit = find(first + from, first + window);
            const bool found = hit != first + window;
            const auto at = static_cast<std::size_t>(hit - first);
            next_index_ = 0;
            if (discarding_) {
                if (found) {
                    buf.consume(at + 1); // the end of the over-long frame
                    discarding_ = false;
                    continue;
                }
                buf.consume(window); // still inside it
                if (buf.empty()) {
                    return std::nullopt;
                }
                continue;
            }
            if (found) {
                return at;
            }
            if (buf.size() > max_length_) {
                discarding_ = true;
                return std::unexpected(codec::make_error_code(codec::errc::max_length_exceeded));
            }
            next_index_ = window; // resume the search there when more bytes arrive
            return std::nullopt;
        }
    }

    /// At end of stream: forget the search position, and a frame being skipped ends here.
    void reset() noexcept {
        next_index_ = 0;
        discarding_ = false;
    }

    /// A `find` for one delimiter byte (memchr: much faster than a byte loop).
    struct find_byte {
        std::byte delim;
        const std::byte* operator()(const std::byte* first, const std::byte* last) const noexcept {
            if (first == last) {
                return last;
            }
            const void* hit = std::memchr(first, std::to_integer<int>(delim),
                                          static_cast<std::size_t>(last - first));
            return hit != nullptr ? static_cast<const std::byte*>(hit) : last;
        }
    };

private:
    std::size_t max_length_;
    std::size_t next_index_ = 0; ///< bytes of buf already searched for a delimiter
    bool discarding_ = false;    ///< skipping the rest of an over-long frame
};

} // namespace tako::detail
