#pragma once
/// \file
/// `tako::net::lookup_host`: resolve "host:port" to socket addresses
/// (`tokio::net::lookup_host`).
///
/// ```cpp
/// #include <tako/net/lookup_host.hpp>
///
/// tako::task<void> resolve() {
///     auto addrs = co_await tako::net::lookup_host("localhost:6379");
///     if (!addrs) {
///         std::fprintf(stderr, "%s\n", addrs.error().message().c_str());
///         co_return;
///     }
///     for (const auto& a : *addrs) std::printf("%s\n", a.to_string().c_str());
/// }
/// ```
///
/// Numeric addresses ("127.0.0.1:80", "[::1]:80") resolve at once; names go through
/// getaddrinfo(3) on the blocking pool, so the worker never blocks. Resolver failures are
/// errors of `tako::net::resolver_category()` (the message is gai_strerror's). Not
/// cancellable once the lookup runs: cancelling the awaiting task abandons the result.

#include <string>
#include <system_error>
#include <vector>

#include "tako/io/result.hpp"
#include "tako/net/socket_address.hpp"
#include "tako/task.hpp"

namespace tako::net {

/// getaddrinfo's errors (EAI_*), as error codes.
[[nodiscard]] const std::error_category& resolver_category() noexcept;

/// Every address `host_port` ("host:port", "[v6]:port") names, in the resolver's order.
[[nodiscard]] task<io::result<std::vector<socket_address>>> lookup_host(std::string host_port);

} // namespace tako::net
