#pragma once
/// \file
/// The splice(2) path of `io::copy` (include/tako/io/copy.hpp): bytes move from one
/// descriptor to another through a pipe inside the kernel, never through user space.

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "tako/io/result.hpp"
#include "tako/task.hpp"

namespace tako::detail {

/// A reader or writer that is one plain descriptor (a socket, a pipe): what it reads or
/// writes goes straight to the descriptor, with no buffer of its own in between.
template <class S>
concept plain_descriptor = requires(const S& s) {
    { s.native_handle() } -> std::same_as<int>;
};

/// What `splice_copy` did.
struct splice_result {
    std::uint64_t bytes = 0; ///< bytes that reached the output
    /// splice(2) cannot be used for this pair (no pipe, a descriptor the driver or splice
    /// rejects): the caller copies the rest with a buffer, starting with `leftover`.
    bool unsupported = false;
    /// Bytes taken from the input that did not reach the output before `unsupported` was
    /// found (the output refused splice with data already in the pipe).
    std::vector<std::byte> leftover;
};

/// Copies `in_fd` to `out_fd` until `in_fd` ends, with splice(2) through a pipe, waiting for
/// readiness through the calling runtime's I/O driver (on duplicates of the descriptors,
/// registered for the copy only; the callers' descriptors are left as they are). Stops at
/// the first error. SIGPIPE is never raised: a closed output gives `broken_pipe`.
/// Cancelled, the bytes in the pipe (at most its capacity, 1 MiB) are lost.
[[nodiscard]] task<io::result<splice_result>> splice_copy(int in_fd, int out_fd);

} // namespace tako::detail
