#pragma once
// RESP2 frames (the Redis serialization protocol) for mini-redis: the frame type, a parser
// over bytes that never reads past what it was given, and the encoder.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mini_redis {

/// One RESP2 value. `kind` says which members mean something: `text` for simple strings,
/// errors and bulk strings, `integer` for integers, `items` for arrays; `null` is the nil
/// bulk string (`$-1`) and the nil array (`*-1`).
struct frame {
    enum class kind : unsigned char { simple, error, integer, bulk, null, array };

    kind type = kind::null;
    std::int64_t integer = 0;
    std::string text;
    std::vector<frame> items;

    static frame simple(std::string s) { return {kind::simple, 0, std::move(s), {}}; }
    static frame error(std::string s) { return {kind::error, 0, std::move(s), {}}; }
    static frame number(std::int64_t n) { return {kind::integer, n, {}, {}}; }
    static frame bulk(std::string s) { return {kind::bulk, 0, std::move(s), {}}; }
    static frame nil() { return {}; }
    static frame array(std::vector<frame> items = {}) {
        return {kind::array, 0, {}, std::move(items)};
    }

    friend bool operator==(const frame&, const frame&) = default;
};

/// What `parse_frame` found at the front of its input.
struct parse_result {
    enum class status : unsigned char {
        complete,   ///< `value` holds a frame made of the first `consumed` bytes
        incomplete, ///< the input is a valid prefix of a frame: read more bytes (the first
                    ///< `consumed` bytes, blank lines before it, may be dropped)
        invalid,    ///< not RESP: `error` says why (the connection should be closed)
    };
    status state = status::incomplete;
    std::size_t consumed = 0;
    frame value;
    std::string error;
};

/// Limits that bound the memory one frame may claim before its bytes arrive.
struct parse_limits {
    std::size_t max_bulk = 512u << 20;   ///< a bulk string's length (Redis: 512 MiB)
    std::size_t max_items = 1u << 20;    ///< an array's element count
    std::size_t max_depth = 32;          ///< arrays nested in arrays
    std::size_t max_inline = 64u << 10;  ///< an inline command's line
    /// The bytes one frame may take in all (nested arrays multiply the limits above):
    /// an incomplete frame longer than this is refused instead of buffered.
    std::size_t max_frame = (512u << 20) + (1u << 20);
};

/// Parses one frame from the front of `in`. Besides RESP2's typed frames it accepts
/// Redis's inline commands (`PING\r\n`, words separated by spaces), which `redis-benchmark`
/// sends and people type into `nc`: they parse as an array of bulk strings.
parse_result parse_frame(std::string_view in, const parse_limits& limits = {});

/// Appends the RESP2 encoding of `f` to `out`.
void encode_frame(const frame& f, std::string& out);

/// Appends a bulk string, a simple string, an integer or an error without building a frame
/// (the hot replies).
void encode_bulk(std::string_view s, std::string& out);
void encode_simple(std::string_view s, std::string& out);
void encode_integer(std::int64_t n, std::string& out);
void encode_error(std::string_view s, std::string& out);
void encode_nil(std::string& out);
void encode_array_header(std::size_t n, std::string& out);

} // namespace mini_redis
