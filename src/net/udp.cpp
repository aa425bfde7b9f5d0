// udp_socket over io_source: every datagram is a recvfrom / sendto operation, so a short
// datagram never clears readiness the way a short stream transfer does.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <string>

#include "net/socket_ops.hpp"
#include "net/socket_util.hpp"
#include "tako/net/udp_socket.hpp"

namespace tako::net {

using tako::detail::io_direction;
using tako::detail::io_source;

namespace {

/// An IPv4 address in dotted form, or invalid_address.
io::result<::in_addr> parse_v4(std::string_view text) noexcept {
    char buf[INET_ADDRSTRLEN];
    ::in_addr a{};
    if (text.empty() || text.size() >= sizeof buf) {
        return std::unexpected(make_error_code(io::errc::invalid_address));
    }
    text.copy(buf, text.size());
    buf[text.size()] = '\0';
    if (::inet_pton(AF_INET, buf, &a) != 1) {
        return std::unexpected(make_error_code(io::errc::invalid_address));
    }
    return a;
}

io::result<void> multicast_v4(int fd, int name, std::string_view group,
                              std::string_view iface) noexcept {
    auto g = parse_v4(group);
    if (!g) {
        return std::unexpected(g.error());
    }
    auto i = parse_v4(iface);
    if (!i) {
        return std::unexpected(i.error());
    }
    ::ip_mreq m{};
    m.imr_multiaddr = *g;
    m.imr_interface = *i;
    return impl::set_option(fd, IPPROTO_IP, name, m);
}

/// A received datagram's size and sender as the public type.
io::result<std::pair<std::size_t, socket_address>>
with_sender(io::result<impl::received> r) noexcept {
    if (!r) {
        return std::unexpected(r.error());
    }
    auto from = socket_address::from_sockaddr(r->from.data(), r->from.len);
    if (!from) {
        return std::unexpected(from.error());
    }
    return std::pair<std::size_t, socket_address>(r->n, *from);
}

} // namespace

task<io::result<udp_socket>> udp_socket::bind(socket_address addr) {
    auto fd = impl::new_socket(addr.family(), SOCK_DGRAM);
    if (!fd) {
        co_return std::unexpected(fd.error());
    }
    impl::fd_guard guard{*fd};
    if (::bind(*fd, addr.data(), addr.size()) < 0) {
        co_return impl::errno_error();
    }
    auto source = io_source::adopt(*fd);
    if (!source) {
        co_return std::unexpected(source.error());
    }
    guard.release();
    co_return udp_socket(std::move(*source));
}

task<io::result<udp_socket>> udp_socket::bind(std::string host_port) {
    return impl::first_address<udp_socket>(std::move(host_port),
                                           [](socket_address a) { return udp_socket::bind(a); });
}

io::result<udp_socket> udp_socket::from_fd(int fd) noexcept {
    auto s = impl::adopt_socket(fd);
    if (!s) {
        return std::unexpected(s.error());
    }
    return udp_socket(std::move(*s));
}

io::result<void> udp_socket::connect(socket_address addr) noexcept {
    if (!source_.is_open()) {
        return std::unexpected(make_error_code(io::errc::closed));
    }
    return impl::check(::connect(source_.fd(), addr.data(), addr.size()));
}

task<io::result<void>> udp_socket::connect(std::string host_port) {
    auto addrs = co_await lookup_host(std::move(host_port));
    if (!addrs) {
        co_return std::unexpected(addrs.error());
    }
    std::error_code last = make_error_code(io::errc::no_addresses);
    for (const socket_address& a : *addrs) {
        auto r = connect(a); // another family fails (EAFNOSUPPORT): try the next
        if (r) {
            co_return r;
        }
        last = r.error();
    }
    co_return std::unexpected(last);
}

task<io::result<std::size_t>> udp_socket::send(std::span<const std::byte> buf) {
    return source_.submit(io_direction::write, impl::send_to_op(buf, nullptr, nullptr));
}

task<io::result<std::size_t>> udp_socket::recv(std::span<std::byte> buf) {
    return source_.submit(io_direction::read, impl::recv_from_op(buf, 0, nullptr, nullptr));
}

task<io::result<std::size_t>> udp_socket::send_to(std::span<const std::byte> buf,
                                                  socket_address addr) {
    // A coroutine, so that `addr` lives in the frame while the operation waits.
    ::socklen_t len = addr.size();
    co_return co_await source_.submit(io_direction::write,
                                      impl::send_to_op(buf, addr.data(), &len));
}

task<io::result<std::pair<std::size_t, socket_address>>>
udp_socket::recv_from(std::span<std::byte> buf) {
    co_return with_sender(co_await impl::recv_from(source_, buf, 0));
}

task<io::result<std::pair<std::size_t, socket_address>>>
udp_socket::peek_from(std::span<std::byte> buf) {
    co_return with_sender(co_await impl::recv_from(source_, buf, MSG_PEEK));
}

io::result<std::size_t> udp_socket::try_send(std::span<const std::byte> buf) noexcept {
    return source_.try_submit(io_direction::write, impl::send_to_op(buf, nullptr, nullptr));
}

io::result<std::size_t> udp_socket::try_recv(std::span<std::byte> buf) noexcept {
    return source_.try_submit(io_direction::read, impl::recv_from_op(buf, 0, nullptr, nullptr));
}

io::result<std::size_t> udp_socket::try_send_to(std::span<const std::byte> buf,
                                                socket_address addr) noexcept {
    ::socklen_t len = addr.size();
    return source_.try_submit(io_direction::write, impl::send_to_op(buf, addr.data(), &len));
}

io::result<std::pair<std::size_t, socket_address>>
udp_socket::try_recv_from(std::span<std::byte> buf) noexcept {
    return with_sender(impl::try_recv_from(source_, buf));
}

task<io::result<ready_state>> udp_socket::readable() {
    return impl::ready(source_, io_direction::read);
}

task<io::result<ready_state>> udp_socket::writable() {
    return impl::ready(source_, io_direction::write);
}

io::result<socket_address> udp_socket::local_addr() const noexcept {
    return impl::address_of(source_.fd(), ::getsockname);
}

io::result<socket_address> udp_socket::peer_addr() const noexcept {
    return impl::address_of(source_.fd(), ::getpeername);
}

io::result<void> udp_socket::set_broadcast(bool on) noexcept {
    return impl::set_option<int>(source_.fd(), SOL_SOCKET, SO_BROADCAST, on ? 1 : 0);
}

io::result<bool> udp_socket::broadcast() const noexcept {
    return impl::get_flag(source_.fd(), SOL_SOCKET, SO_BROADCAST);
}

io::result<void> udp_socket::join_multicast_v4(std::string_view group,
                                               std::string_view iface) noexcept {
    return multicast_v4(source_.fd(), IP_ADD_MEMBERSHIP, group, iface);
}

io::result<void> udp_socket::leave_multicast_v4(std::string_view group,
                                                std::string_view iface) noexcept {
    return multicast_v4(source_.fd(), IP_DROP_MEMBERSHIP, group, iface);
}

io::result<void> udp_socket::set_multicast_ttl_v4(std::uint32_t ttl) noexcept {
    return impl::set_option<int>(source_.fd(), IPPROTO_IP, IP_MULTICAST_TTL, static_cast<int>(ttl));
}

io::result<std::uint32_t> udp_socket::multicast_ttl_v4() const noexcept {
    return impl::get_unsigned(source_.fd(), IPPROTO_IP, IP_MULTICAST_TTL);
}

io::result<void> udp_socket::set_multicast_loop_v4(bool on) noexcept {
    return impl::set_option<int>(source_.fd(), IPPROTO_IP, IP_MULTICAST_LOOP, on ? 1 : 0);
}

io::result<bool> udp_socket::multicast_loop_v4() const noexcept {
    return impl::get_flag(source_.fd(), IPPROTO_IP, IP_MULTICAST_LOOP);
}

io::result<void> udp_socket::set_ttl(std::uint32_t ttl) noexcept {
    return impl::set_option<int>(source_.fd(), IPPROTO_IP, IP_TTL, static_cast<int>(ttl));
}

io::result<std::uint32_t> udp_socket::ttl() const noexcept {
    return impl::get_unsigned(source_.fd(), IPPROTO_IP, IP_TTL);
}

} // namespace tako::net
