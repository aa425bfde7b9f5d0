#pragma once
// The part of an fs::file that blocking-pool jobs share with it: the descriptor (closed
// when the last owner lets go) and the hand-over of a destroyed file's last writes to the
// job still running for it. And the one job type every file operation runs.

#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>

#include "fs/pool.hpp"
#include "tako/fs/file.hpp"

namespace tako::fs::detail {

struct file_core {
    file_core(unique_fd f, std::filesystem::path p, bool regular) noexcept
        : fd(std::move(f)), path(std::move(p)), regular(regular) {}

    unique_fd fd;
    std::filesystem::path path;
    /// A regular file: reads may run ahead of the caller into the buffer, and the
    /// cursor can be moved back over bytes read ahead (not so for a pipe or a tty).
    bool regular;

    std::mutex lock;
    /// A job of this file is queued or running (guarded by `lock`). Set by the file when
    /// it starts one, cleared by the job as it ends.
    bool job_active = false;
    /// Pending writes of a file destroyed while its job was active (guarded by `lock`):
    /// that job writes them when it ends, so they land after its own bytes.
    file_buffer tail;
};

/// What a job does after writing its buffer's pending bytes.
enum class file_op : unsigned char {
    read,      ///< read up to `arg` bytes into the buffer
    write,     ///< nothing more: a write-behind or a flush
    fsync,     ///< fsync(2)
    fdatasync, ///< fdatasync(2)
    truncate,  ///< ftruncate(2) to `arg` bytes
    fstat,     ///< fstat(2) into the result
    fchmod,    ///< fchmod(2) to mode `arg`
};

/// One blocking-pool job of a file: write `buf`'s pending bytes [0, len), then `op`.
/// It owns its buffer and a reference to the core, so it finishes even if the file is
/// destroyed meanwhile. Never run (the runtime shut down before the pool took it), its
/// destructor still writes the pending bytes: written data is never dropped.
struct file_job {
    std::shared_ptr<file_core> core;
    file_buffer buf;
    file_op op = file_op::write;
    std::uint64_t arg = 0;
    bool ran = false;

    file_job(std::shared_ptr<file_core> c, file_buffer b, file_op o, std::uint64_t a) noexcept
        : core(std::move(c)), buf(std::move(b)), op(o), arg(a) {}
    file_job(file_job&&) noexcept = default;
    file_job& operator=(file_job&&) = delete;
    ~file_job();

    file_job_result operator()();
};

/// Marks a job of `core` active (before the file starts it).
void mark_job_active(file_core& core) noexcept;

} // namespace tako::fs::detail
