// The request-head parser and the response writer of examples/http_server (http.hpp says
// what is accepted). The parser walks the bytes once, classifying each byte with one table
// lookup, and stores views into them: no copy and no allocation.

#include "http.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>

namespace http {
namespace {

/// Character classes, one table lookup per byte.
enum char_class : std::uint8_t {
    token_char = 1,  ///< RFC 9110 tchar: methods and header names
    target_char = 2, ///< visible ASCII: the request-target
    value_char = 4,  ///< a header value: visible ASCII, SP, HTAB, obs-text (0x80-0xFF)
};

constexpr std::array<std::uint8_t, 256> make_class_table() {
    std::array<std::uint8_t, 256> t{};
    for (int c = 0x21; c < 0x7f; ++c) {
        t[static_cast<std::size_t>(c)] |= target_char | value_char;
    }
    for (int c = 0x80; c < 0x100; ++c) {
        t[static_cast<std::size_t>(c)] |= value_char;
    }
    t[' '] |= value_char;
    t['\t'] |= value_char;
    for (int c = '0'; c <= '9'; ++c) {
        t[static_cast<std::size_t>(c)] |= token_char;
    }
    for (int c = 'a'; c <= 'z'; ++c) {
        t[static_cast<std::size_t>(c)] |= token_char;
        t[static_cast<std::size_t>(c - 'a' + 'A')] |= token_char;
    }
    for (const char c : std::string_view("!#$%&'*+-.^_`|~")) {
        t[static_cast<unsigned char>(c)] |= token_char;
    }
    return t;
}
constexpr std::array<std::uint8_t, 256> char_classes = make_class_table();

/// The first byte in [p, end) not of class `cls` (or end).
inline const char* skip(const char* p, const char* end, std::uint8_t cls) noexcept {
    const auto in = [cls](char c) {
        return (char_classes[static_cast<unsigned char>(c)] & cls) != 0;
    };
    // Four bytes per bounds check: the loop is most of the parser's time.
    for (; end - p >= 4; p += 4) {
        if (!in(p[0])) {
            return p;
        }
        if (!in(p[1])) {
            return p + 1;
        }
        if (!in(p[2])) {
            return p + 2;
        }
        if (!in(p[3])) {
            return p + 3;
        }
    }
    while (p != end && in(*p)) {
        ++p;
    }
    return p;
}

bool is_ows(char c) noexcept {
    return c == ' ' || c == '\t';
}

char ascii_lower(char c) noexcept {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string_view trim_ows(std::string_view s) noexcept {
    while (!s.empty() && is_ows(s.front())) {
        s.remove_prefix(1);
    }
    while (!s.empty() && is_ows(s.back())) {
        s.remove_suffix(1);
    }
    return s;
}

parse_result fail(int status) noexcept {
    return {parse_status::error, 0, status};
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

/// `name` (a token) equals `lower`, a lowercase name of letters, digits and '-', ignoring
/// case: OR-ing 0x20 lowercases a letter and maps no other token character onto one of
/// those.
bool name_is(std::string_view name, std::string_view lower) noexcept {
    if (name.size() != lower.size()) {
        return false;
    }
    for (std::size_t i = 0; i < name.size(); ++i) {
        if ((name[i] | 0x20) != lower[i]) {
            return false;
        }
    }
    return true;
}

/// Applies the headers whose meaning the server needs; 0 or the error status.
int note_header(const header& h, request& out, head_facts& facts) noexcept {
    // Dispatch on the length first: most headers need no comparison at all.
    switch (h.name.size()) {
    case 4:
        if (name_is(h.name, "host")) {
            ++facts.host_count;
        }
        break;
    case 6:
        if (name_is(h.name, "expect")) {
            if (!iequals(h.value, "100-continue")) {
                return 417;
            }
            out.expect_continue = true;
        }
        break;
    case 10:
        if (name_is(h.name, "connection")) {
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
        if (name_is(h.name, "content-length")) {
            const auto n = parse_content_length(h.value);
            if (facts.content_length_seen || !n) {
                return 400;
            }
            facts.content_length_seen = true;
            out.content_length = *n;
        }
        break;
    case 17:
        if (name_is(h.name, "transfer-encoding")) {
            facts.transfer_encoding_seen = true;
        }
        break;
    default:
        break;
    }
    return 0;
}

/// The scanner: one pass over the window, byte classes from the table. Each step either
/// advances `p`, finds the head malformed, or runs out of bytes ("partial": read more,
/// unless the window is full, when the head is too long).
class head_parser {
public:
    head_parser(std::string_view bytes, request& out) noexcept
        : begin_(bytes.data()), p_(bytes.data()),
          end_(bytes.data() + std::min(bytes.size(), max_head_bytes)),
          window_full_(bytes.size() >= max_head_bytes), out_(out) {}

    parse_result run() noexcept {
        // Empty lines before the request line are ignored (RFC 9112 §2.2).
        while (end_ - p_ >= 2 && p_[0] == '\r' && p_[1] == '\n') {
            p_ += 2;
        }
        if (const int status = request_line(); status != 0) {
            return status < 0 ? partial(414) : fail(status);
        }
        head_facts facts;
        for (;;) {
            if (end_ - p_ < 2) {
                return p_ != end_ && *p_ == '\n' ? fail(400) : partial(431);
            }
            if (p_[0] == '\r') {
                if (p_[1] != '\n') {
                    return fail(400);
                }
                p_ += 2; // the blank line: the head is complete
                break;
            }
            if (out_.header_count == max_headers) {
                return fail(431);
            }
            header& h = out_.header_storage[out_.header_count];
            if (const int status = header_line(h); status != 0) {
                return status < 0 ? partial(431) : fail(status);
            }
            ++out_.header_count;
            if (const int status = note_header(h, out_, facts); status != 0) {
                return fail(status);
            }
        }
        if (facts.transfer_encoding_seen) {
            return fail(facts.content_length_seen ? 400 : 501);
        }
        if (facts.host_count > 1 || (out_.minor_version >= 1 && facts.host_count == 0)) {
            return fail(400);
        }
        out_.keep_alive =
            !facts.connection_close && (out_.minor_version >= 1 || facts.connection_keep_alive);
        return {parse_status::complete, static_cast<std::size_t>(p_ - begin_), 0};
    }

private:
    static constexpr int need_more = -1;

    parse_result partial(int too_long_status) const noexcept {
        return window_full_ ? fail(too_long_status) : parse_result{};
    }

    /// `method SP request-target SP HTTP/1.x CRLF`: 0, need_more, or an error status.
    int request_line() noexcept {
        const char* q = skip(p_, end_, token_char);
        if (q == end_) {
            return need_more;
        }
        if (q == p_ || *q != ' ') {
            return 400;
        }
        out_.method = {p_, static_cast<std::size_t>(q - p_)};
        const char* target = q + 1;
        q = skip(target, end_, target_char);
        if (q == end_) {
            return need_more;
        }
        if (q == target || *q != ' ') {
            return 400;
        }
        out_.target = {target, static_cast<std::size_t>(q - target)};
        ++q;
        // "HTTP/d.d" CRLF: 10 bytes. With fewer, a line end already here means a bad line.
        if (end_ - q < 10) {
            return std::memchr(q, '\n', static_cast<std::size_t>(end_ - q)) != nullptr ? 400
                                                                                       : need_more;
        }
        const auto digit = [](char c) { return c >= '0' && c <= '9'; };
        if (std::memcmp(q, "HTTP/", 5) != 0 || !digit(q[5]) || q[6] != '.' || !digit(q[7]) ||
            q[8] != '\r' || q[9] != '\n') {
            return 400;
        }
        if (q[5] != '1') {
            return 505;
        }
        out_.minor_version = q[7] == '0' ? 0 : 1;
        p_ = q + 10;
        return 0;
    }

    /// `name ":" OWS value OWS CRLF` into `h`: 0, need_more, or an error status.
    int header_line(header& h) noexcept {
        const char* colon = skip(p_, end_, token_char);
        if (colon == end_) {
            return need_more;
        }
        // An empty name covers obs-fold (a line starting with whitespace); a space before
        // the colon is forbidden (RFC 9112 §5.1).
        if (colon == p_ || *colon != ':') {
            return 400;
        }
        const char* value = colon + 1;
        while (value != end_ && is_ows(*value)) {
            ++value;
        }
        const char* cr = skip(value, end_, value_char);
        if (end_ - cr < 2) {
            return cr == end_ || *cr == '\r' ? need_more : 400;
        }
        if (cr[0] != '\r' || cr[1] != '\n') {
            return 400; // a control character, a bare LF or a stray CR
        }
        const char* value_end = cr;
        while (value_end != value && is_ows(value_end[-1])) {
            --value_end;
        }
        h = {{p_, static_cast<std::size_t>(colon - p_)},
             {value, static_cast<std::size_t>(value_end - value)}};
        p_ = cr + 2;
        return 0;
    }

    const char* begin_;
    const char* p_;
    const char* end_;
    bool window_full_;
    request& out_;
};

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
    if (bytes.empty()) {
        return {}; // the common case after a batch: nothing left
    }
    return head_parser(bytes, out).run();
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
