#pragma once
// What every part of tako::fs shares: errno as an error code, an owning descriptor, and
// running a job on the blocking pool with its failure mapped to an error code (and, for
// the path-taking functions, to an fs::error naming the path).

#include <unistd.h>

#include <cerrno>
#include <expected>
#include <filesystem>
#include <system_error>
#include <type_traits>
#include <utility>

#include "tako/blocking.hpp"
#include "tako/fs/error.hpp"
#include "tako/io/result.hpp"
#include "tako/join_error.hpp"
#include "tako/runtime.hpp"
#include "tako/task.hpp"

namespace tako::fs::detail {

/// The calling thread's errno as an error code.
[[nodiscard]] inline std::error_code last_error() noexcept {
    return {errno, std::system_category()};
}
[[nodiscard]] inline std::unexpected<std::error_code> errno_error() noexcept {
    return std::unexpected(last_error());
}

/// A descriptor closed by its destructor, so a job's result that nobody takes (the
/// awaiting task was cancelled) does not leak it.
class unique_fd {
public:
    unique_fd() noexcept = default;
    explicit unique_fd(int fd) noexcept : fd_(fd) {}
    unique_fd(unique_fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    unique_fd& operator=(unique_fd&& o) noexcept {
        if (this != &o) {
            reset(std::exchange(o.fd_, -1));
        }
        return *this;
    }
    ~unique_fd() { reset(); }
    [[nodiscard]] int get() const noexcept { return fd_; }
    [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }
    void reset(int fd = -1) noexcept {
        if (fd_ >= 0) {
            ::close(fd_);
        }
        fd_ = fd;
    }

private:
    int fd_ = -1;
};

/// Why a blocking-pool job gave no value: the runtime shut down before it ran, or it
/// could not start (no thread), or it threw (a std::system_error keeps its code).
[[nodiscard]] std::error_code join_failure(const join_error& e) noexcept;

/// Runs `job()` (which returns an io::result) on the blocking pool: one trip.
/// `io::errc::no_runtime` outside a runtime.
template <class Job>
task<std::invoke_result_t<Job&>> on_pool(Job job) {
    using R = std::invoke_result_t<Job&>;
    if (!runtime_handle::try_current()) {
        co_return R(std::unexpected(make_error_code(io::errc::no_runtime)));
    }
    auto handle = tako::spawn_blocking(std::move(job));
    auto done = co_await handle;
    if (!done) {
        co_return R(std::unexpected(join_failure(done.error())));
    }
    co_return std::move(*done);
}

/// An io::result as an fs::result whose error names `op` and the path(s).
template <class T>
fs::result<T> with_path(io::result<T>&& r, const char* op, std::filesystem::path&& path,
                        std::filesystem::path&& path2 = {}) {
    if (!r) {
        return std::unexpected(fs::error(r.error(), op, std::move(path), std::move(path2)));
    }
    if constexpr (std::is_void_v<T>) {
        return {};
    } else {
        return std::move(*r);
    }
}

/// `on_pool(job)` for a path-taking function: the error names `op`, `path` and `path2`.
template <class Job>
auto path_op(const char* op, std::filesystem::path path, std::filesystem::path path2, Job job)
    -> task<fs::result<typename std::invoke_result_t<Job&>::value_type>> {
    auto r = co_await on_pool(std::move(job));
    co_return with_path(std::move(r), op, std::move(path), std::move(path2));
}

} // namespace tako::fs::detail
