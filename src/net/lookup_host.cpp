#include "tako/net/lookup_host.hpp"

#include <netdb.h>

#include <cstring>
#include <string_view>

#include "tako/blocking.hpp"

namespace tako::net {

namespace {

class resolver_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "tako.resolver"; }
    std::string message(int c) const override { return ::gai_strerror(c); }
};

/// Splits "host:port" / "[v6]:port"; false if malformed.
bool split_host_port(std::string_view text, std::string& host, std::string& port) {
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos || close + 2 > text.size() || text[close + 1] != ':') {
            return false;
        }
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string_view::npos || text.find(':') != colon) {
            return false;
        }
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
    }
    return !host.empty() && !port.empty() &&
           port.find_first_not_of("0123456789") == std::string::npos && port.size() <= 5 &&
           std::stoul(port) <= 65535;
}

io::result<std::vector<socket_address>> resolve(const std::string& host, const std::string& port) {
    ::addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM; // one entry per address, not one per socket type
    hints.ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV;
    ::addrinfo* list = nullptr;
    const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &list);
    if (rc != 0) {
        if (rc == EAI_SYSTEM) {
            return std::unexpected(std::error_code(errno, std::system_category()));
        }
        return std::unexpected(std::error_code(rc, resolver_category()));
    }
    std::vector<socket_address> out;
    for (::addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
        if (auto a = socket_address::from_sockaddr(ai->ai_addr, ai->ai_addrlen)) {
            out.push_back(*a);
        }
    }
    ::freeaddrinfo(list);
    if (out.empty()) {
        return std::unexpected(make_error_code(io::errc::no_addresses));
    }
    return out;
}

} // namespace

const std::error_category& resolver_category() noexcept {
    static const resolver_category_impl c;
    return c;
}

task<io::result<std::vector<socket_address>>> lookup_host(std::string host_port) {
    if (auto a = socket_address::parse(host_port)) {
        co_return std::vector<socket_address>{*a};
    }
    std::string host;
    std::string port;
    if (!split_host_port(host_port, host, port)) {
        co_return std::unexpected(make_error_code(io::errc::invalid_address));
    }
    auto joined = co_await tako::spawn_blocking(resolve, std::move(host), std::move(port));
    if (!joined) {
        co_return std::unexpected(std::make_error_code(std::errc::operation_canceled));
    }
    co_return std::move(*joined);
}

} // namespace tako::net
