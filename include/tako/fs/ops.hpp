#pragma once
/// \file
/// Whole-file helpers and path operations of `tako::fs` (`tokio::fs`'s free functions):
/// `read`, `read_to_string`, `write`, `rename`, `copy`, `remove_file`, `hard_link`,
/// `symlink`, `read_link`, `canonicalize`, `metadata`, `symlink_metadata`, `try_exists`,
/// `set_permissions`. Directories are in dir.hpp.
///
/// ```cpp
/// #include <tako/fs/ops.hpp>
///
/// tako::task<tako::fs::result<void>> bump_counter(std::string path) {
///     auto text = co_await tako::fs::read_to_string(path);   // one blocking-pool trip
///     int n = text ? std::atoi(text->c_str()) : 0;
///     auto tmp = path + ".tmp";
///     if (auto w = co_await tako::fs::write(tmp, std::to_string(n + 1)); !w) co_return w;
///     co_return co_await tako::fs::rename(tmp, path);       // atomic replace
/// }
/// ```
///
/// Each function is **one** trip to the blocking pool, however large the file: `read`
/// opens, sizes, reads and closes in one job (Tokio does the same; its `File` does not).
/// Errors are `fs::error`s: the errno and the path(s). Outside a runtime they fail with
/// `io::errc::no_runtime`.
///
/// **Cancel safety.** Cancelling the awaiting task does not stop the job: a cancelled
/// `write`, `rename`, `remove_file`, `copy` … still happens (or fails) on the pool; only
/// its result is lost. The read-only functions have no effect to lose.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tako/fs/error.hpp"
#include "tako/fs/metadata.hpp"
#include "tako/task.hpp"

namespace tako::fs {

/// The whole contents of `path` (sized from fstat, so one allocation for a regular file;
/// files that report no size, as in /proc, are read until end of file).
[[nodiscard]] task<result<std::vector<std::byte>>> read(std::filesystem::path path);
/// The whole contents of `path` as bytes in a string (no encoding check).
[[nodiscard]] task<result<std::string>> read_to_string(std::filesystem::path path);
/// Creates or truncates `path` and writes `contents` (moved into the job, no copy).
[[nodiscard]] task<result<void>> write(std::filesystem::path path, std::vector<std::byte> contents);
/// Creates or truncates `path` and writes `contents` (moved into the job, no copy).
[[nodiscard]] task<result<void>> write(std::filesystem::path path, std::string contents);
/// Creates or truncates `path` and writes a copy of `contents`.
[[nodiscard]] task<result<void>> write(std::filesystem::path path,
                                       std::span<const std::byte> contents);
/// Creates or truncates `path` and writes a copy of `text`.
[[nodiscard]] inline task<result<void>> write(std::filesystem::path path, std::string_view text) {
    return write(std::move(path), std::string(text));
}
/// Creates or truncates `path` and writes a copy of `text`.
[[nodiscard]] inline task<result<void>> write(std::filesystem::path path, const char* text) {
    return write(std::move(path), std::string(text));
}

/// Renames `from` to `to`, replacing `to` if it exists (rename(2); atomic on one
/// filesystem; `cross_device_link` across filesystems).
[[nodiscard]] task<result<void>> rename(std::filesystem::path from, std::filesystem::path to);
/// Copies the contents and permission bits of the file `from` to `to` (created or
/// truncated); the number of bytes copied. In the kernel where it can (copy_file_range).
[[nodiscard]] task<result<std::uint64_t>> copy(std::filesystem::path from,
                                               std::filesystem::path to);
/// Removes a file or symlink (unlink(2)); `is_a_directory` for a directory.
[[nodiscard]] task<result<void>> remove_file(std::filesystem::path path);
/// Makes `link` a new name of the file `original` (link(2)).
[[nodiscard]] task<result<void>> hard_link(std::filesystem::path original,
                                           std::filesystem::path link);
/// Makes `link` a symbolic link to `original` (symlink(2); `original` need not exist).
[[nodiscard]] task<result<void>> symlink(std::filesystem::path original,
                                         std::filesystem::path link);
/// What the symlink `path` points to (readlink(2)).
[[nodiscard]] task<result<std::filesystem::path>> read_link(std::filesystem::path path);
/// The absolute path with every symlink, "." and ".." resolved (realpath(3)); the path
/// must exist.
[[nodiscard]] task<result<std::filesystem::path>> canonicalize(std::filesystem::path path);
/// The attributes of `path`, following symlinks (stat(2)).
[[nodiscard]] task<result<file_metadata>> metadata(std::filesystem::path path);
/// The attributes of `path` itself, a symlink not followed (lstat(2)).
[[nodiscard]] task<result<file_metadata>> symlink_metadata(std::filesystem::path path);
/// Whether `path` exists (following symlinks: false for a dangling one). Unlike
/// `std::filesystem::exists`, an error other than "not found" (`permission_denied` on a
/// parent) is an error, not `false`.
[[nodiscard]] task<result<bool>> try_exists(std::filesystem::path path);
/// Sets the permission bits of `path` (chmod(2)).
[[nodiscard]] task<result<void>> set_permissions(std::filesystem::path path,
                                                 std::filesystem::perms perms);

} // namespace tako::fs
