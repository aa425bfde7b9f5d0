// The operations the socket types share (socket_ops.hpp).

#include "net/socket_ops.hpp"

#include <climits>

#include "net/socket_util.hpp"

namespace tako::net::impl {

namespace {

/// How long an accept loop out of descriptors waits at most before it tries again when no
/// descriptor of this runtime was closed.
constexpr unsigned emfile_retry_ms = 100;

} // namespace

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

io_op send_to_op(std::span<const std::byte> buf, const ::sockaddr* addr,
                 ::socklen_t* len) noexcept {
    io_op op;
    op.op = io_op::kind::sendto;
    op.buf = const_cast<std::byte*>(buf.data());
    op.len = buf.size();
    op.addr = const_cast<::sockaddr*>(addr);
    op.addrlen = len;
    return op;
}

io_op recv_from_op(std::span<std::byte> buf, int flags, ::sockaddr_storage* from,
                   ::socklen_t* len) noexcept {
    io_op op;
    op.op = io_op::kind::recvfrom;
    op.buf = buf.data();
    op.len = buf.size();
    op.flags = flags;
    op.addr = reinterpret_cast<::sockaddr*>(from);
    op.addrlen = len;
    return op;
}

io::result<io_source> adopt_socket(int fd) noexcept {
    if (auto nb = set_nonblocking(fd); !nb) {
        return std::unexpected(nb.error());
    }
    return io_source::adopt(fd);
}

task<io::result<void>> read_exact(io_source& s, std::span<std::byte> buf) {
    while (!buf.empty()) {
        auto n = co_await s.submit(io_direction::read, recv_op(buf, 0));
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

task<io::result<void>> write_all(io_source& s, std::span<const std::byte> buf) {
    while (!buf.empty()) {
        // Most writes complete at once: try without submit's frame first.
        auto n = s.submit_now(io_direction::write, send_op(buf));
        if (!n && n.error() == std::errc::operation_would_block) {
            n = co_await s.submit(io_direction::write, send_op(buf));
        }
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

task<io::result<ready_state>> ready(io_source& s, io_direction dir) {
    auto t = co_await s.ready(dir);
    if (!t) {
        co_return std::unexpected(t.error());
    }
    co_return ready_state{io_source::bits_of(*t)};
}

io::result<void> shutdown(const io_source& s, shutdown_how how) noexcept {
    if (!s.is_open()) {
        return std::unexpected(make_error_code(io::errc::closed));
    }
    return check(::shutdown(s.fd(), static_cast<int>(how)));
}

task<io::result<io_source>> connect(int type, const ::sockaddr* addr, ::socklen_t len) {
    auto fd = new_socket(addr->sa_family, type);
    if (!fd) {
        co_return std::unexpected(fd.error());
    }
    co_return co_await connect_fd(*fd, addr, len);
}

task<io::result<io_source>> connect_fd(int fd, const ::sockaddr* addr, ::socklen_t len) {
    fd_guard guard{fd};
    auto source = io_source::adopt(fd);
    if (!source) {
        co_return std::unexpected(source.error());
    }
    guard.release(); // the source owns it now, and closes it if we are cancelled
    if (::connect(source->fd(), addr, len) < 0) {
        // A Unix stream socket whose listener's backlog is full fails with EAGAIN at once
        // instead: that is the caller's error, as in Tokio.
        if (errno != EINPROGRESS) {
            co_return errno_error();
        }
        // Connected (or failed) when the socket becomes writable.
        for (;;) {
            auto ready = co_await source->ready(io_direction::write);
            if (!ready) {
                co_return std::unexpected(ready.error());
            }
            auto err = get_option<int>(source->fd(), SOL_SOCKET, SO_ERROR);
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
    co_return std::move(*source);
}

task<io::result<accepted>> accept(io_source& listener) {
    for (;;) {
        raw_address peer;
        io_op op;
        op.op = io_op::kind::accept;
        op.addr = peer.data();
        op.addrlen = &peer.len;
        auto fd = co_await listener.submit(io_direction::read, op);
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
        auto source = io_source::adopt(conn);
        if (!source) {
            ::close(conn);
            co_return std::unexpected(source.error());
        }
        co_return accepted{std::move(*source), peer};
    }
}

task<io::result<received>> recv_from(io_source& s, std::span<std::byte> buf, int flags) {
    received r;
    auto n = co_await s.submit(io_direction::read,
                               recv_from_op(buf, flags, &r.from.storage, &r.from.len));
    if (!n) {
        co_return std::unexpected(n.error());
    }
    r.n = *n;
    co_return r;
}

io::result<received> try_recv_from(io_source& s, std::span<std::byte> buf) noexcept {
    received r;
    auto n = s.try_submit(io_direction::read, recv_from_op(buf, 0, &r.from.storage, &r.from.len));
    if (!n) {
        return std::unexpected(n.error());
    }
    r.n = *n;
    return r;
}

} // namespace tako::net::impl
