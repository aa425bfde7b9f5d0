#pragma once
/// \file
/// `tako::net::unix_address`: the address of a Unix domain socket
/// (`std::os::unix::net::SocketAddr`): a filesystem path, a name in Linux's abstract
/// namespace, or unnamed.
///
/// ```cpp
/// #include <tako/net/unix_address.hpp>
///
/// inline void show() {
///     auto file = tako::net::unix_address::from_path("/tmp/app.sock");
///     auto abstract = tako::net::unix_address::from_path("@app");   // no file
///     std::printf("%s %s %d\n", file->path().c_str(), abstract->to_string().c_str(),
///                 abstract->is_abstract());
/// }
/// ```
///
/// **Path strings.** Every tako function that takes a Unix socket path as a string reads
/// it the same way: a leading `'@'` or `'\0'` names the rest in the abstract namespace (no
/// file is created; the name disappears with the last socket bound to it); anything else
/// is a filesystem path (write `"./@name"` for a file whose name starts with '@'). An
/// empty path, or a filesystem path containing `'\0'`, is `io::errc::invalid_address`; a
/// path too long for `sockaddr_un` (107 bytes) is `std::errc::filename_too_long`.

#include <sys/socket.h>
#include <sys/un.h>

#include <iosfwd>
#include <string>
#include <string_view>

#include "tako/io/result.hpp"

namespace tako::net {

/// A Unix domain socket address.
class unix_address {
public:
    /// An unnamed address (an unbound socket, or a peer from `pair()`).
    unix_address() noexcept;
    /// Parses a path string (see the file's comment): `invalid_address` or
    /// `filename_too_long` if it cannot be a Unix socket address.
    [[nodiscard]] static io::result<unix_address> from_path(std::string_view path) noexcept;
    /// From a kernel address of family AF_UNIX (another family: `invalid_address`).
    [[nodiscard]] static io::result<unix_address> from_sockaddr(const ::sockaddr* sa,
                                                                ::socklen_t len) noexcept;

    /// Bound to nothing.
    [[nodiscard]] bool is_unnamed() const noexcept;
    /// A name in the abstract namespace.
    [[nodiscard]] bool is_abstract() const noexcept;
    /// The filesystem path; empty for an unnamed or abstract address.
    [[nodiscard]] std::string path() const;
    /// The abstract name without its leading '\0' (may hold any bytes); empty otherwise.
    [[nodiscard]] std::string abstract_name() const;
    /// The address as a path string that `from_path` reads back: the path, "@name" for an
    /// abstract name, "" for unnamed.
    [[nodiscard]] std::string to_string() const;

    /// The kernel's form, for bind(2) / connect(2).
    [[nodiscard]] const ::sockaddr* data() const noexcept {
        return reinterpret_cast<const ::sockaddr*>(&addr_);
    }
    /// The length of the kernel's form.
    [[nodiscard]] ::socklen_t size() const noexcept { return len_; }

    /// Equal family, kind and bytes.
    friend bool operator==(const unix_address& a, const unix_address& b) noexcept;

private:
    /// The bytes of sun_path in use (without the terminating '\0' of a path).
    [[nodiscard]] std::string_view raw() const noexcept;

    ::sockaddr_un addr_{};
    ::socklen_t len_;
};

/// Writes `to_string()`, or "(unnamed)".
std::ostream& operator<<(std::ostream& os, const unix_address& a);

} // namespace tako::net
