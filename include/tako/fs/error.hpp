#pragma once
/// \file
/// `tako::fs::error` and `tako::fs::result<T>`: what the path-taking functions of
/// `tako::fs` return. An error keeps the errno the kernel gave *and* the path (or the two
/// paths of `rename`, `copy`, `hard_link`, `symlink`) and the operation that failed, so a
/// log line says which file was missing:
///
/// ```cpp
/// #include <tako/fs/ops.hpp>
///
/// tako::task<int> load_config() {
///     auto text = co_await tako::fs::read_to_string("/etc/app.conf");
///     if (!text && text.error() == std::errc::no_such_file_or_directory) {
///         co_return 0;                                   // no config: defaults
///     }
///     if (!text) {
///         // "open '/etc/app.conf': Permission denied"
///         std::fprintf(stderr, "%s\n", text.error().message().c_str());
///         co_return 1;
///     }
///     co_return 0;
/// }
/// ```
///
/// An `fs::error` converts to `std::error_code` (its `code()`), so an `fs::result<T>`
/// converts to an `io::result<T>` where only the code matters. The operations of an open
/// `fs::file` (read, write, flush, …) return `io::result` like every stream (the `io::`
/// concepts require it); `file::path()` names the file.

#include <expected>
#include <filesystem>
#include <string>
#include <system_error>
#include <utility>

namespace tako::fs {

/// A failed filesystem operation: the error code, the operation and the path(s).
class error {
public:
    error() noexcept = default;
    /// `code` from operation `op` (a string literal, e.g. "open") on `path` (and `path2`).
    error(std::error_code code, const char* op, std::filesystem::path path,
          std::filesystem::path path2 = {}) noexcept
        : code_(code), op_(op), path_(std::move(path)), path2_(std::move(path2)) {}

    /// The errno as a `std::error_code` (`std::system_category()`), or one of tako's
    /// `io::errc` values (e.g. `no_runtime`).
    [[nodiscard]] const std::error_code& code() const noexcept { return code_; }
    /// What failed: "open", "read", "rename", "read_dir", …
    [[nodiscard]] const char* operation() const noexcept { return op_; }
    /// The path the operation was given (the source for two-path operations).
    [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
    /// The second path (destination of `rename` / `copy` / `hard_link`, the link of
    /// `symlink`); empty for one-path operations.
    [[nodiscard]] const std::filesystem::path& path2() const noexcept { return path2_; }
    /// "open '/a/b': No such file or directory" (with " -> '/c'" for two paths).
    [[nodiscard]] std::string message() const;

    /// The code alone, for code that handles `std::error_code`.
    operator std::error_code() const noexcept { return code_; } // NOLINT: implicit on purpose

    friend bool operator==(const error& e, std::errc c) noexcept { return e.code_ == c; }
    friend bool operator==(const error& e, const std::error_code& c) noexcept {
        return e.code_ == c;
    }

private:
    std::error_code code_;
    const char* op_ = "";
    std::filesystem::path path_;
    std::filesystem::path path2_;
};

/// A value, or the `fs::error` that says what failed on which path.
template <class T>
using result = std::expected<T, error>;

} // namespace tako::fs
