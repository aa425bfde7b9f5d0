#pragma once
// The RESP2 parser and encoder as a tako codec (`tako::codec::decoder` / `encoder`), so a
// connection can be framed with `tako::codec::framed` and the decoder fuzzed like the
// library's own (fuzz/fuzz_resp_codec.cpp).

#include "frame.hpp"

#include <tako/codec/bytes_buffer.hpp>
#include <tako/codec/decoder.hpp>
#include <tako/io/result.hpp>

#include <optional>
#include <string>
#include <system_error>

namespace mini_redis {

class resp_codec {
public:
    using item_type = frame;

    explicit resp_codec(parse_limits limits = {}) : limits_(limits) {}

    /// A frame from the front of `buf` (consumed), nullopt while `buf` holds only part of
    /// one, or `std::errc::protocol_error` for bytes that are not RESP (`last_error()` says
    /// why; the stream cannot be resynchronized: close it).
    tako::io::result<std::optional<frame>> decode(tako::codec::bytes_buffer& buf) {
        auto parsed = parse_frame(buf.view(), limits_);
        switch (parsed.state) {
        case parse_result::status::complete:
            buf.consume(parsed.consumed);
            return std::optional<frame>(std::move(parsed.value));
        case parse_result::status::invalid:
            error_ = std::move(parsed.error);
            return std::unexpected(std::make_error_code(std::errc::protocol_error));
        case parse_result::status::incomplete:
            buf.consume(parsed.consumed); // blank lines before the frame
            break;
        }
        return std::optional<frame>();
    }

    /// Appends `f`'s RESP2 bytes.
    tako::io::result<void> encode(const frame& f, tako::codec::bytes_buffer& buf) {
        scratch_.clear();
        encode_frame(f, scratch_);
        buf.append(scratch_);
        return {};
    }

    [[nodiscard]] const std::string& last_error() const noexcept { return error_; }
    [[nodiscard]] const parse_limits& limits() const noexcept { return limits_; }

private:
    parse_limits limits_;
    std::string error_;
    std::string scratch_;
};

static_assert(tako::codec::decoder<resp_codec> && tako::codec::encoder<resp_codec, frame>);

} // namespace mini_redis
