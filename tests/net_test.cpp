// Loopback tests of the I/O driver and the TCP types, through the public API.

#include <tako/tako.hpp>
#include <tako/testing.hpp>

#include "test_support.hpp"

#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstring>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using tako_test::bytes_of;
using tako_test::read_all;
using tako_test::text_of;
using tako::net::socket_address;
using tako::net::tcp_listener;
using tako::net::tcp_stream;

namespace {

/// A listener on an ephemeral loopback port.
tako::task<tcp_listener> listen_local() {
    auto l = co_await tcp_listener::bind("127.0.0.1:0");
    EXPECT_TRUE(l.has_value()) << l.error().message();
    co_return std::move(*l);
}

tako::task<std::pair<tcp_stream, tcp_stream>> connected_pair() {
    tcp_listener l = co_await listen_local();
    const socket_address addr = *l.local_addr();
    auto [client, accepted] = co_await tako::join(tcp_stream::connect(addr), l.accept());
    EXPECT_TRUE(client.has_value());
    EXPECT_TRUE(accepted.has_value());
    co_return std::pair<tcp_stream, tcp_stream>(std::move(*client), std::move(accepted->first));
}

tako::task<void> echo_once(tcp_stream s) {
    std::array<std::byte, 1024> buf;
    for (;;) {
        auto n = co_await s.read(buf);
        if (!n || *n == 0) {
            co_return;
        }
        if (!co_await s.write_all(std::span(buf).first(*n))) {
            co_return;
        }
    }
}

} // namespace

// ------------------------------------------------------------------ addresses

TEST(socket_address, parses_and_prints_v4_and_v6) {
    auto a = socket_address::parse("127.0.0.1:8080");
    ASSERT_TRUE(a);
    EXPECT_TRUE(a->is_ipv4());
    EXPECT_EQ(a->port(), 8080);
    EXPECT_EQ(a->to_string(), "127.0.0.1:8080");
    auto b = socket_address::parse("[::1]:443");
    ASSERT_TRUE(b);
    EXPECT_TRUE(b->is_ipv6());
    EXPECT_EQ(b->to_string(), "[::1]:443");
    auto c = socket_address::parse("[fe80::1%7]:1");
    ASSERT_TRUE(c);
    EXPECT_EQ(c->to_string(), "[fe80::1%7]:1");
    EXPECT_EQ(*a, socket_address::v4_loopback(8080));
    EXPECT_EQ(*b, socket_address::v6_loopback(443));
}

TEST(socket_address, malformed_addresses_are_a_clear_error) {
    for (const char* bad :
         {"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "1.2.3:80", "::1:80", "[::1]80", "[::1",
          "[127.0.0.1]:80", "host:80", "1.2.3.4:-1", "1.2.3.4:8o", "[fe80::1%]:1"}) {
        auto r = socket_address::parse(bad);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error(), tako::io::errc::invalid_address) << bad;
        EXPECT_NE(r.error().message().find("invalid socket address"), std::string::npos);
    }
}

TAKO_TEST(lookup_host, resolves_numeric_and_localhost) {
    auto a = co_await tako::net::lookup_host("127.0.0.1:80");
    TAKO_CO_ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->size(), 1U);
    auto b = co_await tako::net::lookup_host("localhost:6379");
    TAKO_CO_ASSERT_TRUE(b.has_value()) << b.error().message();
    TAKO_CO_ASSERT_FALSE(b->empty());
    for (const auto& addr : *b) {
        EXPECT_EQ(addr.port(), 6379);
    }
    auto bad = co_await tako::net::lookup_host("no port here");
    EXPECT_EQ(bad.error(), tako::io::errc::invalid_address);
    auto unknown = co_await tako::net::lookup_host("name.invalid:80");
    EXPECT_FALSE(unknown.has_value());
}

// ------------------------------------------------------------------ tcp basics

TAKO_TEST(tcp, echo_round_trip_and_addresses) {
    tcp_listener l = co_await listen_local();
    const socket_address addr = *l.local_addr();
    EXPECT_NE(addr.port(), 0);
    auto server = tako::spawn(
        [](tcp_listener* l) -> tako::task<void> {
            auto a = co_await l->accept();
            EXPECT_TRUE(a.has_value());
            co_await echo_once(std::move(a->first));
        },
        &l);
    auto c = co_await tcp_stream::connect(addr.to_string());
    TAKO_CO_ASSERT_TRUE(c.has_value()) << c.error().message();
    EXPECT_EQ(*c->peer_addr(), addr);
    EXPECT_TRUE(c->local_addr()->is_ipv4());
    TAKO_CO_ASSERT_TRUE(co_await c->write_all("hello, tako"));
    std::array<std::byte, 11> back;
    TAKO_CO_ASSERT_TRUE(co_await c->read_exact(back));
    EXPECT_EQ(text_of(back), "hello, tako");
    c->close();
    (void)co_await server;
}

TAKO_TEST(tcp, connect_refused_is_an_error_code) {
    // Bind a port, close it: nothing listens there now.
    socket_address addr;
    {
        tcp_listener l = co_await listen_local();
        addr = *l.local_addr();
    }
    auto c = co_await tcp_stream::connect(addr);
    TAKO_CO_ASSERT_FALSE(c.has_value());
    EXPECT_EQ(c.error(), std::errc::connection_refused);
}

TAKO_TEST(tcp, bind_errors) {
    auto bad = co_await tcp_listener::bind("not an address");
    EXPECT_EQ(bad.error(), tako::io::errc::invalid_address);
    tcp_listener l = co_await listen_local();
    auto taken = co_await tcp_listener::bind(*l.local_addr());
    TAKO_CO_ASSERT_FALSE(taken.has_value());
    EXPECT_EQ(taken.error(), std::errc::address_in_use);
}

TAKO_TEST(tcp, half_close_peer_reads_everything_sent_before_shutdown) {
    auto [a, b] = co_await connected_pair();
    std::string big(300'000, 'x');
    std::iota(big.begin(), big.end(), 'a');
    auto writer = tako::spawn(
        [](tcp_stream* a, std::string* data) -> tako::task<void> {
            EXPECT_TRUE(co_await a->write_all(*data));
            EXPECT_TRUE(a->shutdown(tako::net::shutdown_how::write));
        },
        &a, &big);
    const std::string got = co_await read_all(b);
    EXPECT_EQ(got.size(), big.size());
    EXPECT_TRUE(got == big);
    (void)co_await writer;
    // b can still write to a after a shut down its write side.
    TAKO_CO_ASSERT_TRUE(co_await b.write_all("bye"));
    b.close();
    EXPECT_EQ(co_await read_all(a), "bye");
}

TAKO_TEST(tcp, peer_reset_mid_stream) {
    auto [a, b] = co_await connected_pair();
    TAKO_CO_ASSERT_TRUE(co_await a.write_all("unread"));
    TAKO_CO_ASSERT_TRUE(b.set_linger(0s)); // close with unread data and linger 0: RST
    co_await tako::time::sleep(5ms);
    b.close();
    std::array<std::byte, 16> buf;
    tako::io::result<std::size_t> n;
    do {
        n = co_await a.read(buf);
    } while (n && *n > 0);
    TAKO_CO_ASSERT_FALSE(n.has_value());
    EXPECT_EQ(n.error(), std::errc::connection_reset);
    // Writing to a reset connection fails (EPIPE or ECONNRESET), and never raises SIGPIPE.
    auto w = co_await a.write_all("more");
    EXPECT_FALSE(w.has_value());
}

TAKO_TEST_MT(tcp, sixty_four_mib_through_one_connection) {
    auto [a, b] = co_await connected_pair();
    constexpr std::size_t total = 64U << 20;
    auto writer = tako::spawn(
        [](tcp_stream* s) -> tako::task<std::uint64_t> {
            std::vector<std::byte> chunk(256 * 1024);
            std::uint64_t sum = 0;
            std::uint8_t v = 0;
            for (std::size_t sent = 0; sent < total; sent += chunk.size()) {
                for (auto& c : chunk) {
                    c = std::byte{v};
                    sum += v;
                    v = static_cast<std::uint8_t>(v * 31 + 7);
                }
                if (!co_await s->write_all(chunk)) {
                    co_return 0;
                }
            }
            (void)s->shutdown(tako::net::shutdown_how::write);
            co_return sum;
        },
        &a);
    std::vector<std::byte> buf(128 * 1024);
    std::uint64_t sum = 0;
    std::size_t got = 0;
    for (;;) {
        auto n = co_await b.read(buf);
        TAKO_CO_ASSERT_TRUE(n.has_value());
        if (*n == 0) {
            break;
        }
        for (std::size_t i = 0; i < *n; ++i) {
            sum += static_cast<std::uint8_t>(buf[i]);
        }
        got += *n;
    }
    EXPECT_EQ(got, total);
    EXPECT_EQ(sum, (co_await writer).value());
}

TAKO_TEST(tcp, slow_reader_fills_the_senders_buffer_and_loses_nothing) {
    auto [a, b] = co_await connected_pair();
    constexpr std::size_t total = 8U << 20; // far more than the socket buffers hold
    auto writer = tako::spawn(
        [](tcp_stream* s) -> tako::task<void> {
            std::vector<std::byte> data(total);
            for (std::size_t i = 0; i < total; ++i) {
                data[i] = std::byte(static_cast<unsigned char>(i % 251));
            }
            EXPECT_TRUE(co_await s->write_all(data));
            (void)s->shutdown(tako::net::shutdown_how::write);
        },
        &a);
    co_await tako::time::sleep(50ms); // the writer blocks on a full buffer meanwhile
    EXPECT_FALSE(writer.is_finished());
    std::vector<std::byte> buf(4096);
    std::size_t got = 0;
    bool in_order = true;
    for (;;) {
        auto n = co_await b.read(buf);
        TAKO_CO_ASSERT_TRUE(n.has_value());
        if (*n == 0) {
            break;
        }
        for (std::size_t i = 0; i < *n; ++i) {
            in_order &= buf[i] == std::byte(static_cast<unsigned char>((got + i) % 251));
        }
        got += *n;
    }
    EXPECT_EQ(got, total);
    EXPECT_TRUE(in_order);
    (void)co_await writer;
}

TAKO_TEST(tcp, try_read_try_write_and_readiness) {
    auto [a, b] = co_await connected_pair();
    std::array<std::byte, 8> buf;
    auto none = b.try_read(buf);
    TAKO_CO_ASSERT_FALSE(none.has_value());
    EXPECT_EQ(none.error(), std::errc::operation_would_block);
    auto w = a.try_write(bytes_of("ping"));
    TAKO_CO_ASSERT_TRUE(w.has_value());
    EXPECT_EQ(*w, 4U);
    auto r = co_await b.readable();
    TAKO_CO_ASSERT_TRUE(r.has_value());
    EXPECT_TRUE(r->is_readable());
    std::array<std::byte, 4> peeked;
    auto p = co_await b.peek(peeked);
    EXPECT_EQ(p.value(), 4U);
    auto n = b.try_read(buf);
    TAKO_CO_ASSERT_TRUE(n.has_value());
    EXPECT_EQ(text_of(std::span(buf).first(*n)), "ping");
    EXPECT_TRUE(a.set_nodelay(true));
    EXPECT_TRUE(a.nodelay().value());
    EXPECT_TRUE(a.set_ttl(42));
    EXPECT_EQ(a.ttl().value(), 42U);
    EXPECT_TRUE(a.set_linger(3s));
    EXPECT_EQ(a.linger().value(), std::optional<std::chrono::seconds>(3s));
}

TAKO_TEST(tcp, vectored_io) {
    auto [a, b] = co_await connected_pair();
    std::string h = "head:", t = "tail";
    ::iovec out[2] = {{h.data(), h.size()}, {t.data(), t.size()}};
    auto w = co_await a.write_vectored(out);
    EXPECT_EQ(w.value(), 9U);
    char x[5], y[4];
    ::iovec in[2] = {{x, sizeof x}, {y, sizeof y}};
    std::size_t got = 0;
    while (got < 9) {
        auto n = co_await b.read_vectored(in);
        TAKO_CO_ASSERT_TRUE(n.has_value());
        got += *n;
        break; // loopback delivers both pieces at once
    }
    EXPECT_EQ(got, 9U);
    EXPECT_EQ(std::string(x, 5) + std::string(y, 4), "head:tail");
}

// ------------------------------------------------------------------ cancellation

TAKO_TEST(tcp, cancelled_read_leaves_the_stream_usable) {
    auto [a, b] = co_await connected_pair();
    std::array<std::byte, 16> buf;
    auto r = co_await tako::time::timeout(20ms, b.read(buf));
    EXPECT_FALSE(r.has_value()); // timed out: the read was cancelled while suspended
    TAKO_CO_ASSERT_TRUE(co_await a.write_all("after"));
    auto n = co_await b.read(buf);
    TAKO_CO_ASSERT_TRUE(n.has_value());
    EXPECT_EQ(text_of(std::span(buf).first(*n)), "after");
}

TAKO_TEST(tcp, cancelled_accept_takes_no_connection) {
    tcp_listener l = co_await listen_local();
    auto r = co_await tako::time::timeout(10ms, l.accept());
    EXPECT_FALSE(r.has_value());
    auto c = co_await tcp_stream::connect(*l.local_addr());
    TAKO_CO_ASSERT_TRUE(c.has_value());
    auto a = co_await l.accept();
    TAKO_CO_ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->second, *c->local_addr());
}

TAKO_TEST(tcp, aborting_a_task_suspended_in_read_deregisters_cleanly) {
    auto [a, b] = co_await connected_pair();
    auto h = tako::spawn(
        [](tcp_stream s) -> tako::task<void> {
            std::array<std::byte, 16> buf;
            (void)co_await s.read(buf); // never completes
        },
        std::move(b));
    co_await tako::time::sleep(5ms);
    h.abort();
    auto j = co_await h;
    EXPECT_FALSE(j.has_value()); // cancelled; its stream was destroyed with it
    std::array<std::byte, 1> buf;
    auto n = co_await a.read(buf);
    TAKO_CO_ASSERT_TRUE(n.has_value());
    EXPECT_EQ(*n, 0U); // the peer's socket was closed
}

// ------------------------------------------------------------------ runtimes

TEST(tcp_runtime, io_disabled_is_a_clear_error) {
    tako::runtime rt = tako::runtime::builder::current_thread().build();
    rt.block_on([]() -> tako::task<void> {
        auto l = co_await tcp_listener::bind("127.0.0.1:0");
        EXPECT_FALSE(l.has_value());
        EXPECT_EQ(l.error(), tako::io::errc::io_disabled);
        EXPECT_NE(l.error().message().find("enable_io"), std::string::npos);
    });
}

TEST(tcp_runtime, socket_used_from_another_runtime_fails_clearly) {
    tako::runtime one = tako::runtime::builder::current_thread().enable_all().build();
    tako::runtime two = tako::runtime::builder::current_thread().enable_all().build();
    tcp_listener l =
        one.block_on([]() -> tako::task<tcp_listener> { co_return co_await listen_local(); });
    two.block_on([l = &l]() -> tako::task<void> {
        auto a = co_await l->accept();
        EXPECT_FALSE(a.has_value());
        EXPECT_EQ(a.error(), tako::io::errc::wrong_runtime);
    });
}

TEST(tcp_runtime, socket_outliving_its_runtime_fails_instead_of_hanging) {
    tcp_listener l;
    {
        tako::runtime rt = tako::runtime::builder::current_thread().enable_all().build();
        l = rt.block_on([]() -> tako::task<tcp_listener> { co_return co_await listen_local(); });
    }
    // Its driver is shut down but alive (the listener holds it): using the listener fails
    // at once, and destroying it later is safe.
    EXPECT_GE(l.native_handle(), 0);
    tako::runtime other = tako::runtime::builder::current_thread().enable_all().build();
    other.block_on([l = &l]() -> tako::task<void> {
        auto a = co_await l->accept();
        EXPECT_FALSE(a.has_value());
    });
}

TEST(tcp_runtime, operation_suspended_at_shutdown_is_cancelled) {
    auto rt = std::make_unique<tako::runtime>(
        tako::runtime::builder::multi_thread().worker_threads(2).enable_all().build());
    std::atomic<bool> waiting{false};
    tcp_listener l =
        rt->block_on([]() -> tako::task<tcp_listener> { co_return co_await listen_local(); });
    rt->spawn([l = &l, w = &waiting]() -> tako::task<void> {
          w->store(true);
          (void)co_await l->accept();
      }).detach();
    while (!waiting.load()) {
        std::this_thread::sleep_for(1ms);
    }
    rt.reset(); // shutdown cancels the task suspended in accept; no hang, no leak
    SUCCEED();
}

// ------------------------------------------------------------------ many connections

TAKO_TEST_MT(tcp, many_concurrent_connections_echo) {
    tcp_listener l = co_await listen_local();
    const socket_address addr = *l.local_addr();
    constexpr int clients = 500;
    auto server = tako::spawn(
        [](tcp_listener* l) -> tako::task<void> {
            tako::join_set<void> conns;
            for (int i = 0; i < clients; ++i) {
                auto a = co_await l->accept();
                if (!a) {
                    ADD_FAILURE() << a.error().message();
                    co_return;
                }
                conns.spawn(echo_once, std::move(a->first));
            }
            while (co_await conns.join_next()) {
            }
        },
        &l);
    tako::join_set<bool> set;
    for (int i = 0; i < clients; ++i) {
        set.spawn(
            [](socket_address addr, int i) -> tako::task<bool> {
                auto c = co_await tcp_stream::connect(addr);
                if (!c) {
                    co_return false;
                }
                const std::string msg = "client " + std::to_string(i);
                if (!co_await c->write_all(msg)) {
                    co_return false;
                }
                std::string back(msg.size(), '\0');
                if (!co_await c->read_exact(std::as_writable_bytes(std::span(back)))) {
                    co_return false;
                }
                co_return back == msg;
            },
            addr, i);
    }
    int ok = 0;
    while (auto r = co_await set.join_next()) {
        ok += (r->has_value() && **r) ? 1 : 0;
    }
    EXPECT_EQ(ok, clients);
    (void)co_await server;
}

// An accept loop out of descriptors neither spins nor fails: connections that arrive while
// the process is at its descriptor limit are served once one frees.
TAKO_TEST_MT(tcp, accept_waits_out_emfile_and_serves_everyone) {
    tcp_listener l = co_await listen_local();
    const socket_address addr = *l.local_addr();
    // Fill the descriptor table up to a low limit, keeping a few for the clients.
    ::rlimit old{};
    ::getrlimit(RLIMIT_NOFILE, &old);
    std::vector<int> hogs;
    int probe = ::dup(0);
    ::close(probe);
    ::rlimit low = old;
    low.rlim_cur = static_cast<rlim_t>(probe + 40);
    TAKO_CO_ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
    // Clients connect first (their sockets take descriptors), then the table is filled.
    constexpr int clients = 8;
    std::vector<tcp_stream> cs;
    for (int i = 0; i < clients; ++i) {
        auto c = co_await tcp_stream::connect(addr);
        TAKO_CO_ASSERT_TRUE(c.has_value()) << c.error().message();
        cs.push_back(std::move(*c));
    }
    for (;;) {
        int fd = ::dup(0);
        if (fd < 0) {
            break;
        }
        hogs.push_back(fd);
    }
    std::atomic<int> served{0};
    auto server = tako::spawn(
        [](tcp_listener* l, std::atomic<int>* served) -> tako::task<void> {
            for (int i = 0; i < clients; ++i) {
                auto a = co_await l->accept(); // EMFILE at first: waits instead of failing
                if (!a) {
                    ADD_FAILURE() << a.error().message();
                    co_return;
                }
                (void)co_await a->first.write_all("ok");
                served->fetch_add(1);
            }
        },
        &l, &served);
    co_await tako::time::sleep(150ms);
    EXPECT_EQ(served.load(), 0); // nothing could be accepted yet, and the server is alive
    EXPECT_FALSE(server.is_finished());
    for (int fd : hogs) {
        ::close(fd); // free the table
    }
    hogs.clear();
    co_await server;
    EXPECT_EQ(served.load(), clients);
    for (auto& c : cs) {
        std::array<std::byte, 2> buf;
        EXPECT_TRUE(co_await c.read_exact(buf));
    }
    ::setrlimit(RLIMIT_NOFILE, &old);
}

// Reads and writes of one stream from tasks on different workers (TSan checks the driver).
TAKO_TEST_MT(tcp, read_and_write_halves_from_different_tasks) {
    auto [a, b] = co_await connected_pair();
    constexpr int rounds = 2000;
    auto reader = tako::spawn(
        [](tcp_stream* s) -> tako::task<std::size_t> {
            std::size_t got = 0;
            std::array<std::byte, 512> buf;
            while (got < rounds * 4U) {
                auto n = co_await s->read(buf);
                if (!n || *n == 0) {
                    break;
                }
                got += *n;
            }
            co_return got;
        },
        &a);
    auto writer = tako::spawn(
        [](tcp_stream* s) -> tako::task<void> {
            for (int i = 0; i < rounds; ++i) {
                if (!co_await s->write_all("abcd")) {
                    co_return;
                }
            }
        },
        &a);
    // b echoes.
    auto echo = tako::spawn(
        [](tcp_stream* s) -> tako::task<void> {
            std::size_t total = 0;
            std::array<std::byte, 512> buf;
            while (total < rounds * 4U) {
                auto n = co_await s->read(buf);
                if (!n || *n == 0) {
                    co_return;
                }
                total += *n;
                (void)co_await s->write_all(std::span(buf).first(*n));
            }
        },
        &b);
    (void)co_await writer;
    (void)co_await echo;
    EXPECT_EQ((co_await reader).value(), rounds * 4U);
}

// ------------------------------------------------------------------ split halves

TAKO_TEST_MT(tcp_split, owned_halves_in_two_tasks_then_reunite) {
    auto [a, b] = co_await connected_pair();
    auto echo = tako::spawn(echo_once, std::move(b));
    auto [rd, wr] = std::move(a).into_split();
    auto writer = tako::spawn(
        [](tako::net::tcp_owned_write_half* w) -> tako::task<bool> {
            for (int i = 0; i < 100; ++i) {
                if (!co_await w->write_all("0123456789")) {
                    co_return false;
                }
            }
            co_return true;
        },
        &wr);
    std::vector<std::byte> got(1000);
    TAKO_CO_ASSERT_TRUE(co_await rd.read_exact(got));
    EXPECT_EQ(text_of(std::span(got).first(10)), "0123456789");
    EXPECT_TRUE((co_await writer).value());
    auto whole = tako::net::reunite(std::move(rd), std::move(wr));
    TAKO_CO_ASSERT_TRUE(whole.has_value());
    TAKO_CO_ASSERT_TRUE(co_await whole->write_all("x"));
    std::array<std::byte, 1> one;
    TAKO_CO_ASSERT_TRUE(co_await whole->read_exact(one));
    whole->close();
    (void)co_await echo;
}

TAKO_TEST(tcp_split, reunite_refuses_halves_of_different_streams) {
    auto [a, b] = co_await connected_pair();
    auto [ra, wa] = std::move(a).into_split();
    auto [rb, wb] = std::move(b).into_split();
    EXPECT_TRUE(ra.is_pair_of(wa));
    EXPECT_FALSE(ra.is_pair_of(wb));
    auto mixed = tako::net::reunite(std::move(ra), std::move(wb));
    TAKO_CO_ASSERT_FALSE(mixed.has_value());
    // The halves come back unchanged and still work.
    auto& [r, w] = mixed.error();
    TAKO_CO_ASSERT_TRUE(co_await w.write_all("ok")); // b's write half: a's read half gets it
    std::array<std::byte, 2> buf;
    TAKO_CO_ASSERT_TRUE(co_await r.read_exact(buf));
    EXPECT_EQ(text_of(buf), "ok");
    TAKO_CO_ASSERT_TRUE(co_await wa.write_all("ok"));
    TAKO_CO_ASSERT_TRUE(co_await rb.read_exact(buf));
}

TAKO_TEST(tcp_split, dropping_the_owned_write_half_shuts_down_writing) {
    auto [a, b] = co_await connected_pair();
    auto [rd, wr] = std::move(a).into_split();
    TAKO_CO_ASSERT_TRUE(co_await wr.write_all("last words"));
    { auto gone = std::move(wr); } // shutdown(write): b sees end of stream
    EXPECT_EQ(co_await read_all(b), "last words");
    // The read half still reads.
    TAKO_CO_ASSERT_TRUE(co_await b.write_all("reply"));
    std::array<std::byte, 5> buf;
    TAKO_CO_ASSERT_TRUE(co_await rd.read_exact(buf));
    EXPECT_EQ(text_of(buf), "reply");
}

TAKO_TEST(tcp_split, borrowed_halves) {
    auto [a, b] = co_await connected_pair();
    auto [rd, wr] = a.split();
    auto [x, y] = co_await tako::join(wr.write_all("both ways"), b.write_all("hello"));
    EXPECT_TRUE(x.has_value() && y.has_value());
    std::array<std::byte, 5> buf;
    TAKO_CO_ASSERT_TRUE(co_await rd.read_exact(buf));
    EXPECT_EQ(text_of(buf), "hello");
    std::array<std::byte, 9> buf2;
    TAKO_CO_ASSERT_TRUE(co_await b.read_exact(buf2));
    EXPECT_EQ(text_of(buf2), "both ways");
}

// A read that loses a timeout leaves its readiness wait behind; a late edge for it must not
// resume the task's next wait (a sleep) early, on a multi_thread runtime where the driver
// fires from another worker. Nothing is lost either: every byte written is read.
TAKO_TEST_MT(tcp, stale_readiness_wake_does_not_end_the_next_sleep) {
    auto [a, b] = co_await connected_pair();
    std::atomic<bool> stop{false};
    auto writer = tako::spawn(
        [](tcp_stream* s, std::atomic<bool>* stop) -> tako::task<int> {
            int sent = 0;
            while (!stop->load()) {
                if (!co_await s->write_all("z")) {
                    break;
                }
                ++sent;
                co_await tako::time::sleep(1ms);
            }
            co_return sent;
        },
        &a, &stop);
    std::size_t got = 0;
    std::array<std::byte, 64> buf;
    for (int i = 0; i < 200; ++i) {
        auto r = co_await tako::time::timeout(1ms, b.read(buf));
        if (r && *r) {
            got += **r;
        }
        const auto t0 = std::chrono::steady_clock::now();
        co_await tako::time::sleep(2ms);
        EXPECT_GE(std::chrono::steady_clock::now() - t0, 1ms) << "iteration " << i;
    }
    stop.store(true);
    const int sent = (co_await writer).value();
    a.close();
    got += (co_await read_all(b)).size();
    EXPECT_EQ(got, static_cast<std::size_t>(sent));
}
