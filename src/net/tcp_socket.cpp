// tcp_socket: a socket descriptor with options, before it connects or listens.

#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cstring>

#include "net/socket_ops.hpp"
#include "net/socket_util.hpp"
#include "tako/net/tcp_socket.hpp"

namespace tako::net {

namespace {

io::result<tcp_socket> make(int family, auto wrap) noexcept {
    auto fd = impl::new_socket(family, SOCK_STREAM);
    if (!fd) {
        return std::unexpected(fd.error());
    }
    return wrap(*fd);
}

io::result<void> set_flag(int fd, int level, int name, bool on) noexcept {
    return impl::set_option<int>(fd, level, name, on ? 1 : 0);
}

} // namespace

io::result<tcp_socket> tcp_socket::new_v4() noexcept {
    return make(AF_INET, [](int fd) { return tcp_socket(fd); });
}

io::result<tcp_socket> tcp_socket::new_v6() noexcept {
    return make(AF_INET6, [](int fd) { return tcp_socket(fd); });
}

io::result<tcp_socket> tcp_socket::new_for(const socket_address& addr) noexcept {
    return make(addr.family(), [](int fd) { return tcp_socket(fd); });
}

io::result<tcp_socket> tcp_socket::from_fd(int fd) noexcept {
    if (fd < 0) {
        return std::unexpected(std::make_error_code(std::errc::bad_file_descriptor));
    }
    if (auto nb = impl::set_nonblocking(fd); !nb) {
        return std::unexpected(nb.error());
    }
    return tcp_socket(fd);
}

tcp_socket::tcp_socket(tcp_socket&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}

tcp_socket& tcp_socket::operator=(tcp_socket&& o) noexcept {
    if (this != &o) {
        impl::fd_guard old{std::exchange(fd_, std::exchange(o.fd_, -1))};
    }
    return *this;
}

tcp_socket::~tcp_socket() { impl::fd_guard{fd_}; }

int tcp_socket::release() noexcept { return std::exchange(fd_, -1); }

io::result<void> tcp_socket::set_reuseaddr(bool on) noexcept {
    return set_flag(fd_, SOL_SOCKET, SO_REUSEADDR, on);
}
io::result<bool> tcp_socket::reuseaddr() const noexcept {
    return impl::get_flag(fd_, SOL_SOCKET, SO_REUSEADDR);
}
io::result<void> tcp_socket::set_reuseport(bool on) noexcept {
    return set_flag(fd_, SOL_SOCKET, SO_REUSEPORT, on);
}
io::result<bool> tcp_socket::reuseport() const noexcept {
    return impl::get_flag(fd_, SOL_SOCKET, SO_REUSEPORT);
}
io::result<void> tcp_socket::set_keepalive(bool on) noexcept {
    return set_flag(fd_, SOL_SOCKET, SO_KEEPALIVE, on);
}
io::result<bool> tcp_socket::keepalive() const noexcept {
    return impl::get_flag(fd_, SOL_SOCKET, SO_KEEPALIVE);
}
io::result<void> tcp_socket::set_send_buffer_size(std::uint32_t bytes) noexcept {
    return impl::set_option<int>(fd_, SOL_SOCKET, SO_SNDBUF, static_cast<int>(bytes));
}
io::result<std::uint32_t> tcp_socket::send_buffer_size() const noexcept {
    return impl::get_unsigned(fd_, SOL_SOCKET, SO_SNDBUF);
}
io::result<void> tcp_socket::set_recv_buffer_size(std::uint32_t bytes) noexcept {
    return impl::set_option<int>(fd_, SOL_SOCKET, SO_RCVBUF, static_cast<int>(bytes));
}
io::result<std::uint32_t> tcp_socket::recv_buffer_size() const noexcept {
    return impl::get_unsigned(fd_, SOL_SOCKET, SO_RCVBUF);
}
io::result<void> tcp_socket::set_linger(std::optional<std::chrono::seconds> linger) noexcept {
    return impl::set_linger(fd_, linger);
}
io::result<std::optional<std::chrono::seconds>> tcp_socket::linger() const noexcept {
    return impl::get_linger(fd_);
}
io::result<void> tcp_socket::set_nodelay(bool on) noexcept {
    return set_flag(fd_, IPPROTO_TCP, TCP_NODELAY, on);
}
io::result<bool> tcp_socket::nodelay() const noexcept {
    return impl::get_flag(fd_, IPPROTO_TCP, TCP_NODELAY);
}

io::result<void> tcp_socket::bind_device(std::string_view name) noexcept {
    if (fd_ < 0) {
        return std::unexpected(make_error_code(io::errc::closed));
    }
    if (name.size() >= IFNAMSIZ) {
        return std::unexpected(std::make_error_code(std::errc::invalid_argument));
    }
    char buf[IFNAMSIZ] = {};
    std::memcpy(buf, name.data(), name.size());
    return impl::check(::setsockopt(fd_, SOL_SOCKET, SO_BINDTODEVICE, buf,
                                    static_cast<::socklen_t>(name.size())));
}

io::result<std::optional<std::string>> tcp_socket::device() const {
    if (fd_ < 0) {
        return std::unexpected(make_error_code(io::errc::closed));
    }
    char buf[IFNAMSIZ] = {};
    ::socklen_t len = sizeof buf;
    if (::getsockopt(fd_, SOL_SOCKET, SO_BINDTODEVICE, buf, &len) < 0) {
        return impl::errno_error();
    }
    if (len == 0 || buf[0] == '\0') {
        return std::optional<std::string>{};
    }
    return std::optional<std::string>{std::string(buf, ::strnlen(buf, len))};
}

io::result<void> tcp_socket::bind(const socket_address& addr) noexcept {
    if (fd_ < 0) {
        return std::unexpected(make_error_code(io::errc::closed));
    }
    return impl::check(::bind(fd_, addr.data(), addr.size()));
}

io::result<socket_address> tcp_socket::local_addr() const noexcept {
    return impl::address_of(fd_, ::getsockname);
}

io::result<std::optional<std::error_code>> tcp_socket::take_error() noexcept {
    auto err = impl::get_option<int>(fd_, SOL_SOCKET, SO_ERROR);
    if (!err) {
        return std::unexpected(err.error());
    }
    if (*err == 0) {
        return std::optional<std::error_code>{};
    }
    return std::optional<std::error_code>{std::error_code(*err, std::system_category())};
}

task<io::result<tcp_stream>> tcp_socket::connect(socket_address addr) && {
    if (fd_ < 0) {
        co_return std::unexpected(make_error_code(io::errc::closed));
    }
    auto source = co_await impl::connect_fd(release(), addr.data(), addr.size());
    if (!source) {
        co_return std::unexpected(source.error());
    }
    co_return tcp_stream(std::move(*source));
}

io::result<tcp_listener> tcp_socket::listen(std::uint32_t backlog) && noexcept {
    if (fd_ < 0) {
        return std::unexpected(make_error_code(io::errc::closed));
    }
    impl::fd_guard guard{release()};
    if (::listen(guard.fd, static_cast<int>(std::min<std::uint32_t>(backlog, SOMAXCONN * 64))) <
        0) {
        return impl::errno_error();
    }
    auto listener = tcp_listener::from_fd(guard.fd);
    if (listener) {
        guard.release();
    }
    return listener;
}

} // namespace tako::net
