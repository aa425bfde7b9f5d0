// Drives the built examples/proxy in front of an echo server (served by this test) with
// sockets on 127.0.0.1: data both ways, half-close passed on in each direction, a reset on
// either side, an unreachable upstream, for the splice and the buffered path.

#include <tako/tako.hpp>
#include <tako/testing.hpp>

#include "test_support.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#ifndef TAKO_PROXY_BIN
#error "TAKO_PROXY_BIN must name the built proxy example"
#endif

extern char** environ;

namespace {

namespace io = tako::io;
using tako::net::tcp_listener;
using tako::net::tcp_stream;

/// The proxy process: started in front of 127.0.0.1:`upstream_port`, stopped (SIGTERM) when
/// destroyed.
class proxy_process {
public:
    proxy_process(std::uint16_t upstream_port, bool buffered) {
        int out[2];
        EXPECT_EQ(::pipe2(out, O_CLOEXEC), 0);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, out[1], 1);
        std::string bin = TAKO_PROXY_BIN;
        std::string listen = "0";
        std::string upstream = "127.0.0.1:" + std::to_string(upstream_port);
        std::string flag = "--buffered";
        std::vector<char*> argv{bin.data(), listen.data(), upstream.data()};
        if (buffered) {
            argv.push_back(flag.data());
        }
        argv.push_back(nullptr);
        EXPECT_EQ(posix_spawn(&pid_, bin.c_str(), &actions, nullptr, argv.data(), environ), 0);
        posix_spawn_file_actions_destroy(&actions);
        ::close(out[1]);
        // "listening on PORT\n", within 10 s.
        std::string line;
        pollfd p{out[0], POLLIN, 0};
        while (line.find('\n') == std::string::npos && ::poll(&p, 1, 10000) > 0) {
            char buf[64];
            const long n = ::read(out[0], buf, sizeof buf);
            if (n <= 0) {
                break;
            }
            line.append(buf, static_cast<std::size_t>(n));
        }
        ::close(out[0]);
        const std::string prefix = "listening on ";
        EXPECT_EQ(line.rfind(prefix, 0), 0U) << line;
        if (line.rfind(prefix, 0) == 0) {
            port_ = static_cast<std::uint16_t>(std::stoi(line.substr(prefix.size())));
        }
    }
    proxy_process(const proxy_process&) = delete;
    proxy_process& operator=(const proxy_process&) = delete;
    ~proxy_process() {
        ::kill(pid_, SIGTERM);
        int status = 0;
        ::waitpid(pid_, &status, 0);
    }
    [[nodiscard]] std::string addr() const { return "127.0.0.1:" + std::to_string(port_); }
    /// True while the process runs.
    [[nodiscard]] bool alive() const { return ::waitpid(pid_, nullptr, WNOHANG) == 0; }

private:
    pid_t pid_ = -1;
    std::uint16_t port_ = 0;
};

std::string random_text(std::size_t n, unsigned seed) {
    std::mt19937 gen(seed);
    std::string s(n, '\0');
    for (auto& c : s) {
        c = static_cast<char>(gen() & 0xff);
    }
    return s;
}

/// Closes `s` with a reset (SO_LINGER 0) instead of a FIN.
void reset(tcp_stream& s) {
    const ::linger l{1, 0};
    ::setsockopt(s.native_handle(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
    s.close();
}

/// What the upstream does with each connection.
enum class upstream_kind {
    echo,        ///< echoes until end of stream, then closes
    reply_after, ///< reads to end of stream, then sends "reply after eof" and closes
    reset_after, ///< reads the first bytes, then resets the connection
};

tako::task<void> serve_one(tcp_stream s, upstream_kind kind) {
    if (kind == upstream_kind::echo) {
        std::vector<std::byte> buf(65536);
        for (;;) {
            auto n = co_await s.read(buf);
            if (!n || *n == 0) {
                break;
            }
            if (!co_await s.write_all(std::span<const std::byte>(buf).first(*n))) {
                break;
            }
        }
        (void)s.shutdown(tako::net::shutdown_how::write);
    } else if (kind == upstream_kind::reply_after) {
        std::string got;
        (void)co_await io::read_to_string(s, got);
        (void)co_await s.write_all("reply after eof (" + std::to_string(got.size()) + ")");
    } else {
        std::array<std::byte, 1> one{};
        (void)co_await s.read(one);
        reset(s);
    }
}

/// An upstream on 127.0.0.1 serving every connection as `kind` until the test ends.
struct upstream {
    tcp_listener listener;
    std::uint16_t port;
};

tako::task<upstream> start_upstream() {
    auto l = co_await tcp_listener::bind("127.0.0.1:0");
    EXPECT_TRUE(l.has_value());
    const auto port = l->local_addr()->port();
    co_return upstream{std::move(*l), port};
}

tako::task<void> accept_loop(tcp_listener& l, upstream_kind kind) {
    for (;;) {
        auto a = co_await l.accept();
        if (a) {
            tako::spawn(serve_one(std::move(a->first), kind)).detach();
        }
    }
}

/// Sends `payload` through the proxy, half-closes, and reads everything back.
tako::task<std::string> round_trip(std::string addr, std::string payload) {
    auto c = co_await tcp_stream::connect(addr);
    EXPECT_TRUE(c.has_value());
    if (!c) {
        co_return "";
    }
    auto send = [&]() -> tako::task<void> {
        EXPECT_TRUE(co_await c->write_all(payload));
        EXPECT_TRUE(c->shutdown(tako::net::shutdown_how::write).has_value());
    };
    auto [sent, got] = co_await tako::join(send(), tako_test::read_all(*c));
    (void)sent;
    co_return got;
}

tako::task<void> both_ways(bool buffered) {
    auto up = co_await start_upstream();
    proxy_process proxy(up.port, buffered);
    auto serving = tako::spawn(accept_loop(up.listener, upstream_kind::echo));
    const auto payload = random_text(4U << 20, buffered ? 1 : 2);
    EXPECT_TRUE(co_await round_trip(proxy.addr(), payload) == payload);
    serving.abort();
    (void)co_await std::move(serving);
}

TAKO_TEST_MT(proxy_example, echoes_four_mib_both_ways_through_splice) {
    co_await both_ways(false);
}

TAKO_TEST_MT(proxy_example, echoes_four_mib_both_ways_through_the_buffer) {
    co_await both_ways(true);
}

TAKO_TEST_MT(proxy_example, half_close_is_passed_on_and_the_reply_comes_back) {
    auto up = co_await start_upstream();
    proxy_process proxy(up.port, false);
    auto serving = tako::spawn(accept_loop(up.listener, upstream_kind::reply_after));
    EXPECT_EQ(co_await round_trip(proxy.addr(), "hello"), "reply after eof (5)");
    // Many at once.
    std::vector<tako::join_handle<std::string>> clients;
    for (int i = 0; i < 40; ++i) {
        clients.push_back(tako::spawn(round_trip(proxy.addr(), std::string(i, 'x'))));
    }
    for (int i = 0; i < 40; ++i) {
        auto got = co_await std::move(clients[i]);
        EXPECT_EQ(got.value_or(""), "reply after eof (" + std::to_string(i) + ")");
    }
    serving.abort();
    (void)co_await std::move(serving);
}

TAKO_TEST_MT(proxy_example, an_upstream_reset_closes_the_client_and_the_proxy_goes_on) {
    auto up = co_await start_upstream();
    proxy_process proxy(up.port, false);
    auto serving = tako::spawn(accept_loop(up.listener, upstream_kind::reset_after));
    auto c = co_await tcp_stream::connect(proxy.addr());
    TAKO_CO_ASSERT(c.has_value());
    TAKO_CO_ASSERT(co_await c->write_all("x"));
    // The client's connection ends (end of stream or reset), well before the timeout.
    std::array<std::byte, 16> buf{};
    auto r = co_await tako::time::timeout(std::chrono::seconds(20), c->read(buf));
    TAKO_CO_ASSERT(r.has_value());
    EXPECT_TRUE(!*r || **r == 0);
    EXPECT_TRUE(proxy.alive());
    serving.abort();
    (void)co_await std::move(serving);
}

TAKO_TEST_MT(proxy_example, a_client_reset_closes_the_upstream_side) {
    auto up = co_await start_upstream();
    proxy_process proxy(up.port, false);
    auto c = co_await tcp_stream::connect(proxy.addr());
    TAKO_CO_ASSERT(c.has_value());
    auto accepted = co_await tako::time::timeout(std::chrono::seconds(20), up.listener.accept());
    TAKO_CO_ASSERT(accepted.has_value() && accepted->has_value());
    tcp_stream& server_side = (*accepted)->first;
    TAKO_CO_ASSERT(co_await c->write_all("partial"));
    std::array<std::byte, 7> seen{};
    TAKO_CO_ASSERT(co_await io::read_exact(server_side, seen));
    reset(*c);
    // The proxy passes the end on: the upstream's read ends (end of stream or error).
    std::string rest;
    auto r = co_await tako::time::timeout(std::chrono::seconds(20),
                                          io::read_to_string(server_side, rest));
    TAKO_CO_ASSERT(r.has_value());
    EXPECT_TRUE(rest.empty());
    EXPECT_TRUE(proxy.alive());
    // And it still serves.
    auto serving = tako::spawn(accept_loop(up.listener, upstream_kind::echo));
    EXPECT_EQ(co_await round_trip(proxy.addr(), "still here"), "still here");
    serving.abort();
    (void)co_await std::move(serving);
}

TAKO_TEST_MT(proxy_example, an_unreachable_upstream_closes_the_client) {
    std::uint16_t dead_port = 0;
    {
        auto l = co_await tcp_listener::bind("127.0.0.1:0");
        TAKO_CO_ASSERT(l.has_value());
        dead_port = l->local_addr()->port();
    } // closed: connecting there is refused
    proxy_process proxy(dead_port, false);
    auto c = co_await tcp_stream::connect(proxy.addr());
    TAKO_CO_ASSERT(c.has_value());
    std::array<std::byte, 16> buf{};
    auto r = co_await tako::time::timeout(std::chrono::seconds(20), c->read(buf));
    TAKO_CO_ASSERT(r.has_value());
    EXPECT_TRUE(!*r || **r == 0);
}

} // namespace
