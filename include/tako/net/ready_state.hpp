#pragma once
/// \file
/// `tako::net::ready_state`: the readiness a socket's `readable()` / `writable()` report
/// (`tokio::io::Ready`), shared by every socket type; the same type as
/// `tako::io::ready_state` (tako/io/ready.hpp), which `io::async_fd` reports.

#include "tako/io/ready.hpp"

namespace tako::net {

using io::ready_state;

} // namespace tako::net
