// Loopback tests of tako::net::udp_socket, through the public API.

#include <tako/tako.hpp>
#include <tako/testing.hpp>

#include "test_support.hpp"

#include <array>
#include <string>
#include <string_view>

using namespace std::chrono_literals;
using tako_test::bytes_of;
using tako_test::text_of;
using tako::net::socket_address;
using tako::net::udp_socket;

namespace {

/// A socket on an ephemeral loopback port.
tako::task<udp_socket> bind_local() {
    auto s = co_await udp_socket::bind("127.0.0.1:0");
    EXPECT_TRUE(s.has_value()) << s.error().message();
    co_return std::move(*s);
}

} // namespace

TAKO_TEST(udp, send_to_recv_from_round_trip_reports_the_sender) {
    udp_socket a = co_await bind_local();
    udp_socket b = co_await bind_local();
    const socket_address a_addr = *a.local_addr();
    const socket_address b_addr = *b.local_addr();
    EXPECT_NE(a_addr.port(), 0);
    auto sent = co_await a.send_to(bytes_of("ping"), b_addr);
    TAKO_CO_ASSERT_TRUE(sent.has_value()) << sent.error().message();
    EXPECT_EQ(*sent, 4U);
    std::array<std::byte, 64> buf;
    auto got = co_await b.recv_from(buf);
    TAKO_CO_ASSERT_TRUE(got.has_value()) << got.error().message();
    EXPECT_EQ(text_of(std::span(buf).first(got->first)), "ping");
    EXPECT_EQ(got->second, a_addr);
    // And back, to the address it came from.
    TAKO_CO_ASSERT_TRUE(co_await b.send_to(bytes_of("pong"), got->second));
    auto back = co_await a.recv_from(buf);
    TAKO_CO_ASSERT_TRUE(back.has_value());
    EXPECT_EQ(text_of(std::span(buf).first(back->first)), "pong");
    EXPECT_EQ(back->second, b_addr);
}

TAKO_TEST(udp, datagram_boundaries_are_kept) {
    udp_socket a = co_await bind_local();
    udp_socket b = co_await bind_local();
    const socket_address to = *b.local_addr();
    for (std::string_view m : {"one", "two!", "three"}) {
        TAKO_CO_ASSERT_TRUE(co_await a.send_to(bytes_of(m), to));
    }
    std::array<std::byte, 64> buf;
    for (std::string_view m : {"one", "two!", "three"}) {
        auto got = co_await b.recv_from(buf);
        TAKO_CO_ASSERT_TRUE(got.has_value());
        EXPECT_EQ(text_of(std::span(buf).first(got->first)), m);
    }
}

TAKO_TEST(udp, connected_send_and_recv) {
    udp_socket a = co_await bind_local();
    udp_socket b = co_await bind_local();
    auto unconnected = a.peer_addr();
    EXPECT_EQ(unconnected.error(), std::errc::not_connected);
    TAKO_CO_ASSERT_TRUE(a.connect(*b.local_addr()));
    TAKO_CO_ASSERT_TRUE(b.connect(*a.local_addr()));
    EXPECT_EQ(*a.peer_addr(), *b.local_addr());
    auto n = co_await a.send(bytes_of("hello"));
    TAKO_CO_ASSERT_TRUE(n.has_value()) << n.error().message();
    EXPECT_EQ(*n, 5U);
    std::array<std::byte, 64> buf;
    auto r = co_await b.recv(buf);
    TAKO_CO_ASSERT_TRUE(r.has_value());
    EXPECT_EQ(text_of(std::span(buf).first(*r)), "hello");
    // A datagram from a third socket is dropped by b's connected filter.
    udp_socket c = co_await bind_local();
    TAKO_CO_ASSERT_TRUE(co_await c.send_to(bytes_of("stranger"), *b.local_addr()));
    TAKO_CO_ASSERT_TRUE(co_await a.send(bytes_of("friend")));
    r = co_await b.recv(buf);
    TAKO_CO_ASSERT_TRUE(r.has_value());
    EXPECT_EQ(text_of(std::span(buf).first(*r)), "friend");
}

TAKO_TEST(udp, connect_by_name_tries_each_resolved_address) {
    udp_socket a = co_await bind_local();
    udp_socket b = co_await bind_local();
    // "localhost" may resolve to ::1 first: an IPv4 socket skips it and takes 127.0.0.1.
    const auto port = std::to_string(b.local_addr()->port());
    auto r = co_await a.connect("localhost:" + port);
    TAKO_CO_ASSERT_TRUE(r.has_value()) << r.error().message();
    EXPECT_EQ(*a.peer_addr(), *b.local_addr());
    TAKO_CO_ASSERT_TRUE(co_await a.send(bytes_of("by name")));
    std::array<std::byte, 16> buf;
    auto got = co_await b.recv_from(buf);
    TAKO_CO_ASSERT_TRUE(got.has_value());
    EXPECT_EQ(text_of(std::span(buf).first(got->first)), "by name");
    // Errors: malformed, unresolvable; the socket stays as it was.
    EXPECT_FALSE(co_await a.connect("no port here"));
    EXPECT_FALSE(co_await a.connect("no-such-host.invalid:9"));
    EXPECT_EQ(*a.peer_addr(), *b.local_addr());
}

TAKO_TEST(udp, short_datagrams_do_not_lose_readiness) {
    // Each recv asks for 64 bytes and gets fewer: a stream would take that as "drained";
    // for datagrams the next one must still be received without a new edge.
    udp_socket a = co_await bind_local();
    udp_socket b = co_await bind_local();
    TAKO_CO_ASSERT_TRUE(a.connect(*b.local_addr()));
    TAKO_CO_ASSERT_TRUE(b.connect(*a.local_addr()));
    for (int i = 0; i < 3; ++i) {
        TAKO_CO_ASSERT_TRUE(co_await a.send(bytes_of("x")));
    }
    co_await tako::time::sleep(5ms); // all three queued before the first receive
    std::array<std::byte, 64> buf;
    for (int i = 0; i < 3; ++i) {
        auto r = co_await tako::time::timeout(1s, b.recv(buf));
        TAKO_CO_ASSERT_TRUE(r.has_value()) << "datagram " << i << " not received";
        EXPECT_EQ(r->value(), 1U);
    }
}

TAKO_TEST(udp, try_forms_would_block_then_succeed) {
    udp_socket a = co_await bind_local();
    udp_socket b = co_await bind_local();
    std::array<std::byte, 16> buf;
    auto none = b.try_recv_from(buf);
    TAKO_CO_ASSERT_FALSE(none.has_value());
    EXPECT_EQ(none.error(), std::errc::operation_would_block);
    auto none2 = b.try_recv(buf);
    EXPECT_EQ(none2.error(), std::errc::operation_would_block);
    auto w = a.try_send_to(bytes_of("try"), *b.local_addr());
    TAKO_CO_ASSERT_TRUE(w.has_value()) << w.error().message();
    EXPECT_EQ(*w, 3U);
    auto ready = co_await b.readable();
    TAKO_CO_ASSERT_TRUE(ready.has_value());
    EXPECT_TRUE(ready->is_readable());
    auto got = b.try_recv_from(buf);
    TAKO_CO_ASSERT_TRUE(got.has_value());
    EXPECT_EQ(text_of(std::span(buf).first(got->first)), "try");
    EXPECT_EQ(got->second, *a.local_addr());
    // Connected forms.
    TAKO_CO_ASSERT_TRUE(a.connect(*b.local_addr()));
    auto wr = co_await a.writable();
    TAKO_CO_ASSERT_TRUE(wr.has_value());
    EXPECT_TRUE(wr->is_writable());
    TAKO_CO_ASSERT_TRUE(a.try_send(bytes_of("again")));
    (void)co_await b.readable();
    auto r = b.try_recv(buf);
    TAKO_CO_ASSERT_TRUE(r.has_value());
    EXPECT_EQ(text_of(std::span(buf).first(*r)), "again");
}

TAKO_TEST(udp, peek_from_leaves_the_datagram_queued) {
    udp_socket a = co_await bind_local();
    udp_socket b = co_await bind_local();
    TAKO_CO_ASSERT_TRUE(co_await a.send_to(bytes_of("peeked"), *b.local_addr()));
    std::array<std::byte, 64> buf;
    auto p = co_await b.peek_from(buf);
    TAKO_CO_ASSERT_TRUE(p.has_value());
    EXPECT_EQ(text_of(std::span(buf).first(p->first)), "peeked");
    EXPECT_EQ(p->second, *a.local_addr());
    auto r = co_await b.recv_from(buf);
    TAKO_CO_ASSERT_TRUE(r.has_value());
    EXPECT_EQ(text_of(std::span(buf).first(r->first)), "peeked");
    EXPECT_EQ(b.try_recv(buf).error(), std::errc::operation_would_block);
}

TAKO_TEST(udp, cancelled_recv_leaves_the_socket_usable) {
    udp_socket a = co_await bind_local();
    udp_socket b = co_await bind_local();
    std::array<std::byte, 16> buf;
    auto r = co_await tako::time::timeout(20ms, b.recv_from(buf));
    EXPECT_FALSE(r.has_value()); // timed out: cancelled while suspended
    TAKO_CO_ASSERT_TRUE(co_await a.send_to(bytes_of("after"), *b.local_addr()));
    auto got = co_await b.recv_from(buf);
    TAKO_CO_ASSERT_TRUE(got.has_value());
    EXPECT_EQ(text_of(std::span(buf).first(got->first)), "after");
}

TAKO_TEST(udp, a_datagram_larger_than_the_buffer_is_truncated) {
    udp_socket a = co_await bind_local();
    udp_socket b = co_await bind_local();
    TAKO_CO_ASSERT_TRUE(co_await a.send_to(bytes_of("0123456789"), *b.local_addr()));
    TAKO_CO_ASSERT_TRUE(co_await a.send_to(bytes_of("next"), *b.local_addr()));
    std::array<std::byte, 4> small;
    auto got = co_await b.recv_from(small);
    TAKO_CO_ASSERT_TRUE(got.has_value());
    EXPECT_EQ(got->first, 4U);
    EXPECT_EQ(text_of(small), "0123");
    // The rest of that datagram is gone: the next receive gets the next datagram.
    std::array<std::byte, 16> buf;
    auto next = co_await b.recv_from(buf);
    TAKO_CO_ASSERT_TRUE(next.has_value());
    EXPECT_EQ(text_of(std::span(buf).first(next->first)), "next");
}

TAKO_TEST(udp, options_round_trip) {
    udp_socket s = co_await bind_local();
    EXPECT_FALSE(s.broadcast().value());
    TAKO_CO_ASSERT_TRUE(s.set_broadcast(true));
    EXPECT_TRUE(s.broadcast().value());
    TAKO_CO_ASSERT_TRUE(s.set_ttl(33));
    EXPECT_EQ(s.ttl().value(), 33U);
    TAKO_CO_ASSERT_TRUE(s.set_multicast_ttl_v4(7));
    EXPECT_EQ(s.multicast_ttl_v4().value(), 7U);
    TAKO_CO_ASSERT_TRUE(s.set_multicast_loop_v4(false));
    EXPECT_FALSE(s.multicast_loop_v4().value());
    TAKO_CO_ASSERT_TRUE(s.set_multicast_loop_v4(true));
    EXPECT_TRUE(s.multicast_loop_v4().value());
}

TAKO_TEST(udp, multicast_join_and_leave) {
    udp_socket s = co_await bind_local();
    EXPECT_EQ(s.join_multicast_v4("not an ip", "0.0.0.0").error(), tako::io::errc::invalid_address);
    EXPECT_EQ(s.join_multicast_v4("224.0.0.123", "::1").error(), tako::io::errc::invalid_address);
    auto joined = s.join_multicast_v4("224.0.0.123", "127.0.0.1");
    if (!joined) {
        // A sandbox without a multicast-capable interface: the kernel's error, stated.
        EXPECT_EQ(&joined.error().category(), &std::system_category());
        EXPECT_FALSE(joined.error().message().empty());
        co_return;
    }
    EXPECT_TRUE(s.leave_multicast_v4("224.0.0.123", "127.0.0.1"));
    auto again = s.leave_multicast_v4("224.0.0.123", "127.0.0.1");
    EXPECT_FALSE(again.has_value()); // not a member any more
}

TAKO_TEST(udp, bind_errors_and_closed_socket) {
    auto bad = co_await udp_socket::bind("not an address");
    EXPECT_EQ(bad.error(), tako::io::errc::invalid_address);
    udp_socket a = co_await bind_local();
    auto taken = co_await udp_socket::bind(*a.local_addr());
    TAKO_CO_ASSERT_FALSE(taken.has_value());
    EXPECT_EQ(taken.error(), std::errc::address_in_use);
    udp_socket closed;
    std::array<std::byte, 4> buf;
    EXPECT_EQ((co_await closed.recv(buf)).error(), tako::io::errc::closed);
    EXPECT_EQ(closed.local_addr().error(), tako::io::errc::closed);
    EXPECT_EQ(closed.connect(*a.local_addr()).error(), tako::io::errc::closed);
}

TAKO_TEST(udp, send_without_a_peer_is_an_error_code) {
    udp_socket a = co_await bind_local();
    auto n = co_await a.send(bytes_of("nowhere"));
    TAKO_CO_ASSERT_FALSE(n.has_value());
    EXPECT_EQ(n.error(), std::errc::destination_address_required);
}

TAKO_TEST(udp, ipv6_loopback_round_trip) {
    auto a = co_await udp_socket::bind(socket_address::v6_loopback(0));
    if (!a) {
        co_return; // no IPv6 loopback here (a sandbox): nothing to test
    }
    auto b = co_await udp_socket::bind(socket_address::v6_loopback(0));
    TAKO_CO_ASSERT_TRUE(b.has_value());
    TAKO_CO_ASSERT_TRUE(co_await a->send_to(bytes_of("six"), *b->local_addr()));
    std::array<std::byte, 8> buf;
    auto got = co_await b->recv_from(buf);
    TAKO_CO_ASSERT_TRUE(got.has_value());
    EXPECT_EQ(got->second, *a->local_addr());
    EXPECT_TRUE(got->second.is_ipv6());
}
