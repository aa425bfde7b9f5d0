#include "frame.hpp"

#include <charconv>
#include <limits>

namespace mini_redis {

namespace {

using status = parse_result::status;

/// A cursor over the input; `fail` records the first reason the input is not RESP.
struct reader {
    std::string_view in;
    std::size_t pos = 0;
    const parse_limits& limits;
    status state = status::complete;
    std::string error;

    bool fail(status s, std::string why = {}) {
        if (state == status::complete) {
            state = s;
            error = std::move(why);
        }
        return false;
    }

    /// The bytes up to the next CRLF (not included); the cursor moves past the CRLF.
    bool line(std::string_view& out) {
        // A line cannot be longer than an inline command may be. The limit is on the line
        // itself, whether its CRLF has arrived or not (a trailing '\r' may be the start of
        // the CRLF), so splitting the input differently never changes the verdict.
        const auto end = in.find("\r\n", pos);
        if (end == std::string_view::npos) {
            const std::size_t at_least = in.size() - pos - (in.ends_with('\r') ? 1 : 0);
            if (at_least > limits.max_inline) {
                return fail(status::invalid, "line too long");
            }
            return fail(status::incomplete);
        }
        if (end - pos > limits.max_inline) {
            return fail(status::invalid, "line too long");
        }
        out = in.substr(pos, end - pos);
        pos = end + 2;
        return true;
    }

    bool integer(std::int64_t& out) {
        std::string_view text;
        if (!line(text)) {
            return false;
        }
        const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
        if (ec != std::errc{} || p != text.data() + text.size() || text.empty()) {
            return fail(status::invalid, "invalid integer");
        }
        return true;
    }

    bool value(frame& out, std::size_t depth) {
        if (pos == in.size()) {
            return fail(status::incomplete);
        }
        const char type = in[pos++];
        switch (type) {
        case '+':
        case '-': {
            std::string_view text;
            if (!line(text)) {
                return false;
            }
            out = type == '+' ? frame::simple(std::string(text)) : frame::error(std::string(text));
            return true;
        }
        case ':': {
            std::int64_t n = 0;
            if (!integer(n)) {
                return false;
            }
            out = frame::number(n);
            return true;
        }
        case '$':
            return bulk(out);
        case '*':
            return array(out, depth);
        default:
            return fail(status::invalid, std::string("invalid frame type byte '") + type + "'");
        }
    }

    bool bulk(frame& out) {
        std::int64_t len = 0;
        if (!integer(len)) {
            return false;
        }
        if (len == -1) {
            out = frame::nil();
            return true;
        }
        if (len < 0 || static_cast<std::uint64_t>(len) > limits.max_bulk) {
            return fail(status::invalid, "invalid bulk length");
        }
        const auto n = static_cast<std::size_t>(len);
        if (in.size() - pos < n + 2) {
            return fail(status::incomplete);
        }
        if (in.substr(pos + n, 2) != "\r\n") {
            return fail(status::invalid, "bulk string not terminated by CRLF");
        }
        out = frame::bulk(std::string(in.substr(pos, n)));
        pos += n + 2;
        return true;
    }

    bool array(frame& out, std::size_t depth) {
        std::int64_t count = 0;
        if (!integer(count)) {
            return false;
        }
        if (count == -1) {
            out = frame::nil();
            return true;
        }
        if (count < 0 || static_cast<std::uint64_t>(count) > limits.max_items) {
            return fail(status::invalid, "invalid multibulk length");
        }
        if (depth >= limits.max_depth) {
            return fail(status::invalid, "arrays nested too deep");
        }
        out = frame::array();
        // Reserve only what the bytes present could hold (each element takes >= 3 bytes),
        // so a claimed count cannot allocate memory the peer never sends.
        const auto n = static_cast<std::size_t>(count);
        out.items.reserve(std::min(n, (in.size() - pos) / 3));
        for (std::size_t i = 0; i < n; ++i) {
            if (!value(out.items.emplace_back(), depth + 1)) {
                return false;
            }
        }
        return true;
    }

    /// An inline command: the line's words become an array of bulk strings.
    bool inline_command(frame& out) {
        std::string_view text;
        if (!line(text)) {
            return false;
        }
        out = frame::array();
        std::size_t i = 0;
        while (i < text.size()) {
            const auto start = text.find_first_not_of(" \t", i);
            if (start == std::string_view::npos) {
                break;
            }
            auto end = text.find_first_of(" \t", start);
            if (end == std::string_view::npos) {
                end = text.size();
            }
            out.items.push_back(frame::bulk(std::string(text.substr(start, end - start))));
            i = end;
        }
        return true;
    }
};

constexpr bool is_type_byte(char c) {
    return c == '+' || c == '-' || c == ':' || c == '$' || c == '*';
}

void append_number(std::int64_t n, std::string& out) {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, n);
    out.append(buf, r.ptr);
}

void append_header(char type, std::int64_t n, std::string& out) {
    out.push_back(type);
    append_number(n, out);
    out.append("\r\n");
}

} // namespace

parse_result parse_frame(std::string_view in, const parse_limits& limits) {
    reader r{in, 0, limits, status::complete, {}};
    parse_result result;
    // Blank lines between inline commands are skipped, as Redis does.
    while (r.pos + 1 < in.size() && in[r.pos] == '\r' && in[r.pos + 1] == '\n') {
        r.pos += 2;
    }
    if (r.pos == in.size()) {
        result.state = status::incomplete;
        result.consumed = r.pos;
        return result;
    }
    // The frame's own bytes, complete or not, count against max_frame: the same frame is
    // refused however its bytes arrive.
    const std::size_t start = r.pos;
    const bool ok = is_type_byte(in[r.pos]) ? r.value(result.value, 0)
                                            : r.inline_command(result.value);
    const std::size_t frame_bytes = (ok ? r.pos : in.size()) - start;
    if (frame_bytes > limits.max_frame && (ok || r.state == status::incomplete)) {
        result.state = status::invalid;
        result.error = "frame too large";
        result.value = {};
        return result;
    }
    if (!ok) {
        result.state = r.state;
        result.error = std::move(r.error);
        result.value = {};
        // Blank lines before an incomplete frame may go: they are not part of it.
        result.consumed = r.state == status::incomplete ? start : 0;
        return result;
    }
    result.state = status::complete;
    result.consumed = r.pos;
    return result;
}

void encode_bulk(std::string_view s, std::string& out) {
    append_header('$', static_cast<std::int64_t>(s.size()), out);
    out.append(s);
    out.append("\r\n");
}

void encode_simple(std::string_view s, std::string& out) {
    out.push_back('+');
    out.append(s);
    out.append("\r\n");
}

void encode_error(std::string_view s, std::string& out) {
    out.push_back('-');
    out.append(s);
    out.append("\r\n");
}

void encode_integer(std::int64_t n, std::string& out) { append_header(':', n, out); }

void encode_nil(std::string& out) { out.append("$-1\r\n"); }

void encode_array_header(std::size_t n, std::string& out) {
    append_header('*', static_cast<std::int64_t>(n), out);
}

void encode_frame(const frame& f, std::string& out) {
    switch (f.type) {
    case frame::kind::simple:
        encode_simple(f.text, out);
        break;
    case frame::kind::error:
        encode_error(f.text, out);
        break;
    case frame::kind::integer:
        encode_integer(f.integer, out);
        break;
    case frame::kind::bulk:
        encode_bulk(f.text, out);
        break;
    case frame::kind::null:
        encode_nil(out);
        break;
    case frame::kind::array:
        encode_array_header(f.items.size(), out);
        for (const auto& item : f.items) {
            encode_frame(item, out);
        }
        break;
    }
}

} // namespace mini_redis
