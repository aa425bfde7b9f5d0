// tcp_stream and tcp_listener over io_source.

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <climits>

#include "net/socket_util.hpp"
#include "tako/net/lookup_host.hpp"
#include "tako/net/tcp_listener.hpp"
#include "tako/net/tcp_stream.hpp"

namespace tako::net {

using tako::detail::io_direction;
using tako::detail::io_op;
using tako::detail::io_source;

namespace {

constexpr int listen_backlog = 1024;
/// How long an accept loop out of descriptors waits at most before it tries again when no
/// descriptor of this runtime was closed.
constexpr unsigned emfile_retry_ms = 100;

io_op recv_op(std::span<std::byte> buf, int flags) noexcept {
    io_op op;
    op.op = io_op::kind::recv;
    op.buf = buf.data();
    op.len = buf.size();
    op.flags = flags;
    return op;
}

io_op send_op(std::span<const std::byte> buf) noexcept {
    io_op op;
    op.op = io_op::kind::send;
    op.buf = const_cast<std::byte*>(buf.data());
    op.len = buf.size();
    return op;
}

io_op vector_op(io_op::kind k, std::span<const ::iovec> iov) noexcept {
    io_op op;
    op.op = k;
    op.iov = iov.data();
    op.iovcnt = static_cast<int>(iov.size() > IOV_MAX ? IOV_MAX : iov.size());
    return op;
}

io::result<io_source> adopt_socket(int fd) noexcept {
    if (auto nb = impl::set_nonblocking(fd); !nb) {
        return std::unexpected(nb.error());
    }
    return io_source::adopt(fd);
}

} // namespace

// ------------------------------------------------------------------ tcp_stream

task<io::result<tcp_stream>> tcp_stream::connect(socket_address addr) {
    auto fd = impl::new_socket(addr.family(), SOCK_STREAM);
    if (!fd) {
        co_return std::unexpected(fd.error());
    }
    impl::fd_guard guard{*fd};
    auto source = io_source::adopt(*fd);
    if (!source) {
        co_return std::unexpected(source.error());
    }
    guard.release(); // the source owns it now, and closes it if we are cancelled
    if (::connect(source->fd(), addr.data(), addr.size()) < 0) {
        if (errno != EINPROGRESS) {
            co_return impl::errno_error();
        }
        // Connected (or failed) when the socket becomes writable.
        for (;;) {
            auto ready = co_await source->ready(io_direction::write);
            if (!ready) {
                co_return std::unexpected(ready.error());
            }
            auto err = impl::get_option<int>(source->fd(), SOL_SOCKET, SO_ERROR);
            if (!err) {
                co_return std::unexpected(err.error());
            }
            if (*err != 0) {
                co_return std::unexpected(std::error_code(*err, std::system_category()));
            }
            if ((io_source::bits_of(*ready) & tako::detail::io_ready::writable) != 0) {
                break;
            }
            source->clear_ready(io_direction::write, *ready);
        }
    }
    co_return tcp_stream(std::move(*source));
}

task<io::result<tcp_stream>> tcp_stream::connect(std::string host_port) {
    auto addrs = co_await lookup_host(std::move(host_port));
    if (!addrs) {
        co_return std::unexpected(addrs.error());
    }
    std::error_code last = make_error_code(io::errc::no_addresses);
    for (const socket_address& a : *addrs) {
        auto s = co_await connect(a);
        if (s) {
            co_return std::move(*s);
        }
        last = s.error();
    }
    co_return std::unexpected(last);
}

io::result<tcp_stream> tcp_stream::from_fd(int fd) noexcept {
    auto s = adopt_socket(fd);
    if (!s) {
        return std::unexpected(s.error());
    }
    return tcp_stream(std::move(*s));
}

task<io::result<std::size_t>> tcp_stream::read(std::span<std::byte> buf) {
    return source_.submit(io_direction::read, recv_op(buf, 0));
}

task<io::result<std::size_t>> tcp_stream::peek(std::span<std::byte> buf) {
    return source_.submit(io_direction::read, recv_op(buf, MSG_PEEK));
}

task<io::result<void>> tcp_stream::read_exact(std::span<std::byte> buf) {
    while (!buf.empty()) {
        auto n = co_await source_.submit(io_direction::read, recv_op(buf, 0));
        if (!n) {
            co_return std::unexpected(n.error());
        }
        if (*n == 0) {
            co_return std::unexpected(make_error_code(io::errc::unexpected_eof));
        }
        buf = buf.subspan(*n);
    }
    co_return io::result<void>{};
}

task<io::result<std::size_t>> tcp_stream::write(std::span<const std::byte> buf) {
    return source_.submit(io_direction::write, send_op(buf));
}

task<io::result<void>> tcp_stream::write_all(std::span<const std::byte> buf) {
    while (!buf.empty()) {
        auto n = co_await source_.submit(io_direction::write, send_op(buf));
        if (!n) {
            co_return std::unexpected(n.error());
        }
        if (*n == 0) {
            co_return std::unexpected(make_error_code(io::errc::write_zero));
        }
        buf = buf.subspan(*n);
    }
    co_return io::result<void>{};
}

task<io::result<std::size_t>> tcp_stream::read_vectored(std::span<const ::iovec> iov) {
    return source_.submit(io_direction::read, vector_op(io_op::kind::readv, iov));
}

task<io::result<std::size_t>> tcp_stream::write_vectored(std::span<const ::iovec> iov) {
    return source_.submit(io_direction::write, vector_op(io_op::kind::writev, iov));
}

io::result<std::size_t> tcp_stream::try_read(std::span<std::byte> buf) noexcept {
    return source_.try_submit(io_direction::read, recv_op(buf, 0));
}

io::result<std::size_t> tcp_stream::try_write(std::span<const std::byte> buf) noexcept {
    return source_.try_submit(io_direction::write, send_op(buf));
}

task<io::result<ready_state>> tcp_stream::readable() {
    auto t = co_await source_.ready(io_direction::read);
    if (!t) {
        co_return std::unexpected(t.error());
    }
    co_return ready_state{io_source::bits_of(*t)};
}

task<io::result<ready_state>> tcp_stream::writable() {
    auto t = co_await source_.ready(io_direction::write);
    if (!t) {
        co_return std::unexpected(t.error());
    }
    co_return ready_state{io_source::bits_of(*t)};
}

io::result<void> tcp_stream::shutdown(shutdown_how how) noexcept {
    if (!source_.is_open()) {
        return std::unexpected(make_error_code(io::errc::closed));
    }
    return impl::check(::shutdown(source_.fd(), static_cast<int>(how)));
}

io::result<void> tcp_stream::set_nodelay(bool on) noexcept {
    return impl::set_option<int>(source_.fd(), IPPROTO_TCP, TCP_NODELAY, on ? 1 : 0);
}

io::result<bool> tcp_stream::nodelay() const noexcept {
    auto v = impl::get_option<int>(source_.fd(), IPPROTO_TCP, TCP_NODELAY);
    if (!v) {
        return std::unexpected(v.error());
    }
    return *v != 0;
}

io::result<void> tcp_stream::set_linger(std::optional<std::chrono::seconds> linger) noexcept {
    ::linger l{};
    l.l_onoff = linger ? 1 : 0;
    l.l_linger = linger ? static_cast<int>(linger->count()) : 0;
    return impl::set_option(source_.fd(), SOL_SOCKET, SO_LINGER, l);
}

io::result<std::optional<std::chrono::seconds>> tcp_stream::linger() const noexcept {
    auto l = impl::get_option<::linger>(source_.fd(), SOL_SOCKET, SO_LINGER);
    if (!l) {
        return std::unexpected(l.error());
    }
    if (l->l_onoff == 0) {
        return std::optional<std::chrono::seconds>{};
    }
    return std::optional<std::chrono::seconds>{std::chrono::seconds(l->l_linger)};
}

io::result<void> tcp_stream::set_ttl(std::uint32_t ttl) noexcept {
    return impl::set_option<int>(source_.fd(), IPPROTO_IP, IP_TTL, static_cast<int>(ttl));
}

io::result<std::uint32_t> tcp_stream::ttl() const noexcept {
    auto v = impl::get_option<int>(source_.fd(), IPPROTO_IP, IP_TTL);
    if (!v) {
        return std::unexpected(v.error());
    }
    return static_cast<std::uint32_t>(*v);
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
    auto fd = impl::new_socket(addr.family(), SOCK_STREAM);
    if (!fd) {
        co_return std::unexpected(fd.error());
    }
    impl::fd_guard guard{*fd};
    if (auto r = impl::set_option<int>(*fd, SOL_SOCKET, SO_REUSEADDR, 1); !r) {
        co_return std::unexpected(r.error());
    }
    if (::bind(*fd, addr.data(), addr.size()) < 0 || ::listen(*fd, listen_backlog) < 0) {
        co_return impl::errno_error();
    }
    auto source = io_source::adopt(*fd);
    if (!source) {
        co_return std::unexpected(source.error());
    }
    guard.release();
    co_return tcp_listener(std::move(*source));
}

task<io::result<tcp_listener>> tcp_listener::bind(std::string host_port) {
    auto addrs = co_await lookup_host(std::move(host_port));
    if (!addrs) {
        co_return std::unexpected(addrs.error());
    }
    std::error_code last = make_error_code(io::errc::no_addresses);
    for (const socket_address& a : *addrs) {
        auto l = co_await bind(a);
        if (l) {
            co_return std::move(*l);
        }
        last = l.error();
    }
    co_return std::unexpected(last);
}

io::result<tcp_listener> tcp_listener::from_fd(int fd) noexcept {
    auto s = adopt_socket(fd);
    if (!s) {
        return std::unexpected(s.error());
    }
    return tcp_listener(std::move(*s));
}

task<io::result<std::pair<tcp_stream, socket_address>>> tcp_listener::accept() {
    for (;;) {
        ::sockaddr_storage ss{};
        ::socklen_t len = sizeof ss;
        io_op op;
        op.op = io_op::kind::accept;
        op.addr = reinterpret_cast<::sockaddr*>(&ss);
        op.addrlen = &len;
        auto fd = co_await source_.submit(io_direction::read, op);
        if (!fd) {
            // Addresses, not error_category::operator==: no member call on a category here (under
            // EMFILE, UBSan cannot check a vptr: its memory probe needs a descriptor).
            const int e =
                &fd.error().category() == &std::system_category() ? fd.error().value() : 0;
            if (e == EMFILE || e == ENFILE) {
                // Out of descriptors: the connection stays in the backlog until one frees.
                co_await tako::detail::wait_for_free_descriptor(emfile_retry_ms);
                continue;
            }
            if (e == ECONNABORTED || e == EPROTO) {
                continue; // the peer gave up before we accepted: nothing to serve
            }
            co_return std::unexpected(fd.error());
        }
        const int conn = static_cast<int>(*fd);
        auto peer = socket_address::from_sockaddr(op.addr, len);
        auto source = io_source::adopt(conn);
        if (!source) {
            ::close(conn);
            co_return std::unexpected(source.error());
        }
        co_return std::pair<tcp_stream, socket_address>(tcp_stream(std::move(*source)),
                                                        peer ? *peer : socket_address{});
    }
}

io::result<socket_address> tcp_listener::local_addr() const noexcept {
    return impl::address_of(source_.fd(), ::getsockname);
}

io::result<void> tcp_listener::set_ttl(std::uint32_t ttl) noexcept {
    return impl::set_option<int>(source_.fd(), IPPROTO_IP, IP_TTL, static_cast<int>(ttl));
}

io::result<std::uint32_t> tcp_listener::ttl() const noexcept {
    auto v = impl::get_option<int>(source_.fd(), IPPROTO_IP, IP_TTL);
    if (!v) {
        return std::unexpected(v.error());
    }
    return static_cast<std::uint32_t>(*v);
}

} // namespace tako::net
