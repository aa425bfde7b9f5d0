// The request-head parser and the response writer of examples/http_server (http.hpp says
// what is accepted). The parser walks the bytes once, line by line, and stores views into
// them: no copy and no allocation.

#include "http.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>

namespace http {
namespace {

/// RFC 9110 token characters: the method and header names.
constexpr std::array<bool, 256> make_token_table() {
    std::array<bool, 256> t{};
    for (int c = '0'; c <= '9'; ++c) {
        t[static_cast<std::size_t>(c)] = true;
    }
    for (int c = 'a'; c <= 'z'; ++c) {
        t[static_cast<std::size_t>(c)] = true;
        t[static_cast<std::size_t>(c - 'a' + 'A')] = true;
    }
    for (const char c : std::string_view("!#$%&'*+-.^_`|~")) {
        t[static_cast<unsigned char>(c)] = true;
    }
    return t;
}
constexpr std::array<bool, 256> token_char = make_token_table();

bool is_token_char(char c) noexcept {
    return token_char[static_cast<unsigned char>(c)];
}

/// A request-target character: visible ASCII.
bool is_target_char(char c) noexcept {
    return c > 0x20 && c < 0x7f;
}

/// A header-value character: visible ASCII, space, HTAB, or obs-text (0x80-0xFF).
bool is_value_char(char c) noexcept {
    const auto u = static_cast<unsigned char>(c);
    return u == '\t' || (u >= 0x20 && u != 0x7f);
}

char ascii_lower(char c) noexcept {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string_view trim_ows(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

parse_result fail(int status) noexcept {
    return {parse_status::error, 0, status};
}

/// Finds the line starting at `pos`: its text without the CRLF, and where the next begins.
struct line_scan {
    enum { found, partial, bare_lf } state;
    std::string_view text;
    std::size_t next = 0;
};

line_scan next_line(std::string_view window, std::size_t pos) noexcept {
    const void* lf = std::memchr(window.data() + pos, '\n', window.size() - pos);
    if (lf == nullptr) {
        return {line_scan::partial, {}, 0};
    }
    const auto at = static_cast<std::size_t>(static_cast<const char*>(lf) - window.data());
    if (at == pos || window[at - 1] != '\r') {
        return {line_scan::bare_lf, {}, 0};
    }
    return {line_scan::found, window.substr(pos, at - 1 - pos), at + 1};
}

/// Parses `method SP target SP HTTP/1.x` into `out`; 0 or the error status.
int parse_request_line(std::string_view line, request& out) noexcept {
    std::size_t i = 0;
    while (i < line.size() && is_token_char(line[i])) {
        ++i;
    }
    if (i == 0 || i == line.size() || line[i] != ' ') {
        return 400;
    }
    out.method = line.substr(0, i);
    const std::size_t target_start = ++i;
    while (i < line.size() && is_target_char(line[i])) {
        ++i;
    }
    if (i == target_start || i == line.size() || line[i] != ' ') {
        return 400;
    }
    out.target = line.substr(target_start, i - target_start);
    const std::string_view version = line.substr(i + 1);
    const auto digit = [](char c) { return c >= '0' && c <= '9'; };
    if (version.size() != 8 || !version.starts_with("HTTP/") || !digit(version[5]) ||
        version[6] != '.' || !digit(version[7])) {
        return 400;
    }
    if (version[5] != '1') {
        return 505;
    }
    out.minor_version = version[7] == '0' ? 0 : 1;
    return 0;
}

/// What the header lines said about the message as a whole.
struct head_facts {
    bool content_length_seen = false;
    bool transfer_encoding_seen = false;
    bool connection_close = false;
    bool connection_keep_alive = false;
    int host_count = 0;
};

/// Digits only, at most 19 of them (so the value fits in 64 bits); nullopt otherwise.
std::optional<std::uint64_t> parse_content_length(std::string_view v) noexcept {
    if (v.empty() || v.size() > 19) {
        return std::nullopt;
    }
    std::uint64_t n = 0;
    for (const char c : v) {
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        n = n * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return n;
}

/// Applies the headers whose meaning the server needs; 0 or the error status.
int note_header(const header& h, request& out, head_facts& facts) noexcept {
    // Dispatch on the length first: most headers need no comparison at all.
    switch (h.name.size()) {
    case 4:
        if (iequals(h.name, "host")) {
            ++facts.host_count;
        }
        break;
    case 6:
        if (iequals(h.name, "expect")) {
            if (!iequals(h.value, "100-continue")) {
                return 417;
            }
            out.expect_continue = true;
        }
        break;
    case 10:
        if (iequals(h.name, "connection")) {
            std::string_view rest = h.value;
            while (!rest.empty()) {
                const std::size_t comma = std::min(rest.find(','), rest.size());
                const std::string_view option = trim_ows(rest.substr(0, comma));
                facts.connection_close |= iequals(option, "close");
                facts.connection_keep_alive |= iequals(option, "keep-alive");
                rest.remove_prefix(std::min(comma + 1, rest.size()));
            }
        }
        break;
    case 14:
        if (iequals(h.name, "content-length")) {
            const auto n = parse_content_length(h.value);
            if (facts.content_length_seen || !n) {
                return 400;
            }
            facts.content_length_seen = true;
            out.content_length = *n;
        }
        break;
    case 17:
        if (iequals(h.name, "transfer-encoding")) {
            facts.transfer_encoding_seen = true;
        }
        break;
    default:
        break;
    }
    return 0;
}

/// Parses one header line into `h`; 0 or the error status.
int parse_header_line(std::string_view line, header& h) noexcept {
    std::size_t i = 0;
    while (i < line.size() && is_token_char(line[i])) {
        ++i;
    }
    // An empty name covers obs-fold (a line starting with whitespace); a space before the
    // colon is forbidden (RFC 9112 §5.1).
    if (i == 0 || i == line.size() || line[i] != ':') {
        return 400;
    }
    const std::string_view value = line.substr(i + 1);
    if (!std::all_of(value.begin(), value.end(), is_value_char)) {
        return 400;
    }
    h = {line.substr(0, i), trim_ows(value)};
    return 0;
}

} // namespace

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (ascii_lower(a[i]) != ascii_lower(b[i])) {
            return false;
        }
    }
    return true;
}

std::optional<std::string_view> request::find(std::string_view name) const noexcept {
    for (const header& h : headers()) {
        if (iequals(h.name, name)) {
            return h.value;
        }
    }
    return std::nullopt;
}

parse_result parse_request(std::string_view bytes, request& out) noexcept {
    out.header_count = 0;
    out.content_length = 0;
    out.expect_continue = false;
    // Only the first max_head_bytes can hold a head; if they are all here and the head has
    // not ended, more input cannot help.
    const std::string_view window = bytes.substr(0, max_head_bytes);
    const bool window_full = bytes.size() >= max_head_bytes;

    std::size_t pos = 0;
    line_scan line{};
    for (;;) { // the request line, after any empty lines
        line = next_line(window, pos);
        if (line.state != line_scan::found || !line.text.empty()) {
            break;
        }
        pos = line.next;
    }
    if (line.state == line_scan::partial) {
        return window_full ? fail(414) : parse_result{};
    }
    if (line.state == line_scan::bare_lf) {
        return fail(400);
    }
    if (const int status = parse_request_line(line.text, out); status != 0) {
        return fail(status);
    }
    pos = line.next;

    head_facts facts;
    for (;;) {
        line = next_line(window, pos);
        if (line.state == line_scan::partial) {
            return window_full ? fail(431) : parse_result{};
        }
        if (line.state == line_scan::bare_lf) {
            return fail(400);
        }
        pos = line.next;
        if (line.text.empty()) {
            break; // the blank line: the head is complete
        }
        if (out.header_count == max_headers) {
            return fail(431);
        }
        header& h = out.header_storage[out.header_count];
        if (const int status = parse_header_line(line.text, h); status != 0) {
            return fail(status);
        }
        ++out.header_count;
        if (const int status = note_header(h, out, facts); status != 0) {
            return fail(status);
        }
    }

    if (facts.transfer_encoding_seen) {
        return fail(facts.content_length_seen ? 400 : 501);
    }
    if (facts.host_count > 1 || (out.minor_version >= 1 && facts.host_count == 0)) {
        return fail(400);
    }
    out.keep_alive =
        !facts.connection_close && (out.minor_version >= 1 || facts.connection_keep_alive);
    return {parse_status::complete, pos, 0};
}

connection connection_for(const request& req) noexcept {
    if (!req.keep_alive) {
        return connection::close;
    }
    return req.minor_version >= 1 ? connection::keep_alive_1_1 : connection::keep_alive_1_0;
}

std::string_view reason_phrase(int status) noexcept {
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 417:
        return "Expectation Failed";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}

namespace {
void append_number(std::string& out, std::uint64_t n, int base = 10) {
    char digits[24];
    const auto r = std::to_chars(std::begin(digits), std::end(digits), n, base);
    out.append(digits, r.ptr);
}
} // namespace

void append_head(std::string& out, const response_head& head) {
    out += "HTTP/1.1 ";
    append_number(out, static_cast<std::uint64_t>(head.status));
    out += ' ';
    out += reason_phrase(head.status);
    out += "\r\n";
    if (head.content_length) {
        out += "Content-Length: ";
        append_number(out, *head.content_length);
        out += "\r\n";
    } else if (head.chunked) {
        out += "Transfer-Encoding: chunked\r\n";
    }
    if (!head.content_type.empty()) {
        out += "Content-Type: ";
        out += head.content_type;
        out += "\r\n";
    }
    if (head.conn == connection::close) {
        out += "Connection: close\r\n";
    } else if (head.conn == connection::keep_alive_1_0) {
        out += "Connection: keep-alive\r\n";
    }
    out += head.extra_headers;
    out += "\r\n";
}

void append_response(std::string& out, int status, std::string_view content_type,
                     std::string_view body, connection conn) {
    append_head(out, {status, content_type, body.size(), conn});
    out += body;
}

void append_chunk(std::string& out, std::string_view data) {
    if (data.empty()) {
        return; // an empty chunk would end the body
    }
    append_number(out, data.size(), 16);
    out += "\r\n";
    out += data;
    out += "\r\n";
}

void append_last_chunk(std::string& out) {
    out += "0\r\n\r\n";
}

} // namespace http
