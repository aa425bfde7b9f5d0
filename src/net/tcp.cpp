// tcp_stream and tcp_listener over io_source.

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "net/socket_ops.hpp"
#include "net/socket_util.hpp"
#include "tako/net/tcp_listener.hpp"
#include "tako/net/tcp_socket.hpp"
#include "tako/net/tcp_stream.hpp"

namespace tako::net {

using tako::detail::io_direction;
using tako::detail::io_op;
using tako::detail::io_source;

namespace {

constexpr int listen_backlog = 1024;

} // namespace

// ------------------------------------------------------------------ tcp_stream

task<io::result<tcp_stream>> tcp_stream::connect(socket_address addr) {
    auto source = co_await impl::connect(SOCK_STREAM, addr.data(), addr.size());
    if (!source) {
        co_return std::unexpected(source.error());
    }
    co_return tcp_stream(std::move(*source));
}

task<io::result<tcp_stream>> tcp_stream::connect(std::string host_port) {
    return impl::first_address<tcp_stream>(std::move(host_port),
                                           [](socket_address a) { return tcp_stream::connect(a); });
}

io::result<tcp_stream> tcp_stream::from_fd(int fd) noexcept {
    auto s = impl::adopt_socket(fd);
    if (!s) {
        return std::unexpected(s.error());
    }
    return tcp_stream(std::move(*s));
}

io::result<void> tcp_stream::set_nodelay(bool on) noexcept {
    return impl::set_option<int>(source_.fd(), IPPROTO_TCP, TCP_NODELAY, on ? 1 : 0);
}

io::result<bool> tcp_stream::nodelay() const noexcept {
    return impl::get_flag(source_.fd(), IPPROTO_TCP, TCP_NODELAY);
}

io::result<void> tcp_stream::set_linger(std::optional<std::chrono::seconds> linger) noexcept {
    return impl::set_linger(source_.fd(), linger);
}

io::result<std::optional<std::chrono::seconds>> tcp_stream::linger() const noexcept {
    return impl::get_linger(source_.fd());
}

io::result<void> tcp_stream::set_ttl(std::uint32_t ttl) noexcept {
    return impl::set_option<int>(source_.fd(), IPPROTO_IP, IP_TTL, static_cast<int>(ttl));
}

io::result<std::uint32_t> tcp_stream::ttl() const noexcept {
    return impl::get_unsigned(source_.fd(), IPPROTO_IP, IP_TTL);
}

std::pair<tcp_read_half, tcp_write_half> tcp_stream::split() noexcept {
    return {tcp_read_half(*this), tcp_write_half(*this)};
}

std::pair<tcp_owned_read_half, tcp_owned_write_half> tcp_stream::into_split() && {
    auto shared = std::make_shared<tcp_stream>(std::move(*this));
    return {tcp_owned_read_half(shared), tcp_owned_write_half(shared)};
}

io::result<socket_address> tcp_stream::local_addr() const noexcept {
    return impl::address_of(source_.fd(), ::getsockname);
}

io::result<socket_address> tcp_stream::peer_addr() const noexcept {
    return impl::address_of(source_.fd(), ::getpeername);
}

// ---------------------------------------------------------------- tcp_listener

task<io::result<tcp_listener>> tcp_listener::bind(socket_address addr) {
    auto socket = tcp_socket::new_for(addr);
    if (!socket) {
        co_return std::unexpected(socket.error());
    }
    if (auto r = socket->set_reuseaddr(true); !r) {
        co_return std::unexpected(r.error());
    }
    if (auto r = socket->bind(addr); !r) {
        co_return std::unexpected(r.error());
    }
    co_return std::move(*socket).listen(listen_backlog);
}

task<io::result<tcp_listener>> tcp_listener::bind(std::string host_port) {
    return impl::first_address<tcp_listener>(
        std::move(host_port), [](socket_address a) { return tcp_listener::bind(a); });
}

io::result<tcp_listener> tcp_listener::from_fd(int fd) noexcept {
    auto s = impl::adopt_socket(fd);
    if (!s) {
        return std::unexpected(s.error());
    }
    return tcp_listener(std::move(*s));
}

task<io::result<std::pair<tcp_stream, socket_address>>> tcp_listener::accept() {
    auto a = co_await impl::accept(source_);
    if (!a) {
        co_return std::unexpected(a.error());
    }
    auto peer = socket_address::from_sockaddr(a->peer.data(), a->peer.len);
    co_return std::pair<tcp_stream, socket_address>(tcp_stream(std::move(a->source)),
                                                    peer ? *peer : socket_address{});
}

io::result<socket_address> tcp_listener::local_addr() const noexcept {
    return impl::address_of(source_.fd(), ::getsockname);
}

io::result<void> tcp_listener::set_ttl(std::uint32_t ttl) noexcept {
    return impl::set_option<int>(source_.fd(), IPPROTO_IP, IP_TTL, static_cast<int>(ttl));
}

io::result<std::uint32_t> tcp_listener::ttl() const noexcept {
    return impl::get_unsigned(source_.fd(), IPPROTO_IP, IP_TTL);
}

} // namespace tako::net
