#pragma once
/// \file
/// `tako::net::shutdown_how`: which direction a stream socket's `shutdown` closes
/// (`std::net::Shutdown`).

#include <sys/socket.h>

namespace tako::net {

/// Which direction `tcp_stream::shutdown` / `unix_stream::shutdown` closes.
enum class shutdown_how {
    read = SHUT_RD,   ///< no more reads: further reads return end of stream
    write = SHUT_WR,  ///< no more writes: the peer reads end of stream after the data sent
    both = SHUT_RDWR, ///< both
};

} // namespace tako::net
