// tcp_socket (options before connect/listen) and 10,000 connections open at once.

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <tako/tako.hpp>
#include <tako/net/tcp_socket.hpp>
#include <tako/testing.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <string>

#include "test_support.hpp"

using namespace std::chrono_literals;
using tako::net::socket_address;
using tako::net::tcp_listener;
using tako::net::tcp_socket;
using tako::net::tcp_stream;
using tako_test::text_of;

namespace {

socket_address loopback(std::uint16_t port = 0) {
    return *socket_address::parse("127.0.0.1:" + std::to_string(port));
}

tako::task<void> echo_once(tcp_stream s) {
    std::array<std::byte, 64> buf;
    auto n = co_await s.read(buf);
    if (n && *n > 0) {
        (void)co_await s.write_all(std::span(buf).first(*n));
    }
}

} // namespace

TEST(tcp_socket, options_round_trip) {
    auto s = tcp_socket::new_v4();
    ASSERT_TRUE(s) << s.error().message();
    ASSERT_TRUE(s->set_reuseaddr(true));
    EXPECT_TRUE(*s->reuseaddr());
    ASSERT_TRUE(s->set_reuseport(true));
    EXPECT_TRUE(*s->reuseport());
    ASSERT_TRUE(s->set_keepalive(true));
    EXPECT_TRUE(*s->keepalive());
    ASSERT_TRUE(s->set_keepalive(false));
    EXPECT_FALSE(*s->keepalive());
    ASSERT_TRUE(s->set_nodelay(true));
    EXPECT_TRUE(*s->nodelay());
    ASSERT_TRUE(s->set_send_buffer_size(64 * 1024));
    EXPECT_GE(*s->send_buffer_size(), 64u * 1024); // the kernel doubles it
    ASSERT_TRUE(s->set_recv_buffer_size(32 * 1024));
    EXPECT_GE(*s->recv_buffer_size(), 32u * 1024);
    ASSERT_TRUE(s->set_linger(std::chrono::seconds(3)));
    EXPECT_EQ(*s->linger(), std::optional(std::chrono::seconds(3)));
    ASSERT_TRUE(s->set_linger(std::nullopt));
    EXPECT_EQ(*s->linger(), std::nullopt);
    ASSERT_TRUE(s->bind_device("lo")) << "SO_BINDTODEVICE";
    EXPECT_EQ(*s->device(), std::optional<std::string>("lo"));
    auto missing = s->bind_device("no-such-if0");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error(), std::errc::no_such_device);
    EXPECT_EQ(s->bind_device(std::string(64, 'x')).error(), std::errc::invalid_argument);
    EXPECT_EQ(*s->take_error(), std::nullopt);
    auto v6 = tcp_socket::new_v6();
    ASSERT_TRUE(v6);
    EXPECT_EQ(v6->local_addr()->family(), AF_INET6);
}

TEST(tcp_socket, a_moved_from_socket_reports_closed) {
    auto s = tcp_socket::new_v4();
    ASSERT_TRUE(s);
    tcp_socket t = std::move(*s);
    EXPECT_GE(t.native_handle(), 0);
    EXPECT_EQ(s->set_reuseaddr(true).error(), tako::io::errc::closed);
    EXPECT_EQ(s->bind(loopback()).error(), tako::io::errc::closed);
    EXPECT_EQ(std::move(*s).listen().error(), tako::io::errc::closed);
    EXPECT_EQ(s->device().error(), tako::io::errc::closed);
    EXPECT_EQ(tcp_socket::from_fd(-1).error(), std::errc::bad_file_descriptor);
}

TAKO_TEST(tcp_socket, bind_listen_connect_round_trip) {
    auto server = tcp_socket::new_v4();
    TAKO_CO_ASSERT(server);
    TAKO_CO_ASSERT(server->bind(loopback()));
    const socket_address addr = *server->local_addr();
    EXPECT_NE(addr.port(), 0);
    auto listener = std::move(*server).listen(16);
    TAKO_CO_ASSERT(listener) << listener.error().message();
    EXPECT_EQ(*listener->local_addr(), addr);
    auto accept = tako::spawn([](tcp_listener* l) -> tako::task<void> {
        auto a = co_await l->accept();
        if (a) {
            co_await echo_once(std::move(a->first));
        }
    }, &*listener);
    auto client = tcp_socket::new_v4();
    TAKO_CO_ASSERT(client);
    TAKO_CO_ASSERT(client->set_nodelay(true));
    TAKO_CO_ASSERT(client->bind(loopback())); // a chosen local address before connecting
    const socket_address local = *client->local_addr();
    auto stream = co_await std::move(*client).connect(addr);
    TAKO_CO_ASSERT(stream) << stream.error().message();
    EXPECT_EQ(*stream->local_addr(), local);
    EXPECT_TRUE(*stream->nodelay()); // options set before connect carry over
    TAKO_CO_ASSERT(co_await stream->write_all("ping"));
    std::array<std::byte, 4> back;
    TAKO_CO_ASSERT(co_await stream->read_exact(back));
    EXPECT_EQ(text_of(back), "ping");
    (void)co_await accept;
}

TAKO_TEST(tcp_socket, reuseport_lets_two_listeners_share_a_port) {
    auto a = tcp_socket::new_v4();
    TAKO_CO_ASSERT(a && a->set_reuseport(true) && a->bind(loopback()));
    const auto addr = *a->local_addr();
    auto b = tcp_socket::new_v4();
    TAKO_CO_ASSERT(b && b->set_reuseport(true));
    TAKO_CO_ASSERT(b->bind(addr)) << "second bind with SO_REUSEPORT";
    auto la = std::move(*a).listen();
    auto lb = std::move(*b).listen();
    TAKO_CO_ASSERT(la && lb);
    // Without the option the port is taken.
    auto c = tcp_socket::new_v4();
    TAKO_CO_ASSERT(c);
    EXPECT_EQ(c->bind(addr).error(), std::errc::address_in_use);
    co_return;
}

TAKO_TEST(tcp_socket, connect_errors_close_the_socket) {
    auto probe = tcp_socket::new_v4();
    TAKO_CO_ASSERT(probe && probe->bind(loopback()));
    const auto unused = *probe->local_addr(); // bound, not listening: connections refused
    auto s = tcp_socket::new_v4();
    TAKO_CO_ASSERT(s);
    auto r = co_await std::move(*s).connect(unused);
    TAKO_CO_ASSERT(!r);
    EXPECT_EQ(r.error(), std::errc::connection_refused);
    EXPECT_EQ(s->native_handle(), -1); // consumed
}

namespace {

std::size_t open_descriptors() {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
        ++n;
    }
    return n;
}

} // namespace

// Connects aborted at every point (before the task runs, during the handshake, after it)
// leave no descriptor behind. (A handshake that stays suspended cannot be staged here: this
// machine's loopback completes handshakes even with the listener's backlog full.)
TAKO_TEST_MT(tcp_socket, aborted_connects_leak_no_descriptor) {
    auto l = tcp_socket::new_v4();
    TAKO_CO_ASSERT(l && l->bind(loopback()));
    const auto addr = *l->local_addr();
    auto listener = std::move(*l).listen(1024);
    TAKO_CO_ASSERT(listener);
    const auto before = open_descriptors();
    // Accepted connections are closed at once, so the backlog never fills.
    auto acceptor = tako::spawn([](tcp_listener* l) -> tako::task<void> {
        while (co_await l->accept()) {
        }
    }, &*listener);
    int connected = 0;
    for (int i = 0; i < 300; ++i) {
        auto s = tcp_socket::new_v4();
        TAKO_CO_ASSERT(s);
        auto h = tako::spawn([](tcp_socket s, socket_address a) -> tako::task<bool> {
            auto c = co_await std::move(s).connect(a);
            co_return c.has_value();
        }, std::move(*s), addr);
        for (int y = 0; y < i % 3; ++y) {
            co_await tako::yield_now();
        }
        h.abort();
        auto r = co_await h;
        connected += (r && *r) ? 1 : 0;
    }
    acceptor.abort();
    (void)co_await acceptor;
    EXPECT_EQ(open_descriptors(), before) << connected << " of 300 finished before the abort";
}

namespace {

/// The client side of the many-connections test, in a forked child: plain blocking
/// sockets, syscalls only (the parent has threads). Connects `n` times, then, with every
/// connection open, sends a byte on each and reads its echo. Exit status 0 on success.
[[noreturn]] void hold_connections(const socket_address& addr, int n, int* fds) {
    for (int i = 0; i < n; ++i) {
        fds[i] = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fds[i] < 0 || ::connect(fds[i], addr.data(), addr.size()) < 0) {
            ::_exit(10);
        }
    }
    for (int i = 0; i < n; ++i) {
        if (::write(fds[i], "x", 1) != 1) {
            ::_exit(11);
        }
    }
    for (int i = 0; i < n; ++i) {
        char b = 0;
        if (::read(fds[i], &b, 1) != 1 || b != 'x') {
            ::_exit(12);
        }
    }
    ::_exit(0);
}

} // namespace

// Ten thousand connections open at once, each served by its own task. The clients live in
// a child process, so each side needs 10,000 descriptors (the test raises its soft limit).
TAKO_TEST_MT(tcp_many, ten_thousand_connections_at_once) {
    constexpr int n = 10'000;
    ::rlimit old{};
    ::getrlimit(RLIMIT_NOFILE, &old);
    ::rlimit want = old;
    want.rlim_cur = std::max<rlim_t>(old.rlim_cur, n + 512);
    if (want.rlim_cur > want.rlim_max || ::setrlimit(RLIMIT_NOFILE, &want) != 0) {
        [&] { GTEST_SKIP() << "cannot raise RLIMIT_NOFILE to " << want.rlim_cur; }();
        co_return;
    }
    struct restore {
        ::rlimit old;
        ~restore() { ::setrlimit(RLIMIT_NOFILE, &old); }
    } restore_limit{old};

    auto socket = tcp_socket::new_v4();
    TAKO_CO_ASSERT(socket && socket->bind(loopback()));
    auto listener = std::move(*socket).listen(4096);
    TAKO_CO_ASSERT(listener);
    const auto addr = *listener->local_addr();
    // The server: one task per connection, each waiting for its client's byte; every
    // connection stays open until the client has all of them open.
    auto server = tako::spawn([](tcp_listener* l) -> tako::task<int> {
        tako::join_set<void> conns;
        int accepted = 0;
        for (; accepted < n; ++accepted) {
            auto a = co_await l->accept();
            if (!a) {
                ADD_FAILURE() << a.error().message();
                break;
            }
            conns.spawn(echo_once, std::move(a->first));
        }
        while (co_await conns.join_next()) {
        }
        co_return accepted;
    }, &*listener);
    std::vector<int> fds(n); // allocated before the fork: the child only makes syscalls
    const pid_t child = ::fork();
    TAKO_CO_ASSERT(child >= 0);
    if (child == 0) {
        hold_connections(addr, n, fds.data());
    }
    const int status = tako::unwrap(co_await tako::spawn_blocking([child] {
        int st = 0;
        return ::waitpid(child, &st, 0) == child ? st : -1;
    }));
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "client status " << status;
    auto accepted = co_await tako::time::timeout(60s, std::move(server));
    TAKO_CO_ASSERT(accepted.has_value());
    EXPECT_EQ(**accepted, n);
}
