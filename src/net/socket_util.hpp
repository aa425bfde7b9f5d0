#pragma once
// Socket helpers shared by the net types: errno as io::result, options, addresses.

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <optional>
#include <utility>

#include "tako/io/result.hpp"
#include "tako/net/socket_address.hpp"

namespace tako::net::impl {

inline std::unexpected<std::error_code> errno_error() noexcept {
    return std::unexpected(std::error_code(errno, std::system_category()));
}

inline io::result<void> check(int rc) noexcept {
    if (rc < 0) {
        return errno_error();
    }
    return {};
}

template <class T>
io::result<void> set_option(int fd, int level, int name, T value) noexcept {
    if (fd < 0) {
        return std::unexpected(make_error_code(io::errc::closed));
    }
    return check(::setsockopt(fd, level, name, &value, sizeof value));
}

template <class T>
io::result<T> get_option(int fd, int level, int name) noexcept {
    if (fd < 0) {
        return std::unexpected(make_error_code(io::errc::closed));
    }
    T value{};
    ::socklen_t len = sizeof value;
    if (::getsockopt(fd, level, name, &value, &len) < 0) {
        return errno_error();
    }
    return value;
}

/// An int option read as a flag.
inline io::result<bool> get_flag(int fd, int level, int name) noexcept {
    auto v = get_option<int>(fd, level, name);
    if (!v) {
        return std::unexpected(v.error());
    }
    return *v != 0;
}

/// An int option read as an unsigned value (TTLs).
inline io::result<std::uint32_t> get_unsigned(int fd, int level, int name) noexcept {
    auto v = get_option<int>(fd, level, name);
    if (!v) {
        return std::unexpected(v.error());
    }
    return static_cast<std::uint32_t>(*v);
}

/// getsockname / getpeername as a socket_address.
template <class F>
io::result<socket_address> address_of(int fd, F getter) noexcept {
    if (fd < 0) {
        return std::unexpected(make_error_code(io::errc::closed));
    }
    ::sockaddr_storage ss{};
    ::socklen_t len = sizeof ss;
    if (getter(fd, reinterpret_cast<::sockaddr*>(&ss), &len) < 0) {
        return errno_error();
    }
    return socket_address::from_sockaddr(reinterpret_cast<::sockaddr*>(&ss), len);
}

/// Makes `fd` non-blocking.
inline io::result<void> set_nonblocking(int fd) noexcept {
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0) {
        return errno_error();
    }
    return check(::fcntl(fd, F_SETFL, flags | O_NONBLOCK));
}

/// SO_LINGER from an optional duration (nullopt: off).
inline io::result<void> set_linger(int fd, std::optional<std::chrono::seconds> linger) noexcept {
    ::linger l{};
    l.l_onoff = linger ? 1 : 0;
    l.l_linger = linger ? static_cast<int>(linger->count()) : 0;
    return set_option(fd, SOL_SOCKET, SO_LINGER, l);
}

/// SO_LINGER as an optional duration.
inline io::result<std::optional<std::chrono::seconds>> get_linger(int fd) noexcept {
    auto l = get_option<::linger>(fd, SOL_SOCKET, SO_LINGER);
    if (!l) {
        return std::unexpected(l.error());
    }
    if (l->l_onoff == 0) {
        return std::optional<std::chrono::seconds>{};
    }
    return std::optional<std::chrono::seconds>{std::chrono::seconds(l->l_linger)};
}

/// A new non-blocking, close-on-exec socket.
inline io::result<int> new_socket(int family, int type) noexcept {
    const int fd = ::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return errno_error();
    }
    return fd;
}

/// Closes `fd` unless released.
struct fd_guard {
    int fd;
    ~fd_guard() {
        if (fd >= 0) {
            ::close(fd);
        }
    }
    int release() noexcept { return std::exchange(fd, -1); }
};

} // namespace tako::net::impl
