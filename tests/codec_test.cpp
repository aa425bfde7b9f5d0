// Tests of tako::codec: bytes_buffer, each codec's decode/encode edge cases, and framed /
// framed_read / framed_write over in-memory duplex streams and real TCP sockets, including
// frames split at every byte position and cancellation while suspended.

#include <tako/codec.hpp>
#include <tako/io.hpp>
#include <tako/tako.hpp>
#include <tako/testing.hpp>

#include "test_support.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

using namespace std::chrono_literals;
using namespace std::string_view_literals;
using tako_test::bytes_of;
using tako_test::recording_writer;
using tako_test::tcp_pair;
using tako_test::text_of;
using tako_test::write_split;
namespace io = tako::io;
namespace codec = tako::codec;
using codec::bytes_buffer;
using tako::net::tcp_listener;
using tako::net::tcp_stream;

namespace {

static_assert(codec::decoder<codec::lines_codec> &&
              codec::encoder<codec::lines_codec, std::string>);
static_assert(codec::encoder<codec::lines_codec, const char (&)[3]>);
static_assert(codec::decoder<codec::any_delimiter_codec>);
static_assert(codec::decoder<codec::bytes_codec> &&
              codec::encoder<codec::bytes_codec, std::vector<std::byte>>);
static_assert(codec::decoder<codec::length_delimited_codec> &&
              codec::encoder<codec::length_delimited_codec, std::string_view>);
static_assert(!codec::decoder<int> && !codec::encoder<codec::lines_codec, int>);

/// A decoder without its own decode_eof: frames of exactly 3 bytes.
struct triple_codec {
    using item_type = std::string;
    tako::io::result<std::optional<std::string>> decode(bytes_buffer& buf) {
        if (buf.size() < 3) {
            return std::nullopt;
        }
        return buf.take_string(3);
    }
};
static_assert(codec::decoder<triple_codec>);

using frame_result = io::result<std::optional<std::string>>;

/// What a decode gave, as text: the frame, "<none>", or "<error: message>".
template <class R>
std::string show(const R& r) {
    if (!r) {
        return "<error: " + r.error().message() + ">";
    }
    if (!*r) {
        return "<none>";
    }
    if constexpr (std::is_same_v<typename R::value_type::value_type, std::string>) {
        return **r;
    } else {
        return text_of(**r);
    }
}

/// Appends decode_eof's results until it gives nothing or fails.
template <class D>
void append_eof_results(D& d, bytes_buffer& buf, std::vector<std::string>& out) {
    for (int i = 0; i < 64; ++i) {
        auto r = codec::decode_eof(d, buf);
        out.push_back(show(r));
        if (!r || !*r) {
            return;
        }
    }
}

/// Every result of feeding `wire` to `d` one byte at a time (decoding until "need more"
/// after each byte), then decode_eof until it gives nothing or fails; each result shown.
template <class D>
std::vector<std::string> decode_bytewise(D& d, std::string_view wire) {
    std::vector<std::string> out;
    bytes_buffer buf;
    for (const char c : wire) {
        buf.push_back(static_cast<std::byte>(c));
        for (;;) {
            auto r = d.decode(buf);
            if (r && !*r) {
                break;
            }
            out.push_back(show(r));
            if (!r && out.size() > wire.size() + 8) {
                return out; // a repeating error
            }
        }
    }
    append_eof_results(d, buf, out);
    return out;
}

/// Decodes all of `wire` at once: every decode result until "need more", then decode_eof
/// results until nothing (the same shape as decode_bytewise).
template <class D>
std::vector<std::string> decode_whole(D& d, std::string_view wire) {
    std::vector<std::string> out;
    bytes_buffer buf(wire);
    for (int i = 0; i < 1000; ++i) {
        auto r = d.decode(buf);
        if (r && !*r) {
            break;
        }
        out.push_back(show(r));
    }
    append_eof_results(d, buf, out);
    return out;
}

std::string err(codec::errc e) {
    return "<error: " + codec::make_error_code(e).message() + ">";
}

/// Every frame `f.next()` gives until the end or an error (shown as "<error: ...>").
template <class F>
tako::task<std::vector<std::string>> drain(F& f) {
    std::vector<std::string> out;
    for (int i = 0; i < 100000; ++i) {
        auto r = co_await f.next();
        if (r && !*r) {
            break;
        }
        out.push_back(show(r));
        if (!r) {
            break;
        }
    }
    co_return out;
}

/// A big-endian 4-byte length, then `payload`.
std::string be32_frame(std::string_view payload) {
    const auto n = static_cast<std::uint32_t>(payload.size());
    std::string out = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                       static_cast<char>(n >> 8), static_cast<char>(n)};
    return out.append(payload);
}

} // namespace

// ------------------------------------------------------------------ bytes_buffer

TEST(codec_bytes_buffer, consumes_from_the_front_compacts_and_grows) {
    bytes_buffer b;
    EXPECT_EQ(b.capacity(), 0U);
    EXPECT_TRUE(b.empty());
    b.append("hello world");
    EXPECT_EQ(b.view(), "hello world");
    const std::size_t cap = b.capacity();
    b.consume(6);
    EXPECT_EQ(b.view(), "world");
    EXPECT_EQ(b.spare_capacity(), cap - 11);
    // Room exists in front: reserve moves the bytes there instead of growing.
    b.reserve(cap - 5);
    EXPECT_EQ(b.capacity(), cap);
    EXPECT_EQ(b.view(), "world");
    EXPECT_EQ(b.spare_capacity(), cap - 5);
    // Not enough room at all: it grows, keeping the bytes.
    b.reserve(cap * 3);
    EXPECT_GE(b.spare_capacity(), cap * 3);
    EXPECT_EQ(b.view(), "world");
    // Read into the spare space, then commit.
    auto spare = b.spare();
    std::memcpy(spare.data(), "!!", 2);
    b.commit(2);
    EXPECT_EQ(b.view(), "world!!");
    b.commit(b.spare_capacity() + 100); // clamped to the spare space
    EXPECT_EQ(b.size(), b.capacity());
    b.clear();
    b.append("abc\ndef");
    EXPECT_EQ(b.take_string(4), "abc\n");
    EXPECT_EQ(text_of(b.take_bytes(100)), "def"); // at most what is there
    EXPECT_TRUE(b.empty());
    b.consume(5); // consuming from an empty buffer is a no-op
    EXPECT_TRUE(b.empty());
    b.push_back(std::byte{'x'});
    bytes_buffer moved(std::move(b));
    EXPECT_EQ(moved.view(), "x");
    EXPECT_TRUE(b.empty()); // NOLINT(bugprone-use-after-move): documented as left empty
    EXPECT_EQ(b.capacity(), 0U);
}

// ------------------------------------------------------------------ lines_codec

TEST(codec_lines, lines_crlf_empty_lines_and_a_last_line_without_newline) {
    codec::lines_codec c;
    const std::string wire = "alpha\nbeta\r\n\n\r\ngamma\r\nlast";
    const std::vector<std::string> want = {"alpha", "beta", "", "", "gamma", "last", "<none>"};
    EXPECT_EQ(decode_whole(c, wire), want);
    codec::lines_codec c2;
    EXPECT_EQ(decode_bytewise(c2, wire), want);
}

TEST(codec_lines, end_of_stream_cases) {
    codec::lines_codec c;
    EXPECT_EQ(decode_whole(c, ""), (std::vector<std::string>{"<none>"}));
    EXPECT_EQ(decode_whole(c, "a\n"), (std::vector<std::string>{"a", "<none>"}));
    EXPECT_EQ(decode_whole(c, "a\n\r"), (std::vector<std::string>{"a", "<none>"})); // lone \r
    EXPECT_EQ(decode_whole(c, "x\r"), (std::vector<std::string>{"x", "<none>"}));
    EXPECT_EQ(decode_whole(c, "\n"), (std::vector<std::string>{"", "<none>"}));
}

TEST(codec_lines, an_over_long_line_is_an_error_and_the_rest_of_it_is_skipped) {
    codec::lines_codec c(4);
    EXPECT_EQ(c.max_length(), 4U);
    bytes_buffer b;
    b.append("abcd\n"); // exactly the maximum
    EXPECT_EQ(show(c.decode(b)), "abcd");
    b.append("abcde"); // one more byte without a newline: known too long already
    auto r = c.decode(b);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), codec::errc::max_length_exceeded);
    EXPECT_LE(b.size(), 5U); // memory stays bounded
    // The rest of the line arrives in pieces and is skipped, then decoding goes on.
    b.append("fghijklmnop");
    EXPECT_EQ(show(c.decode(b)), "<none>");
    EXPECT_TRUE(b.empty());
    b.append("qrs\nok\n");
    EXPECT_EQ(show(c.decode(b)), "ok");
    EXPECT_EQ(show(c.decode(b)), "<none>");
    // A "\r" before the "\n" counts toward the length.
    b.append("abcd\r\n");
    EXPECT_EQ(show(c.decode(b)), err(codec::errc::max_length_exceeded));
    b.append("next\n");
    EXPECT_EQ(show(c.decode(b)), "next");
    // Byte by byte, and at end of stream.
    codec::lines_codec c2(3);
    EXPECT_EQ(decode_bytewise(c2, "abc\ntoolong\nxy\nlong tail"),
              (std::vector<std::string>{"abc", err(codec::errc::max_length_exceeded), "xy",
                                        err(codec::errc::max_length_exceeded), "<none>"}));
    codec::lines_codec c3(3);
    EXPECT_EQ(decode_whole(c3, "abc\ntoolong\nxy\nlong tail"),
              (std::vector<std::string>{"abc", err(codec::errc::max_length_exceeded), "xy",
                                        err(codec::errc::max_length_exceeded), "<none>"}));
}

TEST(codec_lines, utf8_is_checked_only_when_asked) {
    const std::string wire = "caf\xC3\xA9\n\xC0\x80\nok\n\xED\xA0\x80\n\xF0\x9F\x98\x80\n\xF4\x90"
                             "\x80\x80\n\xE2\x82\n";
    codec::lines_codec plain;
    EXPECT_EQ(decode_whole(plain, wire).size(), 8U); // 7 lines, then the end
    codec::lines_codec checked;
    checked.check_utf8();
    const auto bad = err(codec::errc::invalid_utf8);
    EXPECT_EQ(decode_whole(checked, wire),
              (std::vector<std::string>{"caf\xC3\xA9", bad, "ok", bad, "\xF0\x9F\x98\x80", bad, bad,
                                        "<none>"}));
}

TEST(codec_lines, encode_appends_a_newline) {
    codec::lines_codec c;
    bytes_buffer b;
    ASSERT_TRUE(c.encode("one", b));
    ASSERT_TRUE(c.encode(std::string(), b));
    ASSERT_TRUE(c.encode(std::string_view("two"), b));
    EXPECT_EQ(b.view(), "one\n\ntwo\n");
}

// ------------------------------------------------------------------ any_delimiter_codec

TEST(codec_any_delimiter, any_delimiter_ends_a_frame) {
    codec::any_delimiter_codec c(",;", "|", 5);
    const std::string wire = "a,bc;;toolong,x,d";
    const std::vector<std::string> want = {
        "a", "bc", "", err(codec::errc::max_length_exceeded), "x", "d", "<none>"};
    EXPECT_EQ(decode_whole(c, wire), want);
    codec::any_delimiter_codec c2(",;", "|", 5);
    EXPECT_EQ(decode_bytewise(c2, wire), want);
    bytes_buffer b;
    ASSERT_TRUE(c.encode("k=v", b));
    ASSERT_TRUE(c.encode("", b));
    EXPECT_EQ(b.view(), "k=v||");
    codec::any_delimiter_codec defaults; // ',' ';' '\n' '\r'; writes ","
    EXPECT_EQ(decode_whole(defaults, "a\r\nb"), (std::vector<std::string>{"a", "", "b", "<none>"}));
    EXPECT_EQ(defaults.sequence_writer(), ",");
}

// ------------------------------------------------------------------ bytes_codec

TEST(codec_bytes, takes_everything_buffered) {
    codec::bytes_codec c;
    bytes_buffer b;
    EXPECT_EQ(show(c.decode(b)), "<none>");
    b.append("any\0bytes"sv);
    EXPECT_EQ(show(c.decode(b)), std::string("any\0bytes", 9));
    EXPECT_TRUE(b.empty());
    EXPECT_EQ(show(codec::decode_eof(c, b)), "<none>");
    std::vector<std::byte> raw = {std::byte{1}, std::byte{2}};
    ASSERT_TRUE(c.encode(raw, b));
    ASSERT_TRUE(c.encode("xy", b));
    EXPECT_EQ(b.view(), "\x01\x02xy");
}

// ------------------------------------------------------------------ length_delimited_codec

TEST(codec_length_delimited, default_is_a_4_byte_big_endian_length) {
    codec::length_delimited_codec c;
    EXPECT_EQ(c.max_frame_length(), 8U * 1024 * 1024);
    const std::string wire = be32_frame("first") + be32_frame("") + be32_frame("third frame");
    const std::vector<std::string> want = {"first", "", "third frame", "<none>"};
    EXPECT_EQ(decode_whole(c, wire), want);
    codec::length_delimited_codec c2;
    EXPECT_EQ(decode_bytewise(c2, wire), want);
    bytes_buffer b;
    ASSERT_TRUE(c.encode("first", b));
    ASSERT_TRUE(c.encode(std::string_view(), b));
    ASSERT_TRUE(c.encode("third frame", b));
    EXPECT_EQ(b.view(), wire);
}

TEST(codec_length_delimited, every_header_layout_round_trips) {
    struct layout {
        std::size_t offset;
        std::size_t field;
        bool little;
        std::int64_t adjustment;
    };
    const std::vector<layout> layouts = {
        {0, 1, false, 0}, {0, 2, true, 0},  {0, 3, false, 0},  {0, 8, true, 0},
        {2, 4, false, 0}, {1, 2, true, -2}, {0, 4, false, -4}, {3, 8, false, 5},
    };
    for (const auto& l : layouts) {
        auto b = codec::length_delimited_codec::builder();
        b.length_field_offset(l.offset).length_field_length(l.field).length_adjustment(
            l.adjustment);
        if (l.little) {
            b.little_endian();
        }
        auto enc = b.new_codec();
        bytes_buffer wire;
        const std::vector<std::string> payloads = {"hello", std::string(300, 'x'), "abcdefgh"};
        for (const auto& p : payloads) {
            auto r = enc.encode(p, wire);
            if (l.field == 1 && p.size() > 255) {
                ASSERT_FALSE(r.has_value());
                EXPECT_EQ(r.error(), codec::errc::frame_too_long);
                continue;
            }
            ASSERT_TRUE(r.has_value()) << r.error().message();
        }
        if (l.adjustment > 0) {
            // Payloads shorter than the adjustment cannot be encoded.
            bytes_buffer tiny;
            EXPECT_EQ(enc.encode("ab", tiny).error(), codec::errc::invalid_length);
            EXPECT_TRUE(tiny.empty());
        }
        std::vector<std::string> want;
        for (const auto& p : payloads) {
            if (!(l.field == 1 && p.size() > 255)) {
                want.push_back(p);
            }
        }
        want.emplace_back("<none>");
        auto dec = b.new_codec();
        EXPECT_EQ(decode_bytewise(dec, wire.view()), want)
            << "offset " << l.offset << " field " << l.field << " adj " << l.adjustment;
    }
}

TEST(codec_length_delimited, byte_order_adjustment_and_num_skip_on_the_wire) {
    // A 2-byte little-endian length that counts itself, kept in the frame (num_skip 0).
    auto c = codec::length_delimited_codec::builder()
                 .length_field_length(2)
                 .little_endian()
                 .length_adjustment(0)
                 .num_skip(0)
                 .new_codec();
    const std::string self_counted("\x05\x00"
                                   "abc",
                                   5);
    EXPECT_EQ(decode_whole(c, self_counted + self_counted.substr(0, 3)),
              (std::vector<std::string>{self_counted, err(codec::errc::incomplete_frame)}));
    // The length counts the 2 header bytes too: adjustment -2, header skipped.
    auto d = codec::length_delimited_codec::builder()
                 .length_field_length(2)
                 .length_adjustment(-2)
                 .new_codec();
    EXPECT_EQ(decode_whole(d, std::string("\x00\x05"
                                          "abc"
                                          "\x00\x02",
                                          7)),
              (std::vector<std::string>{"abc", "", "<none>"}));
    // Header kept: num_skip 0 and the length covers the header.
    auto e = codec::length_delimited_codec::builder()
                 .length_field_offset(1)
                 .length_field_length(1)
                 .length_adjustment(2)
                 .num_skip(0)
                 .new_codec();
    EXPECT_EQ(decode_whole(e, std::string("T\x03"
                                          "abcU\x00",
                                          7)),
              (std::vector<std::string>{"T\x03"
                                        "abc",
                                        "U" + std::string(1, '\0'), "<none>"}));
}

TEST(codec_length_delimited, a_header_with_a_type_before_the_length) {
    // [2 bytes type][2 bytes little-endian length of the whole message], as in docs/codec.md.
    auto header = codec::length_delimited_codec::builder();
    header.length_field_offset(2).length_field_length(2).little_endian();
    const std::string wire = std::string("AB\x06\x00xy", 6) + std::string("CD\x04\x00", 4);
    auto kept = header.num_skip(0).new_codec();
    EXPECT_EQ(decode_whole(kept, wire),
              (std::vector<std::string>{std::string("AB\x06\x00xy", 6),
                                        std::string("CD\x04\x00", 4), "<none>"}));
    auto payload = codec::length_delimited_codec::builder()
                       .length_field_offset(2)
                       .length_field_length(2)
                       .little_endian()
                       .length_adjustment(-4)
                       .new_codec();
    EXPECT_EQ(decode_whole(payload, wire), (std::vector<std::string>{"xy", "", "<none>"}));
}

TEST(codec_length_delimited, bad_lengths_are_errors_that_repeat) {
    auto c = codec::length_delimited_codec::builder().max_frame_length(10).new_codec();
    bytes_buffer b(be32_frame(std::string(10, 'a')) +
                   be32_frame(std::string(11, 'b')).substr(0, 4));
    EXPECT_EQ(show(c.decode(b)), std::string(10, 'a'));
    // Only the header of the 11-byte frame has arrived: refused already.
    EXPECT_EQ(show(c.decode(b)), err(codec::errc::frame_too_long));
    EXPECT_EQ(show(c.decode(b)), err(codec::errc::frame_too_long)); // out of step: it repeats
    EXPECT_EQ(b.size(), 4U);
    bytes_buffer out;
    EXPECT_EQ(c.encode(std::string(11, 'x'), out).error(), codec::errc::frame_too_long);
    EXPECT_TRUE(out.empty());
    // A huge length field is refused without buffering (or allocating) anything for it.
    auto big = codec::length_delimited_codec::builder().length_field_length(8).new_codec();
    bytes_buffer huge(std::string(8, '\xff'));
    EXPECT_EQ(show(big.decode(huge)), err(codec::errc::frame_too_long));
    EXPECT_LT(huge.capacity(), 1024U);
    // An adjustment that makes the length negative.
    auto neg = codec::length_delimited_codec::builder().length_adjustment(-4).new_codec();
    bytes_buffer short_len(std::string("\0\0\0\x03", 4));
    EXPECT_EQ(show(neg.decode(short_len)), err(codec::errc::invalid_length));
    // A frame that would consume nothing at all.
    auto stuck = codec::length_delimited_codec::builder().num_skip(0).new_codec();
    bytes_buffer zero(std::string(4, '\0'));
    EXPECT_EQ(show(stuck.decode(zero)), err(codec::errc::invalid_length));
    // Builder misuse.
    EXPECT_THROW(codec::length_delimited_codec::builder().length_field_length(0),
                 std::invalid_argument);
    EXPECT_THROW(codec::length_delimited_codec::builder().length_field_length(9),
                 std::invalid_argument);
}

TEST(codec_length_delimited, end_of_stream_inside_a_frame_is_an_error) {
    codec::length_delimited_codec c;
    EXPECT_EQ(decode_whole(c, be32_frame("ok") + be32_frame("cut short").substr(0, 7)),
              (std::vector<std::string>{"ok", err(codec::errc::incomplete_frame)}));
    codec::length_delimited_codec c2;
    EXPECT_EQ(decode_whole(c2, std::string("\0\0", 2)), // inside the header
              (std::vector<std::string>{err(codec::errc::incomplete_frame)}));
    triple_codec t; // the default decode_eof
    EXPECT_EQ(decode_whole(t, "abcdefgh"),
              (std::vector<std::string>{"abc", "def", err(codec::errc::incomplete_frame)}));
    EXPECT_EQ(decode_whole(t, "abc"), (std::vector<std::string>{"abc", "<none>"}));
}

TEST(codec_errors, category_and_messages) {
    const std::error_code e = codec::errc::frame_too_long;
    EXPECT_STREQ(e.category().name(), "tako.codec");
    EXPECT_EQ(&e.category(), &codec::category());
    EXPECT_EQ(e.message(), "frame longer than the maximum frame length");
    EXPECT_NE(e, std::error_code(codec::errc::invalid_length));
}

// ------------------------------------------------------------------ framed over duplex

TAKO_TEST(codec_framed, lines_split_at_every_byte_position) {
    const std::string text = "alpha\nbeta\r\n\ngamma\r\nlast";
    const std::vector<std::string> want = {"alpha", "beta", "", "gamma", "last"};
    for (std::size_t split = 0; split <= text.size(); ++split) {
        auto [a, b] = io::duplex(64);
        auto writer = tako::spawn(write_split, std::move(a), text, split);
        codec::framed f(std::move(b), codec::lines_codec(64), 4); // 4-byte reads
        EXPECT_EQ(co_await drain(f), want) << "split at " << split;
        // After the end was reported, the stream is read again: still the end.
        auto again = co_await f.next();
        EXPECT_TRUE(again.has_value() && !again->has_value());
        (void)co_await writer;
    }
}

TAKO_TEST(codec_framed, frames_one_byte_per_read) {
    // duplex(1): every read brings one byte.
    const std::vector<std::string> payloads = {"one", "", "three", "a longer frame with spaces"};
    std::string wire;
    for (const auto& p : payloads) {
        wire += be32_frame(p);
    }
    auto [a, b] = io::duplex(1);
    auto writer = tako::spawn(write_split, std::move(a), wire, wire.size() / 2);
    codec::framed f(std::move(b), codec::length_delimited_codec());
    EXPECT_EQ(co_await drain(f), payloads);
    (void)co_await writer;

    // Lines with "\r\n" split between reads, and delimited fields.
    auto [c, d] = io::duplex(1);
    auto lines_writer = tako::spawn(write_split, std::move(c), "one\r\n\r\nthree\r\nlast\r", 5);
    codec::framed lines(std::move(d), codec::lines_codec(16));
    const std::vector<std::string> want_lines = {"one", "", "three", "last"};
    EXPECT_EQ(co_await drain(lines), want_lines);
    (void)co_await lines_writer;
    auto [e, g] = io::duplex(1);
    auto fields_writer = tako::spawn(write_split, std::move(e), "a=1;b=2,,c", 3);
    codec::framed fields(std::move(g), codec::any_delimiter_codec(";,", ";", 8));
    const std::vector<std::string> want_fields = {"a=1", "b=2", "", "c"};
    EXPECT_EQ(co_await drain(fields), want_fields);
    (void)co_await fields_writer;
}

TAKO_TEST(codec_framed, end_of_stream_inside_a_frame_is_an_error) {
    auto [a, b] = io::duplex(64);
    TAKO_CO_ASSERT(co_await io::write_all(a, be32_frame("whole") + be32_frame("cut").substr(0, 5)));
    (void)a.shutdown();
    codec::framed f(std::move(b), codec::length_delimited_codec());
    auto first = co_await f.next();
    TAKO_CO_ASSERT(first.has_value() && first->has_value());
    EXPECT_EQ(text_of(**first), "whole");
    auto second = co_await f.next();
    TAKO_CO_ASSERT(!second.has_value());
    EXPECT_EQ(second.error(), codec::errc::incomplete_frame);
    EXPECT_EQ(f.read_buffer().view(), "c"); // the header was consumed; what came of the rest
}

TAKO_TEST(codec_framed, an_over_long_line_is_reported_and_the_stream_goes_on) {
    auto [a, b] = io::duplex(16);
    auto writer =
        tako::spawn(write_split, std::move(a), "short\n" + std::string(100, 'x') + "\nafter\n", 3);
    codec::framed f(std::move(b), codec::lines_codec(8), 8);
    auto r1 = co_await f.next();
    EXPECT_EQ(show(r1), "short");
    auto r2 = co_await f.next();
    EXPECT_EQ(show(r2), err(codec::errc::max_length_exceeded));
    EXPECT_LE(f.read_buffer().capacity(), 64U); // the long line never piled up
    auto rest = co_await drain(f);
    EXPECT_EQ(rest, std::vector<std::string>(1, "after"));
    (void)co_await writer;
}

TAKO_TEST(codec_framed, feed_gathers_frames_until_the_boundary_or_a_flush) {
    recording_writer w;
    codec::framed_write f(w, codec::lines_codec());
    EXPECT_EQ(f.backpressure_boundary(), io::default_buffer_size);
    TAKO_CO_ASSERT(co_await f.feed("a"));
    TAKO_CO_ASSERT(co_await f.feed(std::string("b")));
    EXPECT_TRUE(w.writes.empty());
    EXPECT_EQ(f.write_buffer().view(), "a\nb\n");
    TAKO_CO_ASSERT(co_await f.flush());
    EXPECT_EQ(w.writes, (std::vector<std::string>{"a\nb\n"}));
    EXPECT_EQ(w.flushes, 1);
    TAKO_CO_ASSERT(co_await f.send("c")); // send = feed + flush
    EXPECT_EQ(w.writes.back(), "c\n");
    EXPECT_EQ(w.flushes, 2);
    f.set_backpressure_boundary(6);
    TAKO_CO_ASSERT(co_await f.feed("dd"));
    EXPECT_EQ(w.writes.size(), 2U);
    TAKO_CO_ASSERT(co_await f.feed("ee")); // 6 bytes buffered: written, not flushed
    EXPECT_EQ(w.writes.back(), "dd\nee\n");
    EXPECT_EQ(w.flushes, 2);
    EXPECT_TRUE(f.write_buffer().empty());
}

TAKO_TEST(codec_framed, an_encoder_error_buffers_nothing) {
    recording_writer w;
    auto c = codec::length_delimited_codec::builder().max_frame_length(4).new_codec();
    codec::framed_write f(w, std::move(c));
    TAKO_CO_ASSERT(co_await f.feed("abc"));
    auto r = co_await f.send("abcde");
    TAKO_CO_ASSERT(!r.has_value());
    EXPECT_EQ(r.error(), codec::errc::frame_too_long);
    EXPECT_EQ(f.write_buffer().size(), 7U); // only the first frame
    EXPECT_TRUE(w.writes.empty());
    TAKO_CO_ASSERT(co_await f.flush());
    EXPECT_EQ(w.writes, (std::vector<std::string>{std::string("\0\0\0\x03"
                                                              "abc",
                                                              7)}));
}

TAKO_TEST_PAUSED(codec_framed, next_cancelled_mid_frame_loses_nothing) {
    auto [a, b] = io::duplex(64);
    codec::framed f(b, codec::lines_codec());
    TAKO_CO_ASSERT(co_await io::write_all(a, "hel"));
    auto first = co_await tako::time::timeout(10ms, f.next());
    EXPECT_FALSE(first.has_value()); // cancelled while waiting for the rest of the line
    EXPECT_EQ(f.read_buffer().view(), "hel");
    TAKO_CO_ASSERT(co_await io::write_all(a, "lo\nwor"));
    auto second = co_await f.next();
    EXPECT_EQ(show(second), "hello");
    // Through select: the losing next() is destroyed while suspended.
    auto [tx, rx] = tako::sync::oneshot::channel<void>();
    (void)tx.send();
    auto lost = co_await tako::select_biased(std::move(rx), f.next());
    EXPECT_EQ(lost.index(), 0U);
    TAKO_CO_ASSERT(co_await io::write_all(a, "ld\n"));
    EXPECT_EQ(show(co_await f.next()), "world");

    // A length-delimited frame cut inside its header, then inside its payload.
    auto [c, d] = io::duplex(64);
    codec::framed g(d, codec::length_delimited_codec());
    const std::string wire = be32_frame("payload");
    TAKO_CO_ASSERT(co_await io::write_all(c, wire.substr(0, 2)));
    EXPECT_FALSE((co_await tako::time::timeout(10ms, g.next())).has_value());
    TAKO_CO_ASSERT(co_await io::write_all(c, wire.substr(2, 5)));
    EXPECT_FALSE((co_await tako::time::timeout(10ms, g.next())).has_value());
    TAKO_CO_ASSERT(co_await io::write_all(c, wire.substr(7)));
    EXPECT_EQ(show(co_await g.next()), "payload");
}

TAKO_TEST_PAUSED(codec_framed, send_cancelled_keeps_the_unwritten_bytes) {
    auto [a, b] = io::duplex(4); // the peer takes 4 bytes, then the writer waits
    codec::framed f(a, codec::lines_codec());
    auto r = co_await tako::time::timeout(10ms, f.send("0123456789"));
    EXPECT_FALSE(r.has_value());                    // cancelled while the duplex was full
    EXPECT_EQ(f.write_buffer().view(), "456789\n"); // exactly what was not written
    // The peer reads what arrived; the next flush writes the rest, once.
    auto reader = tako::spawn([&b]() -> tako::task<std::string> {
        std::string out;
        EXPECT_TRUE(co_await io::read_to_string(b, out));
        co_return out;
    });
    TAKO_CO_ASSERT(co_await f.send("next"));
    (void)a.shutdown();
    auto got = co_await reader;
    TAKO_CO_ASSERT(got.has_value());
    EXPECT_EQ(*got, "0123456789\nnext\n");
}

TAKO_TEST(codec_framed, into_parts_keeps_the_buffered_bytes) {
    auto [a, b] = io::duplex(64);
    TAKO_CO_ASSERT(co_await io::write_all(a, "one\ntwo\nthr"));
    codec::framed f(std::move(b), codec::lines_codec());
    EXPECT_EQ(show(co_await f.next()), "one");
    TAKO_CO_ASSERT(co_await f.feed("unsent"));
    auto parts = std::move(f).into_parts();
    EXPECT_EQ(parts.read_buf.view(), "two\nthr");
    EXPECT_EQ(parts.write_buf.view(), "unsent\n");
    static_assert(std::is_same_v<decltype(parts.io), io::duplex_stream>);
    codec::framed g(std::move(parts));
    TAKO_CO_ASSERT(co_await io::write_all(a, "ee\n"));
    (void)a.shutdown();
    const std::vector<std::string> want = {"two", "three"};
    EXPECT_EQ(co_await drain(g), want);
    TAKO_CO_ASSERT(co_await g.flush());
    std::array<std::byte, 16> buf{};
    auto n = co_await a.read(buf);
    TAKO_CO_ASSERT(n.has_value());
    EXPECT_EQ(text_of(std::span(buf).first(*n)), "unsent\n");
}

/// Owns a framed and waits for one line.
tako::task<std::size_t> read_one_line(io::duplex_stream s) {
    codec::framed f(std::move(s), codec::lines_codec());
    auto line = co_await f.next(); // the test aborts the task here
    co_return line ? 1 : 0;
}

TAKO_TEST(codec_framed, destroyed_while_suspended_in_next) {
    auto [a, b] = io::duplex(64);
    auto reader = tako::spawn(read_one_line, std::move(b));
    TAKO_CO_ASSERT(co_await io::write_all(a, "partial"));
    co_await tako::yield_now();
    reader.abort();
    auto r = co_await reader;
    TAKO_CO_ASSERT(!r.has_value());
    EXPECT_TRUE(r.error().is_cancelled());
    // The framed (and its duplex end) died with the task: the writer sees the pipe broken.
    auto w = co_await a.write(bytes_of("more"));
    TAKO_CO_ASSERT(!w.has_value());
    EXPECT_EQ(w.error(), std::errc::broken_pipe);
}

// ------------------------------------------------------------------ framed over TCP

tako::task<void> upper_echo(tcp_stream s) {
    auto [rd, wr] = std::move(s).into_split();
    codec::framed_read in(std::move(rd), codec::lines_codec(1024));
    codec::framed_write out(std::move(wr), codec::lines_codec());
    for (;;) {
        auto line = co_await in.next();
        if (!line || !*line) {
            break;
        }
        std::ranges::transform(**line, (*line)->begin(), [](char c) {
            return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
        });
        EXPECT_TRUE(co_await out.feed(std::move(**line)));
    }
    EXPECT_TRUE(co_await out.shutdown()); // flushes, then FIN
}

TAKO_TEST_MT(codec_framed, over_a_tcp_socket_pair) {
    auto [client, server] = co_await tcp_pair();
    auto h = tako::spawn(upper_echo, std::move(server));
    codec::framed f(std::move(client), codec::lines_codec(1024));
    std::vector<std::string> want;
    for (int i = 0; i < 2000; ++i) {
        auto line =
            "line " + std::to_string(i) + std::string(static_cast<std::size_t>(i % 50), 'q');
        TAKO_CO_ASSERT(co_await f.feed(line));
        std::ranges::transform(line, line.begin(), [](char c) {
            return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
        });
        want.push_back(std::move(line));
    }
    TAKO_CO_ASSERT(co_await f.shutdown()); // the rest, then a half-close
    auto got = co_await drain(f);
    EXPECT_EQ(got, want);
    (void)co_await h;
}
