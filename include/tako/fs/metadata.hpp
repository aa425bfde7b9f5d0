#pragma once
/// \file
/// `tako::fs::file_metadata`: what `fs::metadata`, `fs::symlink_metadata` and
/// `file::metadata` report about a file (Tokio's / std's `Metadata`). File types and
/// permission bits are the standard library's `std::filesystem::file_type` and
/// `std::filesystem::perms`.
///
/// ```cpp
/// #include <tako/fs/ops.hpp>
///
/// tako::task<void> show(std::string path) {
///     auto m = co_await tako::fs::metadata(path);
///     if (m && m->is_file()) {
///         std::printf("%s: %llu bytes\n", path.c_str(),
///                     static_cast<unsigned long long>(m->len()));
///     }
/// }
/// ```

#include <sys/stat.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>

namespace tako::fs {

/// The file type of a `st_mode` (regular, directory, symlink, fifo, socket, block,
/// character, or unknown).
[[nodiscard]] std::filesystem::file_type file_type_of(::mode_t mode) noexcept;

/// A snapshot of a file's attributes (stat(2)).
class file_metadata {
public:
    using time_point = std::chrono::system_clock::time_point;

    file_metadata() noexcept = default;
    explicit file_metadata(const struct ::stat& st) noexcept : st_(st) {}

    /// Regular file, directory, symlink (only from `symlink_metadata`), …
    [[nodiscard]] std::filesystem::file_type type() const noexcept {
        return file_type_of(st_.st_mode);
    }
    [[nodiscard]] bool is_file() const noexcept { return S_ISREG(st_.st_mode); }
    [[nodiscard]] bool is_dir() const noexcept { return S_ISDIR(st_.st_mode); }
    [[nodiscard]] bool is_symlink() const noexcept { return S_ISLNK(st_.st_mode); }
    /// Size in bytes (st_size).
    [[nodiscard]] std::uint64_t len() const noexcept {
        return static_cast<std::uint64_t>(st_.st_size);
    }
    /// The permission bits (and set-uid / set-gid / sticky).
    [[nodiscard]] std::filesystem::perms permissions() const noexcept {
        return static_cast<std::filesystem::perms>(st_.st_mode & 07777);
    }
    /// True when no write bit is set (std's `Permissions::readonly`).
    [[nodiscard]] bool readonly() const noexcept { return (st_.st_mode & 0222) == 0; }
    /// The whole st_mode (type and permission bits).
    [[nodiscard]] ::mode_t mode() const noexcept { return st_.st_mode; }
    /// Last modification (st_mtim).
    [[nodiscard]] time_point modified() const noexcept { return to_time(st_.st_mtim); }
    /// Last access (st_atim).
    [[nodiscard]] time_point accessed() const noexcept { return to_time(st_.st_atim); }
    /// Last status change (st_ctim).
    [[nodiscard]] time_point changed() const noexcept { return to_time(st_.st_ctim); }
    [[nodiscard]] std::uint64_t ino() const noexcept { return st_.st_ino; }
    [[nodiscard]] std::uint64_t dev() const noexcept { return st_.st_dev; }
    [[nodiscard]] std::uint64_t nlink() const noexcept { return st_.st_nlink; }
    [[nodiscard]] ::uid_t uid() const noexcept { return st_.st_uid; }
    [[nodiscard]] ::gid_t gid() const noexcept { return st_.st_gid; }
    /// The raw stat(2) record.
    [[nodiscard]] const struct ::stat& native() const noexcept { return st_; }

private:
    static time_point to_time(const struct ::timespec& ts) noexcept {
        return time_point(std::chrono::duration_cast<time_point::duration>(
            std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec)));
    }

    struct ::stat st_ {};
};

} // namespace tako::fs
