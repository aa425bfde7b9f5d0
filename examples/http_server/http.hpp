#pragma once
// HTTP/1.1 message handling for examples/http_server: a request-head parser and a response
// writer. Both are plain functions over bytes (no I/O, no allocation), so the server's hot
// path parses in place over its read buffer, and a fuzzer or a unit test can drive the
// parser directly.
//
// What the parser accepts (RFC 9112, strictly; everything else is an error status):
//  - optional empty lines (CRLF) before the request line (RFC 9112 §2.2);
//  - a request line `method SP request-target SP HTTP/1.x CRLF`: the method a token, the
//    target visible ASCII, the version HTTP/1.0 or HTTP/1.1 (HTTP/1.2-1.9 are read as 1.1,
//    any other major version is 505);
//  - header lines `name ":" OWS value OWS CRLF`: the name a token with no space before the
//    colon, the value without control characters (HTAB allowed); no obs-fold;
//  - lines end in CRLF: a bare LF or a stray CR is 400.
// Semantic checks: Content-Length must be digits and appear once (a repeated Content-Length,
// even with the same value, is 400); a request with Transfer-Encoding is 501 (this server
// reads no chunked request bodies) unless it also has Content-Length, which is 400 (the
// request-smuggling pattern); HTTP/1.1 needs exactly one Host (400 otherwise); Expect other
// than 100-continue is 417. A head longer than `max_head_bytes` is 431, or 414 when the
// request line alone does not fit; more than `max_headers` header lines is 431.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace http {

/// The longest request head (request line, headers, blank line) the server reads.
inline constexpr std::size_t max_head_bytes = 8192;
/// The most header lines one request may have.
inline constexpr std::size_t max_headers = 64;

/// One header line; both views point into the bytes given to `parse_request`.
struct header {
    std::string_view name;
    std::string_view value; ///< without leading or trailing whitespace
};

/// A parsed request head. The views point into the bytes given to `parse_request` and are
/// valid as long as those bytes are.
struct request {
    std::string_view method;
    std::string_view target;
    int minor_version = 1; ///< HTTP/1.<minor_version>: 0 or 1
    std::array<header, max_headers> header_storage;
    std::size_t header_count = 0;
    std::uint64_t content_length = 0; ///< 0 when there is no Content-Length
    bool keep_alive = true;           ///< false: close after the response
    bool expect_continue = false;     ///< `Expect: 100-continue`

    /// The header lines in the order received.
    [[nodiscard]] std::span<const header> headers() const noexcept {
        return std::span(header_storage).first(header_count);
    }
    /// The value of the first header named `name` (ASCII case-insensitive).
    [[nodiscard]] std::optional<std::string_view> find(std::string_view name) const noexcept;
};

enum class parse_status : unsigned char {
    complete,   ///< a whole head was parsed: `head_bytes` long
    incomplete, ///< no error so far, but the head has not ended: read more
    error,      ///< malformed or over a limit: answer `error_status` and close
};

struct parse_result {
    parse_status status = parse_status::incomplete;
    std::size_t head_bytes = 0; ///< complete: the bytes the head took, blank line included
    int error_status = 0;       ///< error: 400, 414, 417, 431, 501 or 505
};

/// Parses the request head at the start of `bytes` into `out` (which it overwrites).
/// Reports an error as soon as the bytes received so far cannot start a valid head, so a
/// malformed request gets its answer without waiting for more input.
[[nodiscard]] parse_result parse_request(std::string_view bytes, request& out) noexcept;

/// True if `a` and `b` are equal ignoring ASCII case.
[[nodiscard]] bool iequals(std::string_view a, std::string_view b) noexcept;

/// How the response says what happens to the connection after it.
enum class connection : unsigned char {
    keep_alive_1_1, ///< HTTP/1.1 persistent: no Connection header
    keep_alive_1_0, ///< an HTTP/1.0 client asked to keep the connection: `Connection: keep-alive`
    close,          ///< `Connection: close`
};

/// The connection header a response to `req` needs.
[[nodiscard]] connection connection_for(const request& req) noexcept;

/// The head of a response.
struct response_head {
    response_head(int status_code, std::string_view type, std::optional<std::uint64_t> length,
                  connection c) noexcept
        : status(status_code), content_type(type), content_length(length), conn(c) {}

    int status;
    std::string_view content_type; ///< empty: no Content-Type
    /// The body's length; nullopt: a streamed body, chunked (`Transfer-Encoding: chunked`),
    /// or with `chunked` false one that ends when the connection does (for HTTP/1.0
    /// clients, which do not know chunked; `conn` must then be `close`).
    std::optional<std::uint64_t> content_length;
    connection conn;
    bool chunked = true;
    /// Whole lines, each ending in CRLF (e.g. "Allow: GET\r\n").
    std::string_view extra_headers;
};

/// The reason phrase of `status` ("OK", "Not Found", ...).
[[nodiscard]] std::string_view reason_phrase(int status) noexcept;

/// Appends the status line and headers of `head`, and the blank line, to `out`.
void append_head(std::string& out, const response_head& head);
/// Appends a whole response with a Content-Length body to `out`.
void append_response(std::string& out, int status, std::string_view content_type,
                     std::string_view body, connection conn);
/// Appends one chunk of a chunked body (hex size, CRLF, data, CRLF); nothing for empty data.
void append_chunk(std::string& out, std::string_view data);
/// Appends the last chunk, which ends a chunked body (no trailers).
void append_last_chunk(std::string& out);

} // namespace http
