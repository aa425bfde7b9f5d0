#include "tako/net/socket_address.hpp"

#include <arpa/inet.h>
#include <net/if.h>

#include <charconv>
#include <cstring>
#include <ostream>

namespace tako::net {

namespace {

std::unexpected<std::error_code> invalid() noexcept {
    return std::unexpected(make_error_code(io::errc::invalid_address));
}

bool parse_port(std::string_view s, std::uint16_t& port) noexcept {
    if (s.empty() || s.size() > 5) {
        return false;
    }
    unsigned v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || end != s.data() + s.size() || v > 65535) {
        return false;
    }
    port = static_cast<std::uint16_t>(v);
    return true;
}

} // namespace

socket_address::socket_address() noexcept {
    storage_.ss_family = AF_INET;
}

io::result<socket_address> socket_address::from_ip(std::string_view ip,
                                                   std::uint16_t port) noexcept {
    char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
    if (ip.empty() || ip.size() >= sizeof buf) {
        return invalid();
    }
    std::memcpy(buf, ip.data(), ip.size());
    buf[ip.size()] = '\0';
    socket_address a;
    if (ip.find(':') == std::string_view::npos) {
        auto* v4 = reinterpret_cast<::sockaddr_in*>(&a.storage_);
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        if (::inet_pton(AF_INET, buf, &v4->sin_addr) != 1) {
            return invalid();
        }
        return a;
    }
    auto* v6 = reinterpret_cast<::sockaddr_in6*>(&a.storage_);
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    if (char* pct = std::strchr(buf, '%')) {
        *pct = '\0';
        const char* scope = pct + 1;
        unsigned id = 0;
        const std::size_t len = std::strlen(scope);
        auto [end, ec] = std::from_chars(scope, scope + len, id);
        if (len == 0) {
            return invalid();
        }
        if (ec != std::errc{} || end != scope + len) {
            id = ::if_nametoindex(scope); // a name: "eth0"
            if (id == 0) {
                return invalid();
            }
        }
        v6->sin6_scope_id = id;
    }
    if (::inet_pton(AF_INET6, buf, &v6->sin6_addr) != 1) {
        return invalid();
    }
    return a;
}

io::result<socket_address> socket_address::parse(std::string_view text) noexcept {
    std::uint16_t port = 0;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':' ||
            !parse_port(text.substr(close + 2), port)) {
            return invalid();
        }
        auto a = from_ip(text.substr(1, close - 1), port);
        if (!a || !a->is_ipv6()) {
            return invalid();
        }
        return a;
    }
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos || text.find(':') != colon ||
        !parse_port(text.substr(colon + 1), port)) {
        return invalid(); // no port, or an unbracketed IPv6 address
    }
    return from_ip(text.substr(0, colon), port);
}

io::result<socket_address> socket_address::from_sockaddr(const ::sockaddr* sa,
                                                         ::socklen_t len) noexcept {
    socket_address a;
    if (sa == nullptr) {
        return invalid();
    }
    if (sa->sa_family == AF_INET && len >= static_cast<::socklen_t>(sizeof(::sockaddr_in))) {
        std::memcpy(&a.storage_, sa, sizeof(::sockaddr_in));
        return a;
    }
    if (sa->sa_family == AF_INET6 && len >= static_cast<::socklen_t>(sizeof(::sockaddr_in6))) {
        std::memcpy(&a.storage_, sa, sizeof(::sockaddr_in6));
        return a;
    }
    return invalid();
}

socket_address socket_address::v4_loopback(std::uint16_t port) noexcept {
    socket_address a;
    auto* v4 = reinterpret_cast<::sockaddr_in*>(&a.storage_);
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

socket_address socket_address::v6_loopback(std::uint16_t port) noexcept {
    socket_address a;
    auto* v6 = reinterpret_cast<::sockaddr_in6*>(&a.storage_);
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    v6->sin6_addr = in6addr_loopback;
    return a;
}

std::uint16_t socket_address::port() const noexcept {
    if (is_ipv6()) {
        return ntohs(reinterpret_cast<const ::sockaddr_in6*>(&storage_)->sin6_port);
    }
    return ntohs(reinterpret_cast<const ::sockaddr_in*>(&storage_)->sin_port);
}

void socket_address::set_port(std::uint16_t port) noexcept {
    if (is_ipv6()) {
        reinterpret_cast<::sockaddr_in6*>(&storage_)->sin6_port = htons(port);
    } else {
        reinterpret_cast<::sockaddr_in*>(&storage_)->sin_port = htons(port);
    }
}

std::string socket_address::ip_string() const {
    char buf[INET6_ADDRSTRLEN] = {};
    if (is_ipv6()) {
        const auto* v6 = reinterpret_cast<const ::sockaddr_in6*>(&storage_);
        ::inet_ntop(AF_INET6, &v6->sin6_addr, buf, sizeof buf);
        std::string s = buf;
        if (v6->sin6_scope_id != 0) {
            s += '%';
            s += std::to_string(v6->sin6_scope_id);
        }
        return s;
    }
    ::inet_ntop(AF_INET, &reinterpret_cast<const ::sockaddr_in*>(&storage_)->sin_addr, buf,
                sizeof buf);
    return buf;
}

std::string socket_address::to_string() const {
    const std::string port_text = std::to_string(port());
    return is_ipv6() ? "[" + ip_string() + "]:" + port_text : ip_string() + ":" + port_text;
}

bool operator==(const socket_address& a, const socket_address& b) noexcept {
    if (a.family() != b.family()) {
        return false;
    }
    if (a.is_ipv6()) {
        const auto* x = reinterpret_cast<const ::sockaddr_in6*>(&a.storage_);
        const auto* y = reinterpret_cast<const ::sockaddr_in6*>(&b.storage_);
        return x->sin6_port == y->sin6_port && x->sin6_scope_id == y->sin6_scope_id &&
               std::memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
    }
    const auto* x = reinterpret_cast<const ::sockaddr_in*>(&a.storage_);
    const auto* y = reinterpret_cast<const ::sockaddr_in*>(&b.storage_);
    return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
}

std::ostream& operator<<(std::ostream& os, const socket_address& a) {
    return os << a.to_string();
}

} // namespace tako::net
