#pragma once
/// \file
/// Directories in `tako::fs`: `create_dir`, `create_dir_all`, `remove_dir`,
/// `remove_dir_all`, and `read_dir`, whose entries carry their file type from the
/// directory itself (d_type), without a stat per entry.
///
/// ```cpp
/// #include <tako/fs/dir.hpp>
///
/// // Total size of the regular files under `root`, walking every subdirectory.
/// tako::task<tako::fs::result<std::uint64_t>> du(std::filesystem::path root) {
///     std::uint64_t total = 0;
///     std::vector<std::filesystem::path> todo{root};
///     while (!todo.empty()) {
///         auto dir = co_await tako::fs::read_dir(todo.back());
///         todo.pop_back();
///         if (!dir) co_return std::unexpected(dir.error());
///         while (auto e = co_await dir->next()) {
///             if (!*e) break;                              // end of the directory
///             if ((*e)->is_dir()) todo.push_back((*e)->path());
///             if (!(*e)->is_file()) continue;
///             if (auto m = co_await (*e)->metadata()) total += m->len();
///         }
///     }
///     co_return total;
/// }
/// ```
///
/// `read_dir` reads a directory in batches: one blocking-pool trip runs getdents64 with a
/// 32 KiB buffer (hundreds of entries; Tokio takes 32 per trip) and `next()` hands them
/// out without suspending. "." and ".." are skipped. On filesystems that leave d_type
/// unknown the same trip lstat()s those entries, so `file_type()` is always known.
///
/// **Cancel safety.** `dir_reader::next` is cancel-safe: a batch read by a cancelled call
/// is kept and handed out by the next call. `create_dir*` / `remove_dir*` cancelled still
/// run to the end on the pool.

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tako/fs/error.hpp"
#include "tako/fs/metadata.hpp"
#include "tako/join_handle.hpp"
#include "tako/task.hpp"

namespace tako::fs {

/// Creates the directory `path` (mode 0777 before the umask); `file_exists` if anything
/// is there, `no_such_file_or_directory` if the parent is missing.
[[nodiscard]] task<result<void>> create_dir(std::filesystem::path path);
/// Creates `path` and every missing parent; succeeds if `path` already is a directory.
/// One trip.
[[nodiscard]] task<result<void>> create_dir_all(std::filesystem::path path);
/// Removes the empty directory `path`; `directory_not_empty` otherwise.
[[nodiscard]] task<result<void>> remove_dir(std::filesystem::path path);
/// Removes `path` and everything under it, in one trip. Symlinks inside are removed,
/// never followed (a symlink at `path` itself is removed as a link); the walk opens each
/// directory relative to its parent with O_NOFOLLOW, so a directory swapped for a symlink
/// meanwhile cannot redirect it.
[[nodiscard]] task<result<void>> remove_dir_all(std::filesystem::path path);

/// One entry of a directory: its name and type, known without a stat.
class dir_entry {
public:
    dir_entry() = default;
    dir_entry(std::filesystem::path dir, std::string name, std::filesystem::file_type type,
              std::uint64_t ino)
        : path_(std::move(dir) / name), name_(std::move(name)), type_(type), ino_(ino) {}

    /// The directory's path joined with the entry's name.
    [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
    /// The entry's name in its directory.
    [[nodiscard]] const std::string& file_name() const noexcept { return name_; }
    /// The type of the entry itself (a symlink is `symlink`, not what it points to).
    [[nodiscard]] std::filesystem::file_type file_type() const noexcept { return type_; }
    [[nodiscard]] bool is_file() const noexcept {
        return type_ == std::filesystem::file_type::regular;
    }
    [[nodiscard]] bool is_dir() const noexcept {
        return type_ == std::filesystem::file_type::directory;
    }
    [[nodiscard]] bool is_symlink() const noexcept {
        return type_ == std::filesystem::file_type::symlink;
    }
    /// The inode number (d_ino).
    [[nodiscard]] std::uint64_t ino() const noexcept { return ino_; }
    /// The entry's attributes, a symlink not followed (`symlink_metadata(path())`, one
    /// trip).
    [[nodiscard]] task<result<file_metadata>> metadata() const;

private:
    std::filesystem::path path_;
    std::string name_;
    std::filesystem::file_type type_ = std::filesystem::file_type::unknown;
    std::uint64_t ino_ = 0;
};

namespace detail {
struct dir_core; // the open directory, shared with a batch read in flight (src/fs/dir.cpp)
struct dir_batch {
    std::vector<dir_entry> entries;
    std::error_code error;
    bool end = false;
};
} // namespace detail

/// The entries of a directory, read in batches (`tokio::fs::ReadDir`). Movable. One
/// `next()` at a time.
class dir_reader {
public:
    dir_reader() noexcept;
    dir_reader(dir_reader&&) noexcept;
    dir_reader& operator=(dir_reader&&) noexcept;
    ~dir_reader();

    /// The next entry, or an empty optional at the end. Errors carry the directory's
    /// path. Cancel-safe.
    [[nodiscard]] task<result<std::optional<dir_entry>>> next();
    /// The directory being read.
    [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

private:
    friend task<result<dir_reader>> read_dir(std::filesystem::path path);
    dir_reader(std::shared_ptr<detail::dir_core> core, std::filesystem::path path) noexcept;

    std::shared_ptr<detail::dir_core> core_;
    std::filesystem::path path_;
    std::vector<dir_entry> batch_;
    std::size_t next_ = 0;
    bool end_ = false;
    join_handle<detail::dir_batch> inflight_;
};

/// Opens the directory `path` for reading its entries (one trip). `not_a_directory` for
/// a file.
[[nodiscard]] task<result<dir_reader>> read_dir(std::filesystem::path path);

} // namespace tako::fs
