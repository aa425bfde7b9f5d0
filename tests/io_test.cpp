// tako::io: the stream concepts, read/write helpers, buffered I/O, lines, copy, duplex and
// the small adapters; mostly over in-memory duplex streams, copy_bidirectional over TCP.

#include <tako/io.hpp>
#include <tako/tako.hpp>
#include <tako/testing.hpp>

#include "test_support.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

using namespace std::chrono_literals;
using tako_test::bytes_of;
using tako_test::recording_writer;
using tako_test::tcp_pair;
using tako_test::text_of;
using tako_test::write_split;
namespace io = tako::io;
using tako::net::tcp_listener;
using tako::net::tcp_stream;

namespace {

/// Serves `data` at most `chunk` bytes per read; counts reads and the sizes asked for.
struct chunk_reader {
    std::string data;
    std::size_t chunk = 1;
    std::size_t pos = 0;
    int reads = 0;
    std::size_t last_request = 0;

    tako::task<io::result<std::size_t>> read(std::span<std::byte> buf) {
        ++reads;
        last_request = buf.size();
        const std::size_t n = std::min({chunk, buf.size(), data.size() - pos});
        std::memcpy(buf.data(), data.data() + pos, n);
        pos += n;
        co_return n;
    }
};

static_assert(io::async_read<tcp_stream> && io::async_write<tcp_stream>);
static_assert(io::async_read<tako::net::unix_stream> && io::async_write<tako::net::unix_stream>);
static_assert(io::async_read<tako::net::tcp_read_half>);
static_assert(io::async_write<tako::net::tcp_write_half>);
static_assert(io::async_read<tako::net::tcp_owned_read_half>);
static_assert(io::async_write<tako::net::tcp_owned_write_half>);
static_assert(io::async_read<io::duplex_stream> && io::async_write<io::duplex_stream>);
static_assert(!io::async_buf_read<io::duplex_stream>);
static_assert(io::async_buf_read<io::buf_reader<io::duplex_stream>>);
static_assert(io::async_buf_read<io::buf_reader<tcp_stream&>>);
static_assert(io::async_write<io::buf_writer<tcp_stream>>);
static_assert(io::async_read<io::buf_writer<tcp_stream>>);
static_assert(io::async_buf_read<io::buf_stream<tcp_stream>>);
static_assert(io::async_write<io::buf_stream<tcp_stream>>);
static_assert(io::async_buf_read<io::empty_stream> && io::async_write<io::empty_stream>);
static_assert(io::async_write<io::sink_stream> && !io::async_read<io::sink_stream>);
static_assert(io::async_read<io::repeat_stream>);
static_assert(!io::async_read<int> && !io::async_write<std::string>);

/// Writes `data` one `piece` at a time, then ends the stream.
tako::task<void> write_pieces(io::duplex_stream w, std::string data, std::size_t piece) {
    for (std::size_t i = 0; i < data.size(); i += piece) {
        EXPECT_TRUE(co_await io::write_all(
            w, bytes_of(data).subspan(i).first(std::min(piece, data.size() - i))));
    }
    (void)w.shutdown();
}

tako::task<std::string> read_all(io::duplex_stream& s) {
    std::string out;
    EXPECT_TRUE(co_await io::read_to_string(s, out));
    co_return out;
}

} // namespace

// ------------------------------------------------------------------ read/write helpers

TAKO_TEST(io_util, read_exact_fills_and_reports_early_end) {
    auto [a, b] = io::duplex(64);
    TAKO_CO_ASSERT(co_await io::write_all(a, "hello"));
    (void)a.shutdown();
    std::array<std::byte, 3> three{};
    TAKO_CO_ASSERT(co_await io::read_exact(b, three));
    EXPECT_EQ(text_of(three), "hel");
    std::array<std::byte, 5> five{};
    auto r = co_await io::read_exact(b, five);
    TAKO_CO_ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), io::errc::unexpected_eof);
    EXPECT_EQ(text_of(std::span(five).first(2)), "lo"); // what was read is in the buffer
}

TAKO_TEST(io_util, write_all_to_a_dropped_peer_is_broken_pipe) {
    auto [a, b] = io::duplex(8);
    { auto gone = std::move(b); }
    auto r = co_await io::write_all(a, "x");
    TAKO_CO_ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), std::errc::broken_pipe);
    std::array<std::byte, 4> buf{};
    auto n = co_await a.read(buf);
    TAKO_CO_ASSERT(n.has_value());
    EXPECT_EQ(*n, 0U); // and end of stream when reading
}

TAKO_TEST(io_util, integers_in_both_byte_orders) {
    auto [a, b] = io::duplex(256);
    TAKO_CO_ASSERT(co_await io::write_u8(a, 0x01));
    TAKO_CO_ASSERT(co_await io::write_i8(a, -2));
    TAKO_CO_ASSERT(co_await io::write_u16(a, 0x0102));
    TAKO_CO_ASSERT(co_await io::write_u16_le(a, 0x0102));
    TAKO_CO_ASSERT(co_await io::write_u32(a, 0x01020304));
    TAKO_CO_ASSERT(co_await io::write_u32_le(a, 0x01020304));
    TAKO_CO_ASSERT(co_await io::write_u64(a, 0x0102030405060708ULL));
    TAKO_CO_ASSERT(co_await io::write_u64_le(a, 0x0102030405060708ULL));
    TAKO_CO_ASSERT(co_await io::write_i16(a, -2));
    TAKO_CO_ASSERT(co_await io::write_i32_le(a, -3));
    TAKO_CO_ASSERT(co_await io::write_i64(a, -4));
    (void)a.shutdown();
    std::vector<std::byte> raw;
    TAKO_CO_ASSERT(co_await io::read_to_end(b, raw));
    const std::vector<unsigned> expected = {
        0x01, 0xfe, 0x01, 0x02, 0x02, 0x01, 0x01, 0x02, 0x03, 0x04, 0x04, 0x03, 0x02, 0x01, 0x01,
        0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
        0xff, 0xfe, 0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfc};
    std::vector<unsigned> got;
    for (std::byte x : raw) {
        got.push_back(std::to_integer<unsigned>(x));
    }
    EXPECT_EQ(got, expected);

    // And back.
    auto [c, d] = io::duplex(256);
    TAKO_CO_ASSERT(co_await io::write_all(c, std::span<const std::byte>(raw)));
    (void)c.shutdown();
    EXPECT_EQ(*co_await io::read_u8(d), 0x01);
    EXPECT_EQ(*co_await io::read_i8(d), -2);
    EXPECT_EQ(*co_await io::read_u16(d), 0x0102);
    EXPECT_EQ(*co_await io::read_u16_le(d), 0x0102);
    EXPECT_EQ(*co_await io::read_u32(d), 0x01020304U);
    EXPECT_EQ(*co_await io::read_u32_le(d), 0x01020304U);
    EXPECT_EQ(*co_await io::read_u64(d), 0x0102030405060708ULL);
    EXPECT_EQ(*co_await io::read_u64_le(d), 0x0102030405060708ULL);
    EXPECT_EQ(*co_await io::read_i16(d), -2);
    EXPECT_EQ(*co_await io::read_i32_le(d), -3);
    EXPECT_EQ(*co_await io::read_i64(d), -4);
    auto past_end = co_await io::read_u16(d);
    TAKO_CO_ASSERT_FALSE(past_end.has_value());
    EXPECT_EQ(past_end.error(), io::errc::unexpected_eof);
}

TAKO_TEST(io_util, read_to_end_and_to_string_append_everything) {
    std::string data(20000, '\0');
    for (std::size_t i = 0; i < data.size(); ++i) {
        data[i] = static_cast<char>('a' + i % 26);
    }
    auto [a, b] = io::duplex(100); // far smaller than the data: the writer waits on the reader
    auto writer = tako::spawn(write_pieces, std::move(a), data, std::size_t{333});
    std::string out = "prefix:";
    auto n = co_await io::read_to_string(b, out);
    TAKO_CO_ASSERT(n.has_value());
    EXPECT_EQ(*n, data.size());
    EXPECT_EQ(out, "prefix:" + data);
    (void)co_await writer;

    std::vector<std::byte> bytes;
    chunk_reader r{"0123456789", 3};
    auto m = co_await io::read_to_end(r, bytes);
    TAKO_CO_ASSERT(m.has_value());
    EXPECT_EQ(*m, 10U);
    EXPECT_EQ(text_of(bytes), "0123456789");
}

// ------------------------------------------------------------------ buffered

TAKO_TEST(io_buf_reader, small_reads_come_from_the_buffer) {
    chunk_reader inner{"0123456789abcdefghij", 100};
    io::buf_reader r(inner, 16); // borrows `inner`
    static_assert(std::is_same_v<decltype(r), io::buf_reader<chunk_reader&>>);
    std::array<std::byte, 1> one{};
    TAKO_CO_ASSERT_EQ(*co_await r.read(one), 1U);
    EXPECT_EQ(text_of(one), "0");
    EXPECT_EQ(inner.reads, 1);
    EXPECT_EQ(inner.last_request, 16U); // filled a whole buffer
    EXPECT_EQ(text_of(r.buffer()), "123456789abcdef");
    std::array<std::byte, 10> ten{};
    TAKO_CO_ASSERT_EQ(*co_await r.read(ten), 10U);
    EXPECT_EQ(text_of(ten), "123456789a");
    EXPECT_EQ(inner.reads, 1);
    std::string rest;
    TAKO_CO_ASSERT(co_await io::read_to_string(r, rest));
    EXPECT_EQ(rest, "bcdefghij");
}

TAKO_TEST(io_buf_reader, a_large_read_bypasses_an_empty_buffer) {
    chunk_reader inner{std::string(100, 'x'), 100};
    io::buf_reader r(inner, 8);
    std::array<std::byte, 32> big{};
    TAKO_CO_ASSERT_EQ(*co_await r.read(big), 32U);
    EXPECT_EQ(inner.last_request, 32U); // straight into the caller's buffer
    EXPECT_TRUE(r.buffer().empty());
    std::array<std::byte, 4> small{};
    TAKO_CO_ASSERT_EQ(*co_await r.read(small), 4U);
    EXPECT_EQ(inner.last_request, 8U);            // through the buffer
    TAKO_CO_ASSERT_EQ(*co_await r.read(big), 4U); // what is buffered first, no bypass
    EXPECT_EQ(inner.reads, 2);
}

TAKO_TEST(io_buf_writer, gathers_small_writes_and_bypasses_large_ones) {
    recording_writer inner;
    io::buf_writer w(inner, 8);
    TAKO_CO_ASSERT(co_await io::write_all(w, "abc"));
    TAKO_CO_ASSERT(co_await io::write_all(w, "def"));
    EXPECT_TRUE(inner.writes.empty());
    EXPECT_EQ(text_of(w.buffer()), "abcdef");
    TAKO_CO_ASSERT(co_await io::write_all(w, "ghi")); // would overflow: the buffer goes first
    EXPECT_EQ(inner.writes, (std::vector<std::string>{"abcdef"}));
    TAKO_CO_ASSERT(co_await io::write_all(w, "0123456789")); // large: flush, then straight
    EXPECT_EQ(inner.writes, (std::vector<std::string>{"abcdef", "ghi", "0123456789"}));
    TAKO_CO_ASSERT(co_await io::write_all(w, "z"));
    TAKO_CO_ASSERT(co_await w.flush());
    EXPECT_EQ(inner.writes.back(), "z");
    EXPECT_EQ(inner.flushes, 1); // flush reaches the inner writer
    EXPECT_TRUE(w.buffer().empty());
}

TAKO_TEST(io_buf_writer, destroyed_unflushed_loses_the_data) {
    recording_writer inner;
    {
        io::buf_writer w(inner);
        TAKO_CO_ASSERT(co_await io::write_all(w, "lost"));
    }
    EXPECT_TRUE(inner.writes.empty());
}

TAKO_TEST_PAUSED(io_buf_stream, reads_and_writes_one_stream) {
    auto [a, b] = io::duplex(64);
    io::buf_stream s(std::move(a));
    static_assert(std::is_same_v<decltype(s), io::buf_stream<io::duplex_stream>>);
    TAKO_CO_ASSERT(co_await io::write_all(s, "ping\n"));
    io::buf_reader peer(b);
    std::string line;
    auto pending = co_await tako::time::timeout(20ms, io::read_line(peer, line));
    EXPECT_FALSE(pending.has_value()); // still in s's write buffer
    TAKO_CO_ASSERT(co_await s.flush());
    TAKO_CO_ASSERT(co_await io::read_line(peer, line));
    EXPECT_EQ(line, "ping\n");
    TAKO_CO_ASSERT(co_await io::write_all(b, "pong\nrest"));
    (void)b.shutdown();
    line.clear();
    TAKO_CO_ASSERT(co_await io::read_line(s, line));
    EXPECT_EQ(line, "pong\n");
    EXPECT_EQ(text_of(s.buffer()), "rest");
    TAKO_CO_ASSERT(co_await io::shutdown(s)); // flushes and ends the stream
    EXPECT_EQ(*co_await peer.read(std::span<std::byte>()), 0U);
    std::array<std::byte, 4> buf{};
    EXPECT_EQ(*co_await peer.read(buf), 0U);
}

// ------------------------------------------------------------------ lines and frames

TAKO_TEST(io_lines, lines_split_at_every_byte_position) {
    const std::string text = "alpha\nbeta\r\ngamma\n\nlast";
    const std::vector<std::string> want = {"alpha", "beta", "gamma", "", "last"};
    for (std::size_t split = 0; split <= text.size(); ++split) {
        auto [a, b] = io::duplex(4);
        auto writer = tako::spawn(write_split, std::move(a), text, split);
        auto lines = io::lines(io::buf_reader(std::move(b), 3));
        std::vector<std::string> got;
        for (;;) {
            auto line = co_await lines.next_line();
            TAKO_CO_ASSERT(line.has_value());
            if (!*line) {
                break;
            }
            got.push_back(std::move(**line));
        }
        EXPECT_EQ(got, want) << "split at " << split;
        (void)co_await writer;
    }
}

TAKO_TEST(io_lines, read_until_and_frames_split_at_every_byte_position) {
    // Two length-prefixed frames, then a ';'-terminated record and an unterminated tail.
    std::string wire;
    for (std::string_view payload : {"first", "second frame"}) {
        const auto len = static_cast<std::uint32_t>(payload.size());
        wire += {static_cast<char>(len >> 24), static_cast<char>(len >> 16),
                 static_cast<char>(len >> 8), static_cast<char>(len)};
        wire += payload;
    }
    wire += "key=value;tail";
    for (std::size_t split = 0; split <= wire.size(); ++split) {
        auto [a, b] = io::duplex(5);
        auto writer = tako::spawn(write_split, std::move(a), wire, split);
        io::buf_reader r(std::move(b), 4);
        for (std::string_view payload : {"first", "second frame"}) {
            auto len = co_await io::read_u32(r);
            TAKO_CO_ASSERT(len.has_value());
            TAKO_CO_ASSERT_EQ(*len, payload.size());
            std::vector<std::byte> body(*len);
            TAKO_CO_ASSERT(co_await io::read_exact(r, body));
            EXPECT_EQ(text_of(body), payload) << "split at " << split;
        }
        std::vector<std::byte> record;
        EXPECT_EQ(*co_await io::read_until(r, std::byte{';'}, record), 10U);
        EXPECT_EQ(text_of(record), "key=value;") << "split at " << split;
        record.clear();
        EXPECT_EQ(*co_await io::read_until(r, std::byte{';'}, record), 4U);
        EXPECT_EQ(text_of(record), "tail");
        EXPECT_EQ(*co_await io::read_until(r, std::byte{';'}, record), 0U); // end of stream
        (void)co_await writer;
    }
}

TAKO_TEST_PAUSED(io_lines, read_line_cancelled_keeps_what_it_read) {
    auto [a, b] = io::duplex(64);
    io::buf_reader r(b);
    TAKO_CO_ASSERT(co_await io::write_all(a, "hel"));
    std::string line;
    auto first = co_await tako::time::timeout(10ms, io::read_line(r, line));
    EXPECT_FALSE(first.has_value()); // cancelled while waiting for the rest
    EXPECT_EQ(line, "hel");          // what it read is in the caller's string
    TAKO_CO_ASSERT(co_await io::write_all(a, "lo\nnext\n"));
    auto second = co_await io::read_line(r, line);
    TAKO_CO_ASSERT(second.has_value());
    EXPECT_EQ(*second, 3U);
    EXPECT_EQ(line, "hello\n");

    // The same through select, and through a line_reader.
    auto lines = io::lines(r);
    TAKO_CO_ASSERT(co_await io::write_all(a, "par"));
    auto [tx, rx] = tako::sync::oneshot::channel<void>();
    (void)tx.send();
    auto lost = co_await tako::select_biased(std::move(rx), lines.next_line());
    EXPECT_EQ(lost.index(), 0U);
    auto next = co_await lines.next_line(); // "next" was buffered
    TAKO_CO_ASSERT(next.has_value() && next->has_value());
    EXPECT_EQ(**next, "next");
    auto partial = co_await tako::time::timeout(10ms, lines.next_line());
    EXPECT_FALSE(partial.has_value());
    TAKO_CO_ASSERT(co_await io::write_all(a, "tial\r\n"));
    auto whole = co_await lines.next_line();
    TAKO_CO_ASSERT(whole.has_value() && whole->has_value());
    EXPECT_EQ(**whole, "partial");
}

tako::task<void> shout_lines(tcp_stream s) {
    io::buf_reader reader(s);
    std::string line;
    for (;;) {
        line.clear();
        auto n = co_await io::read_line(reader, line);
        if (!n || *n == 0) {
            break;
        }
        std::ranges::transform(line, line.begin(), [](char c) { return c == 'a' ? 'A' : c; });
        EXPECT_TRUE(co_await io::write_all(s, line));
    }
    s.close();
}

TAKO_TEST_MT(io_lines, over_a_tcp_stream) {
    auto [client, server] = co_await tcp_pair();
    auto h = tako::spawn(shout_lines, std::move(server));
    TAKO_CO_ASSERT(co_await io::write_all(client, "abc\nbanana\n"));
    TAKO_CO_ASSERT(co_await io::write_all(client, "last, no newline"));
    TAKO_CO_ASSERT(co_await io::shutdown(client));
    auto lines = io::lines(io::buf_reader(client));
    std::vector<std::string> got;
    for (;;) {
        auto line = co_await lines.next_line();
        TAKO_CO_ASSERT(line.has_value()) << line.error().message();
        if (!*line) {
            break;
        }
        got.push_back(std::move(**line));
    }
    EXPECT_EQ(got, (std::vector<std::string>{"Abc", "bAnAnA", "lAst, no newline"}));
    (void)co_await h;
}

// ------------------------------------------------------------------ copy

TAKO_TEST(io_copy, copies_everything_and_flushes) {
    auto src = io::take(io::repeat(std::byte{'x'}), 100000);
    auto sink = io::sink();
    auto n = co_await io::copy(src, sink);
    TAKO_CO_ASSERT(n.has_value());
    EXPECT_EQ(*n, 100000U);

    chunk_reader r{"some bytes to copy", 5};
    recording_writer inner;
    io::buf_writer w(inner);
    auto m = co_await io::copy(r, w);
    TAKO_CO_ASSERT(m.has_value());
    EXPECT_EQ(*m, 18U);
    EXPECT_EQ(inner.writes, (std::vector<std::string>{"some bytes to copy"})); // flushed
    EXPECT_EQ(inner.flushes, 1);
}

TAKO_TEST_PAUSED(io_copy, cancelled_while_reading_everything_read_was_written) {
    auto [src_r, src_w] = io::simplex(64);
    auto [dst_r, dst_w] = io::simplex(64);
    TAKO_CO_ASSERT(co_await io::write_all(src_w, "abc"));
    auto r = co_await tako::time::timeout(10ms, io::copy(src_r, dst_w));
    EXPECT_FALSE(r.has_value()); // waiting for more when cancelled
    std::array<std::byte, 8> buf{};
    auto n = co_await dst_r.read(buf);
    TAKO_CO_ASSERT(n.has_value());
    EXPECT_EQ(text_of(std::span(buf).first(*n)), "abc");
    TAKO_CO_ASSERT(co_await io::write_all(src_w, "def")); // the source is still usable
    (void)src_w.shutdown();
    auto m = co_await io::copy(src_r, dst_w);
    TAKO_CO_ASSERT(m.has_value());
    EXPECT_EQ(*m, 3U);
}

TAKO_TEST_PAUSED(io_copy, copy_buf_cancelled_while_writing_loses_nothing) {
    auto [src_r, src_w] = io::simplex(64);
    auto [dst_r, dst_w] = io::simplex(4); // fills up after 4 bytes
    TAKO_CO_ASSERT(co_await io::write_all(src_w, "abcdefgh"));
    (void)src_w.shutdown();
    io::buf_reader r(src_r);
    auto first = co_await tako::time::timeout(10ms, io::copy_buf(r, dst_w));
    EXPECT_FALSE(first.has_value()); // blocked writing
    EXPECT_EQ(text_of(r.buffer()), "efgh");
    std::array<std::byte, 4> buf{};
    TAKO_CO_ASSERT(co_await io::read_exact(dst_r, buf));
    EXPECT_EQ(text_of(buf), "abcd");
    auto rest = co_await io::copy_buf(r, dst_w);
    TAKO_CO_ASSERT(rest.has_value());
    EXPECT_EQ(*rest, 4U);
    TAKO_CO_ASSERT(co_await io::read_exact(dst_r, buf));
    EXPECT_EQ(text_of(buf), "efgh");
}

TAKO_TEST(io_copy, a_closed_peer_is_an_error) {
    auto [client, server] = co_await tcp_pair();
    server.close();
    auto src = io::take(io::repeat(std::byte{'x'}), std::uint64_t{64} << 20);
    auto r = co_await io::copy(src, client);
    TAKO_CO_ASSERT_FALSE(r.has_value());
    EXPECT_TRUE(r.error() == std::errc::broken_pipe || r.error() == std::errc::connection_reset)
        << r.error().message();
}

// Client -- proxy(a | b) -- server, over TCP; the client half-closes first.
tako::task<void> serve_upper(tcp_stream s) {
    std::string got;
    EXPECT_TRUE(co_await io::read_to_string(s, got)); // until the client's end of stream
    EXPECT_EQ(got, "hello from the client");
    EXPECT_TRUE(co_await io::write_all(s, "reply after eof"));
    s.close(); // the frame (and `s`) lives until the task is joined
}

template <class S>
tako::task<io::result<std::pair<std::uint64_t, std::uint64_t>>> proxy(S a, S b) {
    co_return co_await io::copy_bidirectional(a, b);
}

TAKO_TEST_MT(io_copy_bidirectional, tcp_half_close_is_passed_on) {
    auto [client, proxy_a] = co_await tcp_pair();
    auto [proxy_b, server] = co_await tcp_pair();
    auto p = tako::spawn(proxy<tcp_stream>, std::move(proxy_a), std::move(proxy_b));
    auto s = tako::spawn(serve_upper, std::move(server));
    TAKO_CO_ASSERT(co_await io::write_all(client, "hello from the client"));
    TAKO_CO_ASSERT(co_await io::shutdown(client)); // half-close: the client can still read
    std::string reply;
    TAKO_CO_ASSERT(co_await io::read_to_string(client, reply));
    EXPECT_EQ(reply, "reply after eof");
    auto counts = co_await p;
    TAKO_CO_ASSERT(counts.has_value());
    TAKO_CO_ASSERT(counts->has_value()) << (*counts).error().message();
    EXPECT_EQ((*counts)->first, 21U);
    EXPECT_EQ((*counts)->second, 15U);
    (void)co_await s;
}

tako::task<void> answer_after_eof(io::duplex_stream s) {
    EXPECT_EQ(co_await read_all(s), "question");
    EXPECT_TRUE(co_await io::write_all(s, "answer"));
    (void)s.shutdown();
}

TAKO_TEST(io_copy_bidirectional, over_duplex_streams_with_small_buffers) {
    auto [client, a] = io::duplex(3);
    auto [b, server] = io::duplex(2);
    auto p = tako::spawn(proxy<io::duplex_stream>, std::move(a), std::move(b));
    auto s = tako::spawn(answer_after_eof, std::move(server));
    TAKO_CO_ASSERT(co_await io::write_all(client, "question"));
    (void)client.shutdown();
    EXPECT_EQ(co_await read_all(client), "answer");
    auto counts = co_await p;
    TAKO_CO_ASSERT(counts.has_value() && counts->has_value());
    EXPECT_EQ(**counts, (std::pair<std::uint64_t, std::uint64_t>(8, 6)));
    (void)co_await s;
}

// ------------------------------------------------------------------ duplex

tako::task<void> write_and_mark(io::duplex_stream* w, std::vector<std::string>* events) {
    events->push_back("write start");
    EXPECT_TRUE(co_await io::write_all(*w, "0123456789"));
    events->push_back("write done");
}

TAKO_TEST(io_duplex, a_writer_waits_until_the_reader_reads) {
    auto [a, b] = io::duplex(4);
    std::vector<std::string> events;
    auto writer = tako::spawn(write_and_mark, &a, &events);
    for (int i = 0; i < 5; ++i) {
        co_await tako::yield_now();
    }
    EXPECT_EQ(events, (std::vector<std::string>{"write start"})); // 4 of 10 taken, blocked
    std::array<std::byte, 3> three{};
    TAKO_CO_ASSERT(co_await io::read_exact(b, three));
    events.push_back("read 3");
    for (int i = 0; i < 5; ++i) {
        co_await tako::yield_now();
    }
    EXPECT_EQ(events.back(), "read 3"); // 7 of 10 taken: blocked again
    std::array<std::byte, 4> four{};
    TAKO_CO_ASSERT(co_await io::read_exact(b, four)); // the 4 buffered: no wait
    events.push_back("read 4");
    for (int i = 0; i < 5; ++i) {
        co_await tako::yield_now();
    }
    (void)co_await writer; // the last 3 fit now
    std::array<std::byte, 3> last{};
    TAKO_CO_ASSERT(co_await io::read_exact(b, last));
    EXPECT_EQ(events, (std::vector<std::string>{"write start", "read 3", "read 4", "write done"}));
    EXPECT_EQ(text_of(three) + text_of(four) + text_of(last), "0123456789");
}

tako::task<void> pump(io::duplex_stream w, std::string data) {
    EXPECT_TRUE(co_await io::write_all(w, data));
    (void)w.shutdown();
}

TAKO_TEST_MT(io_duplex, carries_a_large_transfer_between_threads) {
    std::string data(200000, '\0');
    for (std::size_t i = 0; i < data.size(); ++i) {
        data[i] = static_cast<char>(i * 7 % 251);
    }
    auto [a, b] = io::duplex(7);
    auto writer = tako::spawn(pump, std::move(a), data);
    std::string got;
    TAKO_CO_ASSERT(co_await io::read_to_string(b, got));
    EXPECT_TRUE(got == data);
    (void)co_await writer;
}

tako::task<io::result<std::size_t>> read_some(io::duplex_stream* s) {
    std::array<std::byte, 8> buf{};
    co_return co_await s->read(buf);
}

tako::task<io::result<void>> write_much(io::duplex_stream* s) {
    const std::string much(100, 'x');
    co_return co_await io::write_all(*s, much);
}

TAKO_TEST(io_duplex, dropping_an_end_wakes_the_other) {
    auto [a, b] = io::duplex(8);
    auto reader = tako::spawn(read_some, &b);
    auto writer = tako::spawn(write_much, &b);
    co_await tako::yield_now();
    co_await tako::yield_now();
    { auto gone = std::move(a); } // both of b's directions end
    auto r = co_await reader;
    TAKO_CO_ASSERT(r.has_value() && r->has_value());
    EXPECT_EQ(**r, 0U); // end of stream
    auto w = co_await writer;
    TAKO_CO_ASSERT(w.has_value() && !w->has_value());
    EXPECT_EQ(w->error(), std::errc::broken_pipe);
}

TAKO_TEST(io_duplex, shutdown_is_a_half_close) {
    auto [a, b] = io::duplex(16);
    TAKO_CO_ASSERT(co_await io::write_all(a, "last"));
    (void)a.shutdown();
    auto after = co_await a.write(bytes_of("more"));
    TAKO_CO_ASSERT_FALSE(after.has_value());
    EXPECT_EQ(after.error(), std::errc::broken_pipe);
    EXPECT_EQ(co_await read_all(b), "last");            // buffered data, then end of stream
    TAKO_CO_ASSERT(co_await io::write_all(b, "reply")); // the other direction still works
    (void)b.shutdown();
    EXPECT_EQ(co_await read_all(a), "reply");

    io::duplex_stream moved_from = std::move(a);
    std::array<std::byte, 1> one{};
    EXPECT_EQ((co_await a.read(one)).error(), io::errc::closed); // NOLINT: moved-from on purpose
    EXPECT_EQ((co_await a.write(one)).error(), io::errc::closed);
}

// ------------------------------------------------------------------ adapters

TAKO_TEST(io_adapters, empty_sink_repeat_take_chain) {
    auto e = io::empty();
    std::array<std::byte, 8> buf{};
    EXPECT_EQ(*co_await e.read(buf), 0U);
    EXPECT_EQ(*co_await e.write(buf), 8U);
    auto s = io::sink();
    EXPECT_EQ(*co_await s.write(buf), 8U);

    auto dots = io::repeat(std::byte{'.'});
    auto three = io::take(dots, 3);
    std::string got;
    TAKO_CO_ASSERT(co_await io::read_to_string(three, got));
    EXPECT_EQ(got, "...");
    three.set_limit(2);
    EXPECT_EQ(*co_await three.read(buf), 2U);
    EXPECT_EQ(three.limit(), 0U);

    chunk_reader second{"world", 2};
    auto both = io::chain(chunk_reader{"hello ", 4}, second);
    got.clear();
    TAKO_CO_ASSERT(co_await io::read_to_string(both, got));
    EXPECT_EQ(got, "hello world");
    EXPECT_EQ(second.pos, 5U); // borrowed: the caller's reader advanced
}
