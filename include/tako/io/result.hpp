#pragma once
/// \file
/// `tako::io::result<T>`: what every I/O operation returns. Nothing on an I/O path throws:
/// an operation gives its value or a `std::error_code` — the kernel's errno in
/// `std::system_category()` (e.g. `std::errc::connection_refused`), or one of tako's own
/// `tako::io::errc` values for misuse of the runtime.
///
/// ```cpp
/// #include <tako/io/result.hpp>
///
/// inline void report(const tako::io::result<std::size_t>& n) {
///     if (!n && n.error() == std::errc::connection_reset) {
///         // the peer reset the connection
///     } else if (!n) {
///         std::fprintf(stderr, "read failed: %s\n", n.error().message().c_str());
///     }
/// }
/// ```

#include <cstdio>
#include <expected>
#include <system_error>
#include <type_traits>

namespace tako::io {

/// A value, or why the operation failed.
template <class T>
using result = std::expected<T, std::error_code>;

/// tako's own I/O errors (category "tako.io"): using a resource where it cannot work.
enum class errc {
    no_runtime = 1,    ///< called outside a tako runtime
    io_disabled,       ///< the runtime was built without `enable_io()`
    wrong_runtime,     ///< the resource belongs to another runtime
    runtime_shut_down, ///< the resource's runtime has shut down
    closed,            ///< the resource was moved from or closed
    invalid_address,   ///< an address that does not parse ("host:port" expected)
    no_addresses,      ///< a name resolved to no address of a usable family
    unexpected_eof,    ///< the stream ended before `read_exact` filled its buffer
    write_zero,        ///< a write accepted no bytes (`write_all` cannot make progress)
};

/// The category of `errc`.
[[nodiscard]] const std::error_category& category() noexcept;

/// Makes an error code of tako's I/O category.
[[nodiscard]] inline std::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), category()};
}

} // namespace tako::io

template <>
struct std::is_error_code_enum<tako::io::errc> : std::true_type {};
