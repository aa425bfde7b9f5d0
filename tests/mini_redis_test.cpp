// mini-redis in-process: the RESP parser and encoder, then the server driven by the client
// library (commands, expiry, pub/sub, pipelining) and its shutdown.

#include "blocking_client.hpp"
#include "client.hpp"
#include "frame.hpp"
#include "resp_codec.hpp"
#include "server.hpp"

#include <tako/net/tcp_listener.hpp>
#include <tako/spawn.hpp>
#include <tako/testing.hpp>
#include <tako/time/sleep.hpp>
#include <tako/time/timeout.hpp>

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using namespace std::string_view_literals;
using mini_redis::frame;
using mini_redis::parse_frame;
using status = mini_redis::parse_result::status;

namespace {

std::string encoded(const frame& f) {
    std::string out;
    mini_redis::encode_frame(f, out);
    return out;
}

frame command(std::initializer_list<const char*> words) {
    frame f = frame::array();
    for (const char* w : words) {
        f.items.push_back(frame::bulk(w));
    }
    return f;
}

} // namespace

TEST(resp, parses_every_frame_type) {
    const frame nested = frame::array({frame::simple("OK"), frame::error("ERR no"),
                                       frame::number(-42), frame::bulk(std::string("a\r\nb\0c", 6)),
                                       frame::nil(), frame::array({frame::number(1)}),
                                       frame::array()});
    const auto bytes = encoded(nested);
    EXPECT_EQ(bytes, "*7\r\n+OK\r\n-ERR no\r\n:-42\r\n$6\r\na\r\nb\0c\r\n$-1\r\n*1\r\n:1\r\n*0\r\n"sv);
    auto r = parse_frame(bytes);
    ASSERT_EQ(r.state, status::complete) << r.error;
    EXPECT_EQ(r.consumed, bytes.size());
    EXPECT_EQ(r.value, nested);
    EXPECT_EQ(parse_frame("*-1\r\n").value, frame::nil());
}

TEST(resp, every_proper_prefix_is_incomplete) {
    const auto bytes = encoded(command({"SET", "key", "a value with spaces"})) + "+next\r\n";
    const auto first = encoded(command({"SET", "key", "a value with spaces"})).size();
    for (std::size_t n = 0; n < first; ++n) {
        EXPECT_EQ(parse_frame(std::string_view(bytes).substr(0, n)).state, status::incomplete)
            << "prefix of " << n << " bytes";
    }
    auto r = parse_frame(bytes);
    ASSERT_EQ(r.state, status::complete);
    EXPECT_EQ(r.consumed, first); // the next frame is left for the next call
    auto next = parse_frame(std::string_view(bytes).substr(r.consumed));
    EXPECT_EQ(next.value, frame::simple("next"));
}

TEST(resp, inline_commands_split_on_spaces) {
    auto r = parse_frame("  SET  k   v \r\nGET k\r\n");
    ASSERT_EQ(r.state, status::complete);
    EXPECT_EQ(r.value, command({"SET", "k", "v"}));
    EXPECT_EQ(parse_frame("\r\n\r\nPING\r\n").value, command({"PING"}));
    EXPECT_EQ(parse_frame("PING").state, status::incomplete);
}

TEST(resp, malformed_input_is_invalid_with_a_reason) {
    struct bad_case {
        std::string_view bytes;
        std::string_view why;
    };
    for (const auto& c : {bad_case{"$abc\r\n", "invalid integer"},
                          bad_case{":12x\r\n", "invalid integer"},
                          bad_case{"$\r\n", "invalid integer"},
                          bad_case{"$-2\r\n", "invalid bulk length"},
                          bad_case{"*-5\r\n", "invalid multibulk length"},
                          bad_case{"$3\r\nabcde", "bulk string not terminated by CRLF"},
                          bad_case{"*1\r\n!x\r\n", "invalid frame type byte '!'"}}) {
        auto r = parse_frame(c.bytes);
        EXPECT_EQ(r.state, status::invalid) << c.bytes;
        EXPECT_EQ(r.error, c.why) << c.bytes;
    }
}

TEST(resp, limits_bound_what_a_frame_may_claim) {
    mini_redis::parse_limits limits;
    limits.max_bulk = 10;
    limits.max_items = 3;
    limits.max_depth = 2;
    limits.max_inline = 16;
    EXPECT_EQ(parse_frame("$11\r\n", limits).state, status::invalid);
    EXPECT_EQ(parse_frame("$10\r\n", limits).state, status::incomplete);
    EXPECT_EQ(parse_frame("*4\r\n", limits).state, status::invalid);
    EXPECT_EQ(parse_frame("*1\r\n*1\r\n*1\r\n:1\r\n", limits).state, status::invalid);
    EXPECT_EQ(parse_frame("*1\r\n*1\r\n:1\r\n", limits).state, status::complete);
    EXPECT_EQ(parse_frame(std::string(17, 'x'), limits).state, status::invalid);
    // A huge claimed count reserves only what the bytes present could hold.
    auto r = parse_frame("*1000000\r\n:1\r\n");
    EXPECT_EQ(r.state, status::incomplete);
}

namespace {

/// What a `resp_codec` makes of `bytes` delivered in two reads, split at `at`: the frames
/// it decoded (re-encoded), then "error" if it refused the input.
std::string decode_split(const mini_redis::parse_limits& limits, std::string_view bytes,
                         std::size_t at) {
    mini_redis::resp_codec codec(limits);
    tako::codec::bytes_buffer buf;
    std::string seen;
    for (const auto part : {bytes.substr(0, at), bytes.substr(at)}) {
        buf.append(part);
        for (;;) {
            auto r = codec.decode(buf);
            if (!r) {
                return seen + "error";
            }
            if (!*r) {
                break;
            }
            mini_redis::encode_frame(**r, seen);
        }
    }
    return seen;
}

} // namespace

// Found by fuzz_resp_codec: the line and frame limits were checked only on a frame still
// waiting for bytes, so a long line refused when its CRLF arrived late was accepted when it
// came in one read.
TEST(resp, limits_give_the_same_verdict_however_the_bytes_arrive) {
    mini_redis::parse_limits limits;
    limits.max_inline = 16;
    limits.max_bulk = 30;
    limits.max_frame = 40;
    const std::string bulk30 = "$30\r\n" + std::string(30, 'b') + "\r\n";
    struct case_t {
        std::string bytes;
        bool refused;
    };
    for (const auto& c : {case_t{std::string(17, 'x') + "\r\n", true},
                          case_t{std::string(16, 'x') + "\r\nPING\r\n", false},
                          case_t{"+" + std::string(17, 's') + "\r\n", true},
                          case_t{bulk30, false},
                          case_t{"*2\r\n" + bulk30 + bulk30, true},
                          case_t{std::string(60, '\r') + "PING\r\n", true},
                          case_t{"\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
                                 "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nPING\r\n",
                                 false}}) {
        const std::string whole = decode_split(limits, c.bytes, c.bytes.size());
        EXPECT_EQ(whole.ends_with("error"), c.refused) << c.bytes;
        for (std::size_t at = 0; at < c.bytes.size(); ++at) {
            EXPECT_EQ(decode_split(limits, c.bytes, at), whole) << c.bytes << " split at " << at;
        }
    }
}

namespace {

/// A server on an ephemeral port, serving until `stop` is cancelled.
struct test_server {
    tako::cancellation_token stop;
    tako::join_handle<void> task;
    std::string addr;
};

tako::task<test_server> start_server(mini_redis::server_options options = {}) {
    auto listener = co_await tako::net::tcp_listener::bind("127.0.0.1:0");
    EXPECT_TRUE(listener);
    test_server s;
    s.addr = listener->local_addr()->to_string();
    s.task = tako::spawn(mini_redis::serve(std::move(*listener), s.stop, options));
    co_return s;
}

/// A list of channel names (a braced list of strings passed to a coroutine trips g++ 12).
template <class... S>
std::vector<std::string> names(S... s) {
    std::vector<std::string> out;
    (out.emplace_back(s), ...);
    return out;
}

/// Connects and subscribes.
tako::task<mini_redis::client_result<mini_redis::subscriber>>
subscribe(const test_server& s, std::vector<std::string> channels);

tako::task<mini_redis::client> connect(const test_server& s) {
    auto c = co_await mini_redis::client::connect(s.addr);
    EXPECT_TRUE(c) << (c ? "" : c.error().what());
    co_return std::move(*c);
}

tako::task<mini_redis::client_result<mini_redis::subscriber>>
subscribe(const test_server& s, std::vector<std::string> channels) {
    auto c = co_await connect(s);
    co_return co_await mini_redis::client::subscribe(std::move(c), std::move(channels));
}

} // namespace

TAKO_TEST_MT(mini_redis_server, get_set_ping_publish) {
    auto server = co_await start_server();
    auto c = co_await connect(server);
    TAKO_CO_ASSERT_EQ(*co_await c.ping(), "PONG");
    TAKO_CO_ASSERT_EQ(*co_await c.ping("echo me"), "echo me");
    TAKO_CO_ASSERT(co_await c.set("k", "v1"));
    TAKO_CO_ASSERT_EQ(*co_await c.get("k"), std::optional<std::string>("v1"));
    TAKO_CO_ASSERT_EQ(*co_await c.get("missing"), std::nullopt);
    // Another connection sees the same database.
    auto d = co_await connect(server);
    TAKO_CO_ASSERT_EQ(*co_await d.get("k"), std::optional<std::string>("v1"));
    TAKO_CO_ASSERT_EQ(*co_await d.publish("nobody", "hello"), 0);
    server.stop.cancel();
    co_await server.task;
}

TAKO_TEST_MT(mini_redis_server, keys_expire_on_time_and_not_before) {
    auto server = co_await start_server();
    auto c = co_await connect(server);
    // Generous margins: a loaded machine may run a 100 ms sleep late.
    TAKO_CO_ASSERT(co_await c.set("short", "a", 500ms));
    TAKO_CO_ASSERT(co_await c.set("long", "b", 60s));
    TAKO_CO_ASSERT(co_await c.set("later", "c", 3s));
    TAKO_CO_ASSERT_EQ(*co_await c.get("short"), std::optional<std::string>("a"));
    co_await tako::time::sleep(600ms);
    TAKO_CO_ASSERT_EQ(*co_await c.get("short"), std::nullopt);
    TAKO_CO_ASSERT_EQ(*co_await c.get("later"), std::optional<std::string>("c"));
    co_await tako::time::sleep(2500ms);
    TAKO_CO_ASSERT_EQ(*co_await c.get("later"), std::nullopt);
    TAKO_CO_ASSERT_EQ(*co_await c.get("long"), std::optional<std::string>("b"));
    // Setting a key again without expiry keeps it past the old deadline.
    TAKO_CO_ASSERT(co_await c.set("k", "x", 50ms));
    TAKO_CO_ASSERT(co_await c.set("k", "y"));
    co_await tako::time::sleep(100ms);
    TAKO_CO_ASSERT_EQ(*co_await c.get("k"), std::optional<std::string>("y"));
    server.stop.cancel();
    co_await server.task;
}

TAKO_TEST_MT(mini_redis_server, subscribers_get_what_is_published_in_order) {
    auto server = co_await start_server();
    auto pub = co_await connect(server);
    auto s1 = co_await subscribe(server, names("a", "b"));
    auto s2 = co_await subscribe(server, names("a"));
    TAKO_CO_ASSERT(s1 && s2);
    TAKO_CO_ASSERT_EQ(s1->channels().size(), 2u);
    TAKO_CO_ASSERT_EQ(*co_await pub.publish("a", "one"), 2);
    TAKO_CO_ASSERT_EQ(*co_await pub.publish("b", "two"), 1);
    TAKO_CO_ASSERT_EQ(*co_await pub.publish("a", "three"), 2);
    // Within a channel, messages keep their order; across channels they may interleave
    // differently (each channel is its own broadcast queue, as in Tokio's mini-redis).
    std::map<std::string, std::vector<std::string>> got;
    for (int i = 0; i < 3; ++i) {
        auto m = co_await s1->next_message();
        TAKO_CO_ASSERT(m && *m);
        got[(*m)->channel].push_back((*m)->content);
    }
    EXPECT_EQ(got["a"], names("one", "three"));
    EXPECT_EQ(got["b"], names("two"));
    auto m = co_await s2->next_message();
    TAKO_CO_ASSERT(m && *m);
    EXPECT_EQ((*m)->content, "one");
    // After UNSUBSCRIBE, b's messages no longer reach s1.
    TAKO_CO_ASSERT(co_await s1->unsubscribe(names("b")));
    TAKO_CO_ASSERT_EQ(s1->channels(), names("a"));
    TAKO_CO_ASSERT_EQ(*co_await pub.publish("b", "lost"), 0);
    TAKO_CO_ASSERT_EQ(*co_await pub.publish("a", "four"), 2);
    m = co_await s1->next_message();
    TAKO_CO_ASSERT(m && *m);
    EXPECT_EQ((*m)->content, "four");
    server.stop.cancel();
    co_await server.task;
    // Shutdown closed the subscribers' connections: they see the end, not a hang.
    m = co_await s2->next_message();
    TAKO_CO_ASSERT(m);
    m = co_await s2->next_message(); // "three" and "four" may come first
    while (m && *m) {
        m = co_await s2->next_message();
    }
    EXPECT_TRUE(m.has_value());
}

TAKO_TEST_MT(mini_redis_server, a_subscription_as_a_stream) {
    auto server = co_await start_server();
    auto pub = co_await connect(server);
    auto sub = co_await subscribe(server, names("s"));
    TAKO_CO_ASSERT(sub);
    auto incoming = mini_redis::messages(std::move(*sub));
    for (const char* text : {"one", "two", "three"}) {
        TAKO_CO_ASSERT_EQ(*co_await pub.publish("s", text), 1);
    }
    std::vector<std::string> got;
    for (int i = 0; i < 3; ++i) {
        auto m = co_await incoming.next();
        TAKO_CO_ASSERT(m && *m);
        got.push_back((*m)->content);
    }
    EXPECT_EQ(got, names("one", "two", "three"));
    server.stop.cancel();
    co_await server.task;
    // The server closed the connection: the stream ends.
    auto last = co_await incoming.next();
    EXPECT_FALSE(last.has_value());
}

TAKO_TEST_MT(mini_redis_server, errors_come_back_as_error_replies) {
    auto server = co_await start_server();
    auto c = co_await connect(server);
    auto r = co_await c.set("k", "v", 0ms); // the client sends PX 1 at least
    TAKO_CO_ASSERT(r);
    auto s = co_await subscribe(server, names());
    TAKO_CO_ASSERT(!s);
    EXPECT_EQ(s.error().type, mini_redis::client_error::kind::error_reply);
    EXPECT_EQ(s.error().message, "ERR wrong number of arguments for 'subscribe' command");
    server.stop.cancel();
    co_await server.task;
}

TAKO_TEST_MT(mini_redis_server, shutdown_waits_for_idle_connections_to_close) {
    auto server = co_await start_server();
    auto c = co_await connect(server);
    TAKO_CO_ASSERT(co_await c.set("k", "v"));
    server.stop.cancel();
    // serve returns although the client never closed its connection.
    auto done = co_await tako::time::timeout(10s, std::move(server.task));
    TAKO_CO_ASSERT(done.has_value());
    auto after = co_await c.get("k");
    TAKO_CO_ASSERT(!after);
    EXPECT_EQ(after.error().type, mini_redis::client_error::kind::closed);
}

TAKO_TEST_MT(mini_redis_server, the_connection_limit_queues_extra_clients) {
    auto server = co_await start_server({.max_connections = 1});
    auto first = co_await connect(server);
    TAKO_CO_ASSERT_EQ(*co_await first.ping(), "PONG");
    auto second = co_await connect(server); // the kernel accepts; the server does not yet
    auto waiting = tako::spawn([](mini_redis::client c) -> tako::task<std::string> {
        auto r = co_await c.ping();
        co_return r ? *r : r.error().what();
    }, std::move(second));
    co_await tako::time::sleep(100ms);
    EXPECT_FALSE(waiting.is_finished());
    { auto gone = std::move(first); } // closes the first connection: its slot frees
    auto got = co_await tako::time::timeout(10s, std::move(waiting));
    TAKO_CO_ASSERT(got.has_value());
    EXPECT_EQ(**got, "PONG");
    server.stop.cancel();
    co_await server.task;
}

TAKO_TEST_MT(mini_redis_server, aborting_the_server_cancels_every_connection) {
    auto server = co_await start_server();
    auto sub = co_await subscribe(server, names("x"));
    auto c = co_await connect(server);
    TAKO_CO_ASSERT(sub);
    TAKO_CO_ASSERT(co_await c.ping());
    server.task.abort(); // destroyed while suspended, with connections open
    auto r = co_await tako::time::timeout(10s, std::move(server.task));
    TAKO_CO_ASSERT(r.has_value());
    TAKO_CO_ASSERT(!r->has_value());
    EXPECT_TRUE(r->error().is_cancelled());
}

tako::task<bool> finished_ok(tako::join_handle<void> h) {
    co_return (co_await h).has_value();
}

// Synchronous code drives the server through blocking_client, each call a block_on on the
// client's own runtime, while the server runs on another runtime.
TEST(mini_redis_blocking_client, works_from_plain_threads) {
    tako::runtime server_rt = tako::runtime::builder::multi_thread().worker_threads(2)
                                  .enable_all().build();
    auto server = server_rt.block_on(start_server());
    auto c = mini_redis::blocking_client::connect(server.addr);
    ASSERT_TRUE(c) << c.error().what();
    EXPECT_EQ(*c->ping(), "PONG");
    ASSERT_TRUE(c->set("sync", "value"));
    EXPECT_EQ(*c->get("sync"), std::optional<std::string>("value"));
    EXPECT_EQ(*c->publish("nobody", "x"), 0);
    auto bad = mini_redis::blocking_client::connect("127.0.0.1:1"); // nothing listens
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().type, mini_redis::client_error::kind::io);
    server.stop.cancel();
    EXPECT_TRUE(server_rt.block_on(finished_ok(std::move(server.task))));
}
