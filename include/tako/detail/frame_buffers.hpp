#pragma once
// The two halves of codec::framed, shared by framed, framed_read and framed_write: a read
// buffer that decodes frames as bytes arrive, and a write buffer that encoded frames wait
// in until written.

#include <algorithm>
#include <cstddef>
#include <optional>
#include <utility>

#include "tako/codec/bytes_buffer.hpp"
#include "tako/codec/decoder.hpp"
#include "tako/io/result.hpp"
#include "tako/io/traits.hpp"
#include "tako/task.hpp"

namespace tako::detail {

/// Reads from a stream into a bytes_buffer and decodes frames from it.
class frame_reader {
public:
    frame_reader(std::size_t chunk, codec::bytes_buffer buf) noexcept
        : buf_(std::move(buf)), chunk_(std::max<std::size_t>(chunk, 1)) {}

    /// The next frame: decodes what is buffered, reading more only when that gives nothing.
    /// The only suspension is `s.read` into the buffer's spare space, which commits bytes
    /// only once they were read: destroyed there, nothing read is lost and no frame was
    /// taken out of the buffer. After end of stream it calls `decode_eof` until that gives
    /// no frame, reports the end once, and then reads again (a stream may have more).
    template <class IO, class Codec>
    task<io::result<std::optional<codec::item_t<Codec>>>> next(IO& s, Codec& c) {
        for (;;) {
            auto frame = eof_ ? codec::decode_eof(c, buf_) : c.decode(buf_);
            if (!frame || *frame) {
                co_return frame;
            }
            if (eof_) {
                eof_ = false;
                co_return frame; // the end, reported once
            }
            // The first read fills a whole chunk; later ones at least half of one, after
            // moving a partial frame to the front (cheap: frames are consumed as they go).
            buf_.reserve(buf_.capacity() == 0 ? chunk_ : std::max<std::size_t>(chunk_ / 2, 1));
            auto n = co_await s.read(buf_.spare());
            if (!n) {
                co_return std::unexpected(n.error());
            }
            if (*n == 0) {
                eof_ = true;
            } else {
                buf_.commit(*n);
            }
        }
    }

    [[nodiscard]] codec::bytes_buffer& buffer() noexcept { return buf_; }

private:
    codec::bytes_buffer buf_;
    std::size_t chunk_; ///< how much to read at once
    bool eof_ = false;  ///< the stream gave end of stream; decode_eof until it gives nothing
};

/// Encodes frames into a bytes_buffer and writes it to a stream.
class frame_writer {
public:
    frame_writer(std::size_t boundary, codec::bytes_buffer buf) noexcept
        : buf_(std::move(buf)), boundary_(boundary) {}

    /// Encodes `item` into the buffer now (nothing is appended if that fails), and returns
    /// the task that writes it: for `send`, everything, then a flush of `s`; for `feed`, the
    /// buffer only once it holds `boundary()` bytes.
    template <class IO, class Codec, class Item>
    task<io::result<void>> encode_then(IO& s, Codec& c, Item&& item, bool send) {
        auto encoded = c.encode(std::forward<Item>(item), buf_);
        return after_encode(s, std::move(encoded), send);
    }

    /// Writes the buffer out, then `io::flush(s)`.
    template <class IO>
    task<io::result<void>> flush(IO& s) {
        return write_out_then(s, /*shut_down=*/false);
    }

    /// Writes the buffer out, then `io::shutdown(s)`.
    template <class IO>
    task<io::result<void>> shutdown(IO& s) {
        return write_out_then(s, /*shut_down=*/true);
    }

    [[nodiscard]] codec::bytes_buffer& buffer() noexcept { return buf_; }
    [[nodiscard]] std::size_t boundary() const noexcept { return boundary_; }
    void set_boundary(std::size_t n) noexcept { boundary_ = n; }

private:
    template <class IO>
    task<io::result<void>> after_encode(IO& s, io::result<void> encoded, bool send) {
        if (!encoded) {
            co_return encoded;
        }
        if (send) {
            co_return co_await flush(s);
        }
        if (buf_.size() < boundary_) {
            co_return encoded;
        }
        co_return co_await write_out(s);
    }

    template <class IO>
    task<io::result<void>> write_out_then(IO& s, bool shut_down) {
        auto written = co_await write_out(s);
        if (!written) {
            co_return written;
        }
        // Not `c ? co_await a : co_await b`: g++ 12 runs both awaits.
        if (shut_down) {
            co_return co_await io::shutdown(s);
        }
        co_return co_await io::flush(s);
    }

    /// Writes the whole buffer, consuming each part once written: destroyed or failed
    /// midway, the buffer holds exactly the bytes not yet written.
    template <class IO>
    task<io::result<void>> write_out(IO& s) {
        while (!buf_.empty()) {
            auto n = co_await s.write(buf_.bytes());
            if (!n) {
                co_return std::unexpected(n.error());
            }
            if (*n == 0) {
                co_return std::unexpected(io::make_error_code(io::errc::write_zero));
            }
            buf_.consume(*n);
        }
        co_return io::result<void>{};
    }

    codec::bytes_buffer buf_;
    std::size_t boundary_; ///< feed writes the buffer out once it holds this much
};

} // namespace tako::detail
