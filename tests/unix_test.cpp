// Tests of the Unix domain socket types, through the public API: paths in a temporary
// directory and names in the abstract namespace.

#include <tako/tako.hpp>
#include <tako/testing.hpp>

#include "test_support.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <numeric>
#include <string>
#include <string_view>

using namespace std::chrono_literals;
using tako::net::unix_address;
using tako::net::unix_datagram;
using tako::net::unix_listener;
using tako::net::unix_stream;
using tako_test::bytes_of;
using tako_test::read_all;
using tako_test::text_of;

namespace {

/// A fresh directory for this file's socket paths.
struct temp_dir : tako_test::temp_dir {
    temp_dir() : tako_test::temp_dir("unix") {}
};

/// An abstract name no other test run uses.
std::string abstract_name(std::string_view what) {
    return "@tako-test-" + std::to_string(::getpid()) + "-" + std::string(what);
}

} // namespace

// ------------------------------------------------------------------ addresses

TEST(unix_address, parses_paths_and_abstract_names) {
    auto file = unix_address::from_path("/tmp/x.sock");
    ASSERT_TRUE(file);
    EXPECT_EQ(file->path(), "/tmp/x.sock");
    EXPECT_FALSE(file->is_abstract());
    EXPECT_FALSE(file->is_unnamed());
    EXPECT_EQ(file->to_string(), "/tmp/x.sock");
    auto at = unix_address::from_path("@name");
    ASSERT_TRUE(at);
    EXPECT_TRUE(at->is_abstract());
    EXPECT_EQ(at->abstract_name(), "name");
    EXPECT_EQ(at->path(), "");
    EXPECT_EQ(at->to_string(), "@name");
    auto nul = unix_address::from_path(std::string_view("\0name", 5));
    ASSERT_TRUE(nul);
    EXPECT_EQ(*nul, *at);
    EXPECT_TRUE(unix_address().is_unnamed());
}

TEST(unix_address, malformed_and_too_long_paths_are_clear_errors) {
    EXPECT_EQ(unix_address::from_path("").error(), tako::io::errc::invalid_address);
    EXPECT_EQ(unix_address::from_path(std::string_view("a\0b", 3)).error(),
              tako::io::errc::invalid_address);
    const std::string longest(sizeof(::sockaddr_un::sun_path) - 1, 'p');
    EXPECT_TRUE(unix_address::from_path(longest));
    EXPECT_EQ(unix_address::from_path(longest + "p").error(), std::errc::filename_too_long);
    EXPECT_TRUE(unix_address::from_path("@" + longest));
    EXPECT_EQ(unix_address::from_path("@" + longest + "p").error(), std::errc::filename_too_long);
}

// ------------------------------------------------------------------ unix_stream

TAKO_TEST(unix_stream, pair_round_trip_both_ways) {
    auto p = unix_stream::pair();
    TAKO_CO_ASSERT_TRUE(p.has_value()) << p.error().message();
    auto& [a, b] = *p;
    TAKO_CO_ASSERT_TRUE(co_await a.write_all("ping"));
    std::array<std::byte, 4> buf;
    TAKO_CO_ASSERT_TRUE(co_await b.read_exact(buf));
    EXPECT_EQ(text_of(buf), "ping");
    TAKO_CO_ASSERT_TRUE(co_await b.write_all("pong"));
    TAKO_CO_ASSERT_TRUE(co_await a.read_exact(buf));
    EXPECT_EQ(text_of(buf), "pong");
    EXPECT_TRUE(a.local_addr()->is_unnamed());
    EXPECT_TRUE(a.peer_addr()->is_unnamed());
}

TAKO_TEST(unix_stream, listener_accept_connect_on_a_temp_path) {
    temp_dir dir;
    const std::string path = dir / "server.sock";
    auto l = unix_listener::bind(path);
    TAKO_CO_ASSERT_TRUE(l.has_value()) << l.error().message();
    EXPECT_EQ(l->local_addr()->path(), path);
    auto [client, accepted] = co_await tako::join(unix_stream::connect(path), l->accept());
    TAKO_CO_ASSERT_TRUE(client.has_value()) << client.error().message();
    TAKO_CO_ASSERT_TRUE(accepted.has_value()) << accepted.error().message();
    EXPECT_TRUE(accepted->second.is_unnamed()); // the client did not bind
    EXPECT_EQ(client->peer_addr()->path(), path);
    EXPECT_EQ(accepted->first.local_addr()->path(), path);
    TAKO_CO_ASSERT_TRUE(co_await client->write_all("over a file"));
    std::array<std::byte, 11> buf;
    TAKO_CO_ASSERT_TRUE(co_await accepted->first.read_exact(buf));
    EXPECT_EQ(text_of(buf), "over a file");
    // The socket file stays after the listener closes (documented).
    l->close();
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
}

TAKO_TEST(unix_stream, listener_accept_connect_on_an_abstract_name) {
    const std::string name = abstract_name("listener");
    auto l = unix_listener::bind(name);
    TAKO_CO_ASSERT_TRUE(l.has_value()) << l.error().message();
    EXPECT_TRUE(l->local_addr()->is_abstract());
    EXPECT_EQ(l->local_addr()->to_string(), name);
    auto server = tako::spawn(
        [](unix_listener* l) -> tako::task<void> {
            auto a = co_await l->accept();
            EXPECT_TRUE(a.has_value());
            (void)co_await a->first.write_all("abstract hello");
        },
        &*l);
    auto c = co_await unix_stream::connect(name);
    TAKO_CO_ASSERT_TRUE(c.has_value()) << c.error().message();
    EXPECT_EQ(co_await read_all(*c), "abstract hello");
    (void)co_await server;
}

TAKO_TEST(unix_stream, connect_to_nothing_is_an_error_code) {
    temp_dir dir;
    auto missing = co_await unix_stream::connect(dir / "nobody.sock");
    EXPECT_EQ(missing.error(), std::errc::no_such_file_or_directory);
    auto abstract = co_await unix_stream::connect(abstract_name("nobody"));
    EXPECT_EQ(abstract.error(), std::errc::connection_refused);
    auto bad = co_await unix_stream::connect("");
    EXPECT_EQ(bad.error(), tako::io::errc::invalid_address);
    auto too_long = co_await unix_stream::connect(std::string(200, 'x'));
    EXPECT_EQ(too_long.error(), std::errc::filename_too_long);
}

TAKO_TEST(unix_stream, bind_errors) {
    temp_dir dir;
    const std::string path = dir / "taken.sock";
    auto first = unix_listener::bind(path);
    TAKO_CO_ASSERT_TRUE(first.has_value());
    auto second = unix_listener::bind(path);
    TAKO_CO_ASSERT_FALSE(second.has_value());
    EXPECT_EQ(second.error(), std::errc::address_in_use);
    const std::string name = abstract_name("taken");
    auto a = unix_listener::bind(name);
    TAKO_CO_ASSERT_TRUE(a.has_value());
    EXPECT_EQ(unix_listener::bind(name).error(), std::errc::address_in_use);
    EXPECT_EQ(unix_listener::bind(std::string(300, 'y')).error(), std::errc::filename_too_long);
    EXPECT_EQ(unix_listener::bind("").error(), tako::io::errc::invalid_address);
    EXPECT_EQ(unix_listener::bind(dir / "no/such/dir.sock").error(),
              std::errc::no_such_file_or_directory);
}

TAKO_TEST(unix_stream, half_close_peer_reads_everything_sent_before_shutdown) {
    auto p = unix_stream::pair();
    TAKO_CO_ASSERT_TRUE(p.has_value());
    auto& [a, b] = *p;
    std::string big(300'000, 'x');
    std::iota(big.begin(), big.end(), 'a');
    auto writer = tako::spawn(
        [](unix_stream* a, std::string* data) -> tako::task<void> {
            EXPECT_TRUE(co_await a->write_all(*data));
            EXPECT_TRUE(a->shutdown(tako::net::shutdown_how::write));
        },
        &a, &big);
    const std::string got = co_await read_all(b);
    EXPECT_TRUE(got == big);
    (void)co_await writer;
    TAKO_CO_ASSERT_TRUE(co_await b.write_all("bye"));
    b.close();
    EXPECT_EQ(co_await read_all(a), "bye");
    auto n = co_await a.write(bytes_of("late"));
    EXPECT_FALSE(n.has_value()); // our write side is shut: broken_pipe, no SIGPIPE
}

TAKO_TEST(unix_stream, peer_credentials_are_this_process) {
    auto p = unix_stream::pair();
    TAKO_CO_ASSERT_TRUE(p.has_value());
    auto cred = p->first.peer_cred();
    TAKO_CO_ASSERT_TRUE(cred.has_value()) << cred.error().message();
    EXPECT_EQ(cred->pid, ::getpid());
    EXPECT_EQ(cred->uid, ::getuid());
    EXPECT_EQ(cred->gid, ::getgid());
    const std::string name = abstract_name("cred");
    auto l = unix_listener::bind(name);
    TAKO_CO_ASSERT_TRUE(l.has_value());
    auto [c, a] = co_await tako::join(unix_stream::connect(name), l->accept());
    TAKO_CO_ASSERT_TRUE(c.has_value());
    TAKO_CO_ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->first.peer_cred()->pid, ::getpid());
    EXPECT_EQ(c->peer_cred()->uid, ::getuid());
}

TAKO_TEST(unix_stream, try_forms_peek_and_readiness) {
    auto p = unix_stream::pair();
    TAKO_CO_ASSERT_TRUE(p.has_value());
    auto& [a, b] = *p;
    std::array<std::byte, 8> buf;
    EXPECT_EQ(b.try_read(buf).error(), std::errc::operation_would_block);
    auto w = a.try_write(bytes_of("ping"));
    TAKO_CO_ASSERT_TRUE(w.has_value());
    EXPECT_EQ(*w, 4U);
    auto r = co_await b.readable();
    TAKO_CO_ASSERT_TRUE(r.has_value());
    EXPECT_TRUE(r->is_readable());
    std::array<std::byte, 4> peeked;
    EXPECT_EQ((co_await b.peek(peeked)).value(), 4U);
    auto n = b.try_read(buf);
    TAKO_CO_ASSERT_TRUE(n.has_value());
    EXPECT_EQ(text_of(std::span(buf).first(*n)), "ping");
    auto wr = co_await a.writable();
    EXPECT_TRUE(wr.value().is_writable());
}

TAKO_TEST(unix_stream, vectored_io) {
    auto p = unix_stream::pair();
    TAKO_CO_ASSERT_TRUE(p.has_value());
    auto& [a, b] = *p;
    std::string h = "head:", t = "tail";
    ::iovec out[2] = {{h.data(), h.size()}, {t.data(), t.size()}};
    EXPECT_EQ((co_await a.write_vectored(out)).value(), 9U);
    char x[5], y[4];
    ::iovec in[2] = {{x, sizeof x}, {y, sizeof y}};
    EXPECT_EQ((co_await b.read_vectored(in)).value(), 9U);
    EXPECT_EQ(std::string(x, 5) + std::string(y, 4), "head:tail");
}

TAKO_TEST(unix_stream, cancelled_read_leaves_the_stream_usable) {
    auto p = unix_stream::pair();
    TAKO_CO_ASSERT_TRUE(p.has_value());
    auto& [a, b] = *p;
    std::array<std::byte, 16> buf;
    auto r = co_await tako::time::timeout(20ms, b.read(buf));
    EXPECT_FALSE(r.has_value());
    TAKO_CO_ASSERT_TRUE(co_await a.write_all("after"));
    auto n = co_await b.read(buf);
    TAKO_CO_ASSERT_TRUE(n.has_value());
    EXPECT_EQ(text_of(std::span(buf).first(*n)), "after");
}

TAKO_TEST(unix_stream, cancelled_accept_takes_no_connection) {
    const std::string name = abstract_name("cancel-accept");
    auto l = unix_listener::bind(name);
    TAKO_CO_ASSERT_TRUE(l.has_value());
    auto r = co_await tako::time::timeout(10ms, l->accept());
    EXPECT_FALSE(r.has_value());
    auto c = co_await unix_stream::connect(name);
    TAKO_CO_ASSERT_TRUE(c.has_value());
    auto a = co_await l->accept();
    TAKO_CO_ASSERT_TRUE(a.has_value());
    TAKO_CO_ASSERT_TRUE(co_await c->write_all("x"));
    std::array<std::byte, 1> buf;
    TAKO_CO_ASSERT_TRUE(co_await a->first.read_exact(buf));
}

// ------------------------------------------------------------------ unix_datagram

TAKO_TEST(unix_datagram, pair_send_and_recv) {
    auto p = unix_datagram::pair();
    TAKO_CO_ASSERT_TRUE(p.has_value()) << p.error().message();
    auto& [a, b] = *p;
    for (std::string_view m : {"one", "two!", "three"}) {
        TAKO_CO_ASSERT_TRUE(co_await a.send(bytes_of(m)));
    }
    std::array<std::byte, 64> buf;
    for (std::string_view m : {"one", "two!", "three"}) {
        auto r = co_await tako::time::timeout(1s, b.recv(buf));
        TAKO_CO_ASSERT_TRUE(r.has_value()); // short datagrams keep readiness
        TAKO_CO_ASSERT_TRUE(r->has_value());
        EXPECT_EQ(text_of(std::span(buf).first(**r)), m);
    }
    EXPECT_EQ(b.try_recv(buf).error(), std::errc::operation_would_block);
}

TAKO_TEST(unix_datagram, send_to_and_recv_from_on_paths) {
    temp_dir dir;
    const std::string server_path = dir / "server.dgram";
    const std::string client_path = dir / "client.dgram";
    auto server = unix_datagram::bind(server_path);
    TAKO_CO_ASSERT_TRUE(server.has_value()) << server.error().message();
    auto client = unix_datagram::bind(client_path);
    TAKO_CO_ASSERT_TRUE(client.has_value());
    TAKO_CO_ASSERT_TRUE(co_await client->send_to(bytes_of("request"), server_path));
    std::array<std::byte, 64> buf;
    auto got = co_await server->recv_from(buf);
    TAKO_CO_ASSERT_TRUE(got.has_value()) << got.error().message();
    EXPECT_EQ(text_of(std::span(buf).first(got->first)), "request");
    EXPECT_EQ(got->second.path(), client_path);
    TAKO_CO_ASSERT_TRUE(co_await server->send_to(bytes_of("reply"), got->second));
    auto back = co_await client->recv_from(buf);
    TAKO_CO_ASSERT_TRUE(back.has_value());
    EXPECT_EQ(text_of(std::span(buf).first(back->first)), "reply");
    EXPECT_EQ(back->second.path(), server_path);
    EXPECT_EQ(unix_datagram::bind(server_path).error(), std::errc::address_in_use);
}

TAKO_TEST(unix_datagram, unbound_sender_abstract_receiver_and_try_forms) {
    const std::string name = abstract_name("dgram");
    auto server = unix_datagram::bind(name);
    TAKO_CO_ASSERT_TRUE(server.has_value());
    auto sender = unix_datagram::unbound();
    TAKO_CO_ASSERT_TRUE(sender.has_value());
    std::array<std::byte, 16> buf;
    EXPECT_EQ(server->try_recv_from(buf).error(), std::errc::operation_would_block);
    const unix_address to = *unix_address::from_path(name);
    TAKO_CO_ASSERT_TRUE(sender->try_send_to(bytes_of("anon"), to));
    (void)co_await server->readable();
    auto got = server->try_recv_from(buf);
    TAKO_CO_ASSERT_TRUE(got.has_value());
    EXPECT_EQ(text_of(std::span(buf).first(got->first)), "anon");
    EXPECT_TRUE(got->second.is_unnamed());
    // Connected forms.
    EXPECT_EQ(sender->peer_addr().error(), std::errc::not_connected);
    TAKO_CO_ASSERT_TRUE(sender->connect(name));
    EXPECT_EQ(sender->peer_addr()->to_string(), name);
    TAKO_CO_ASSERT_TRUE(sender->try_send(bytes_of("conn")));
    TAKO_CO_ASSERT_TRUE(co_await sender->send(bytes_of("ected")));
    auto r1 = co_await server->recv(buf);
    EXPECT_EQ(text_of(std::span(buf).first(r1.value())), "conn");
    (void)co_await server->readable();
    auto r2 = server->try_recv(buf);
    EXPECT_EQ(text_of(std::span(buf).first(r2.value())), "ected");
    EXPECT_EQ(sender->connect(abstract_name("nobody")).error(), std::errc::connection_refused);
    EXPECT_EQ(sender->connect("").error(), tako::io::errc::invalid_address);
}

TAKO_TEST(unix_datagram, a_datagram_larger_than_the_buffer_is_truncated) {
    auto p = unix_datagram::pair();
    TAKO_CO_ASSERT_TRUE(p.has_value());
    auto& [a, b] = *p;
    TAKO_CO_ASSERT_TRUE(co_await a.send(bytes_of("0123456789")));
    TAKO_CO_ASSERT_TRUE(co_await a.send(bytes_of("next")));
    std::array<std::byte, 4> small;
    EXPECT_EQ((co_await b.recv(small)).value(), 4U);
    EXPECT_EQ(text_of(small), "0123");
    std::array<std::byte, 16> buf;
    auto n = co_await b.recv(buf);
    EXPECT_EQ(text_of(std::span(buf).first(n.value())), "next");
}

TAKO_TEST(unix_datagram, cancelled_recv_leaves_the_socket_usable) {
    auto p = unix_datagram::pair();
    TAKO_CO_ASSERT_TRUE(p.has_value());
    auto& [a, b] = *p;
    std::array<std::byte, 16> buf;
    auto r = co_await tako::time::timeout(20ms, b.recv_from(buf));
    EXPECT_FALSE(r.has_value());
    TAKO_CO_ASSERT_TRUE(co_await a.send(bytes_of("after")));
    auto got = co_await b.recv_from(buf);
    TAKO_CO_ASSERT_TRUE(got.has_value());
    EXPECT_EQ(text_of(std::span(buf).first(got->first)), "after");
}

TAKO_TEST(unix_datagram, send_to_a_malformed_path_is_a_clear_error) {
    auto s = unix_datagram::unbound();
    TAKO_CO_ASSERT_TRUE(s.has_value());
    auto too_long = co_await s->send_to(bytes_of("x"), std::string(500, 'z'));
    EXPECT_EQ(too_long.error(), std::errc::filename_too_long);
    auto empty = co_await s->send_to(bytes_of("x"), std::string());
    EXPECT_EQ(empty.error(), tako::io::errc::invalid_address);
    EXPECT_EQ(unix_datagram::bind("").error(), tako::io::errc::invalid_address);
}
