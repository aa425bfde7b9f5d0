#pragma once
/// \file
/// `tako::net::socket_address`: an IPv4 or IPv6 address and port (Rust's `SocketAddr`).
///
/// ```cpp
/// #include <tako/net/socket_address.hpp>
///
/// inline void show() {
///     auto a = tako::net::socket_address::parse("127.0.0.1:8080");     // io::result<…>
///     auto b = tako::net::socket_address::parse("[fe80::1%1]:443");     // scope id 1
///     auto bad = tako::net::socket_address::parse("localhost:80");      // not numeric
///     std::printf("%s %s %s\n", a->to_string().c_str(), b->to_string().c_str(),
///                 bad.error().message().c_str());
/// }
/// ```
///
/// `parse` takes numeric addresses only; names go through `lookup_host`.

#include <netinet/in.h>
#include <sys/socket.h>

#include <compare>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>

#include "tako/io/result.hpp"

namespace tako::net {

class socket_address {
public:
    /// 0.0.0.0:0.
    socket_address() noexcept;
    /// `ip` in presentation form ("10.0.0.1", "::1", "fe80::1%eth0") and a port.
    [[nodiscard]] static io::result<socket_address> from_ip(std::string_view ip,
                                                            std::uint16_t port) noexcept;
    /// "a.b.c.d:port", "[v6]:port" or "[v6%scope]:port"; anything else is
    /// `io::errc::invalid_address`.
    [[nodiscard]] static io::result<socket_address> parse(std::string_view text) noexcept;
    /// From a kernel address (AF_INET or AF_INET6; another family is invalid_address).
    [[nodiscard]] static io::result<socket_address> from_sockaddr(const ::sockaddr* sa,
                                                                  ::socklen_t len) noexcept;
    [[nodiscard]] static socket_address v4_loopback(std::uint16_t port) noexcept;
    [[nodiscard]] static socket_address v6_loopback(std::uint16_t port) noexcept;

    [[nodiscard]] bool is_ipv4() const noexcept { return storage_.ss_family == AF_INET; }
    [[nodiscard]] bool is_ipv6() const noexcept { return storage_.ss_family == AF_INET6; }
    [[nodiscard]] std::uint16_t port() const noexcept;
    void set_port(std::uint16_t port) noexcept;
    /// The address without the port ("::1", "10.0.0.1").
    [[nodiscard]] std::string ip_string() const;
    /// "10.0.0.1:80", "[::1]:80", "[fe80::1%2]:80".
    [[nodiscard]] std::string to_string() const;

    [[nodiscard]] const ::sockaddr* data() const noexcept {
        return reinterpret_cast<const ::sockaddr*>(&storage_);
    }
    [[nodiscard]] ::socklen_t size() const noexcept {
        return is_ipv6() ? sizeof(::sockaddr_in6) : sizeof(::sockaddr_in);
    }
    [[nodiscard]] int family() const noexcept { return storage_.ss_family; }

    friend bool operator==(const socket_address& a, const socket_address& b) noexcept;

private:
    ::sockaddr_storage storage_{};
};

std::ostream& operator<<(std::ostream& os, const socket_address& a);

} // namespace tako::net
