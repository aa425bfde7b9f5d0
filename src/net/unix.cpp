// unix_stream, unix_listener and unix_datagram over io_source. Stream operations are the
// ones tcp_stream submits (socket_ops.hpp); datagrams are recvfrom / sendto operations, as
// for udp_socket, so a short datagram never clears readiness.

#include <sys/socket.h>
#include <sys/un.h>

#include <string>

#include "net/socket_ops.hpp"
#include "net/socket_util.hpp"
#include "tako/net/unix_datagram.hpp"
#include "tako/net/unix_listener.hpp"
#include "tako/net/unix_stream.hpp"

namespace tako::net {

using tako::detail::io_direction;
using tako::detail::io_op;
using tako::detail::io_source;

namespace {

constexpr int listen_backlog = 1024;

/// getsockname / getpeername as a unix_address.
template <class F>
io::result<unix_address> unix_address_of(int fd, F getter) noexcept {
    if (fd < 0) {
        return std::unexpected(make_error_code(io::errc::closed));
    }
    impl::raw_address a;
    if (getter(fd, a.data(), &a.len) < 0) {
        return impl::errno_error();
    }
    return unix_address::from_sockaddr(a.data(), a.len);
}

/// A new AF_UNIX socket of `type`, bound to `addr`, registered.
io::result<io_source> bound_socket(int type, const unix_address& addr) noexcept {
    auto fd = impl::new_socket(AF_UNIX, type);
    if (!fd) {
        return std::unexpected(fd.error());
    }
    impl::fd_guard guard{*fd};
    if (::bind(*fd, addr.data(), addr.size()) < 0) {
        return impl::errno_error();
    }
    if (type == SOCK_STREAM && ::listen(*fd, listen_backlog) < 0) {
        return impl::errno_error();
    }
    auto source = io_source::adopt(*fd);
    if (source) {
        guard.release();
    }
    return source;
}

/// Two connected AF_UNIX sockets of `type`, registered.
io::result<std::pair<io_source, io_source>> socket_pair(int type) noexcept {
    int fds[2];
    if (::socketpair(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) < 0) {
        return impl::errno_error();
    }
    impl::fd_guard g0{fds[0]};
    impl::fd_guard g1{fds[1]};
    auto a = io_source::adopt(fds[0]);
    if (!a) {
        return std::unexpected(a.error());
    }
    g0.release();
    auto b = io_source::adopt(fds[1]);
    if (!b) {
        return std::unexpected(b.error()); // `a` closes fds[0]
    }
    g1.release();
    return std::pair<io_source, io_source>(std::move(*a), std::move(*b));
}

/// A received datagram's size and sender as the public type.
io::result<std::pair<std::size_t, unix_address>>
with_sender(io::result<impl::received> r) noexcept {
    if (!r) {
        return std::unexpected(r.error());
    }
    // An unbound sender may be reported with a length of 0 or just the family.
    auto from = r->from.len < sizeof(sa_family_t)
                    ? io::result<unix_address>(unix_address{})
                    : unix_address::from_sockaddr(r->from.data(), r->from.len);
    if (!from) {
        return std::unexpected(from.error());
    }
    return std::pair<std::size_t, unix_address>(r->n, *from);
}

} // namespace

// ------------------------------------------------------------------ unix_stream

task<io::result<unix_stream>> unix_stream::connect(std::string path) {
    auto addr = unix_address::from_path(path);
    if (!addr) {
        co_return std::unexpected(addr.error());
    }
    co_return co_await connect(*addr);
}

task<io::result<unix_stream>> unix_stream::connect(unix_address addr) {
    auto source = co_await impl::connect(SOCK_STREAM, addr.data(), addr.size());
    if (!source) {
        co_return std::unexpected(source.error());
    }
    co_return unix_stream(std::move(*source));
}

io::result<std::pair<unix_stream, unix_stream>> unix_stream::pair() noexcept {
    auto p = socket_pair(SOCK_STREAM);
    if (!p) {
        return std::unexpected(p.error());
    }
    return std::pair<unix_stream, unix_stream>(unix_stream(std::move(p->first)),
                                               unix_stream(std::move(p->second)));
}

io::result<unix_stream> unix_stream::from_fd(int fd) noexcept {
    auto s = impl::adopt_socket(fd);
    if (!s) {
        return std::unexpected(s.error());
    }
    return unix_stream(std::move(*s));
}

io::result<unix_credentials> unix_stream::peer_cred() const noexcept {
    auto c = impl::get_option<::ucred>(source_.fd(), SOL_SOCKET, SO_PEERCRED);
    if (!c) {
        return std::unexpected(c.error());
    }
    return unix_credentials{c->pid, c->uid, c->gid};
}

io::result<unix_address> unix_stream::local_addr() const noexcept {
    return unix_address_of(source_.fd(), ::getsockname);
}

io::result<unix_address> unix_stream::peer_addr() const noexcept {
    return unix_address_of(source_.fd(), ::getpeername);
}

// ---------------------------------------------------------------- unix_listener

io::result<unix_listener> unix_listener::bind(std::string_view path) noexcept {
    auto addr = unix_address::from_path(path);
    if (!addr) {
        return std::unexpected(addr.error());
    }
    return bind(*addr);
}

io::result<unix_listener> unix_listener::bind(const unix_address& addr) noexcept {
    auto source = bound_socket(SOCK_STREAM, addr);
    if (!source) {
        return std::unexpected(source.error());
    }
    return unix_listener(std::move(*source));
}

io::result<unix_listener> unix_listener::from_fd(int fd) noexcept {
    auto s = impl::adopt_socket(fd);
    if (!s) {
        return std::unexpected(s.error());
    }
    return unix_listener(std::move(*s));
}

task<io::result<std::pair<unix_stream, unix_address>>> unix_listener::accept() {
    auto a = co_await impl::accept(source_);
    if (!a) {
        co_return std::unexpected(a.error());
    }
    auto peer = unix_address::from_sockaddr(a->peer.data(), a->peer.len);
    co_return std::pair<unix_stream, unix_address>(unix_stream(std::move(a->source)),
                                                   peer ? *peer : unix_address{});
}

io::result<unix_address> unix_listener::local_addr() const noexcept {
    return unix_address_of(source_.fd(), ::getsockname);
}

// ---------------------------------------------------------------- unix_datagram

io::result<unix_datagram> unix_datagram::bind(std::string_view path) noexcept {
    auto addr = unix_address::from_path(path);
    if (!addr) {
        return std::unexpected(addr.error());
    }
    return bind(*addr);
}

io::result<unix_datagram> unix_datagram::bind(const unix_address& addr) noexcept {
    auto source = bound_socket(SOCK_DGRAM, addr);
    if (!source) {
        return std::unexpected(source.error());
    }
    return unix_datagram(std::move(*source));
}

io::result<unix_datagram> unix_datagram::unbound() noexcept {
    auto fd = impl::new_socket(AF_UNIX, SOCK_DGRAM);
    if (!fd) {
        return std::unexpected(fd.error());
    }
    auto source = io_source::adopt(*fd);
    if (!source) {
        ::close(*fd);
        return std::unexpected(source.error());
    }
    return unix_datagram(std::move(*source));
}

io::result<std::pair<unix_datagram, unix_datagram>> unix_datagram::pair() noexcept {
    auto p = socket_pair(SOCK_DGRAM);
    if (!p) {
        return std::unexpected(p.error());
    }
    return std::pair<unix_datagram, unix_datagram>(unix_datagram(std::move(p->first)),
                                                   unix_datagram(std::move(p->second)));
}

io::result<unix_datagram> unix_datagram::from_fd(int fd) noexcept {
    auto s = impl::adopt_socket(fd);
    if (!s) {
        return std::unexpected(s.error());
    }
    return unix_datagram(std::move(*s));
}

io::result<void> unix_datagram::connect(std::string_view path) noexcept {
    auto addr = unix_address::from_path(path);
    if (!addr) {
        return std::unexpected(addr.error());
    }
    return connect(*addr);
}

io::result<void> unix_datagram::connect(const unix_address& addr) noexcept {
    if (!source_.is_open()) {
        return std::unexpected(make_error_code(io::errc::closed));
    }
    return impl::check(::connect(source_.fd(), addr.data(), addr.size()));
}

task<io::result<std::size_t>> unix_datagram::send(std::span<const std::byte> buf) {
    return source_.submit(io_direction::write, impl::send_to_op(buf, nullptr, nullptr));
}

task<io::result<std::size_t>> unix_datagram::recv(std::span<std::byte> buf) {
    return source_.submit(io_direction::read, impl::recv_from_op(buf, 0, nullptr, nullptr));
}

task<io::result<std::size_t>> unix_datagram::send_to(std::span<const std::byte> buf,
                                                     std::string path) {
    auto addr = unix_address::from_path(path);
    if (!addr) {
        co_return std::unexpected(addr.error());
    }
    co_return co_await send_to(buf, std::move(*addr));
}

task<io::result<std::size_t>> unix_datagram::send_to(std::span<const std::byte> buf,
                                                     unix_address addr) {
    // A coroutine, so that `addr` lives in the frame while the operation waits.
    ::socklen_t len = addr.size();
    co_return co_await source_.submit(io_direction::write,
                                      impl::send_to_op(buf, addr.data(), &len));
}

task<io::result<std::pair<std::size_t, unix_address>>>
unix_datagram::recv_from(std::span<std::byte> buf) {
    co_return with_sender(co_await impl::recv_from(source_, buf, 0));
}

io::result<std::size_t> unix_datagram::try_send(std::span<const std::byte> buf) noexcept {
    return source_.try_submit(io_direction::write, impl::send_to_op(buf, nullptr, nullptr));
}

io::result<std::size_t> unix_datagram::try_recv(std::span<std::byte> buf) noexcept {
    return source_.try_submit(io_direction::read, impl::recv_from_op(buf, 0, nullptr, nullptr));
}

io::result<std::size_t> unix_datagram::try_send_to(std::span<const std::byte> buf,
                                                   const unix_address& addr) noexcept {
    ::socklen_t len = addr.size();
    return source_.try_submit(io_direction::write, impl::send_to_op(buf, addr.data(), &len));
}

io::result<std::pair<std::size_t, unix_address>>
unix_datagram::try_recv_from(std::span<std::byte> buf) noexcept {
    return with_sender(impl::try_recv_from(source_, buf));
}

task<io::result<ready_state>> unix_datagram::readable() {
    return impl::ready(source_, io_direction::read);
}

task<io::result<ready_state>> unix_datagram::writable() {
    return impl::ready(source_, io_direction::write);
}

io::result<void> unix_datagram::shutdown(shutdown_how how) noexcept {
    return impl::shutdown(source_, how);
}

io::result<unix_address> unix_datagram::local_addr() const noexcept {
    return unix_address_of(source_.fd(), ::getsockname);
}

io::result<unix_address> unix_datagram::peer_addr() const noexcept {
    return unix_address_of(source_.fd(), ::getpeername);
}

} // namespace tako::net
