#pragma once
/// \file
/// `tako::process::command`: describes a program to run and starts it
/// (`tokio::process::Command`).
///
/// ```cpp
/// #include <tako/process.hpp>
///
/// tako::task<int> list_tmp() {
///     tako::process::command ls("ls");
///     ls.arg("-l").current_dir("/tmp").env("LC_ALL", "C");
///     auto out = co_await ls.output();           // io::result<process::output>
///     if (!out) {
///         std::fprintf(stderr, "ls: %s\n", out.error().message().c_str());
///         co_return 1;
///     }
///     std::fputs(out->stdout.c_str(), stdout);
///     co_return out->status.code().value_or(1);
/// }
/// ```
///
/// A `command` is plain data until `spawn()`: building it does nothing. `spawn()` starts
/// the process at once (it is not a coroutine) and gives a `child`; `status()` and
/// `output()` spawn and then wait. The program is looked up in `PATH` (the command's own
/// `PATH` if `env` set one, else the parent's) unless it contains a '/'; a program that is
/// not found is reported by `spawn` as `no_such_file_or_directory`, one that is not
/// executable as `permission_denied` — the error of the child's `execve`, reported before
/// `spawn` returns.
///
/// **How the child is made.** `clone(CLONE_VM | CLONE_VFORK | CLONE_PIDFD)` on a stack of
/// its own, as `posix_spawn` does: no page tables are copied, the parent thread resumes once
/// the child called `execve` (or failed), and the failure's errno is read from memory the
/// two share. Between the clone and the `execve`, the child makes only raw system calls:
/// signal handlers back to their defaults, the signal mask emptied, standard streams put in
/// place, every other descriptor marked close-on-exec (`close_range`), then the process
/// group, group id, user id and working directory. Descriptors tako creates (pipes, the
/// pidfd, /dev/null) are close-on-exec from birth: a child gets its three standard streams
/// and nothing else of the parent's.
///
/// Defaults: the standard streams are inherited by `spawn` and `status`; `output` makes
/// standard input `/dev/null` and pipes standard output and error unless they were set.
/// The environment is the parent's, with the changes made here applied in order.

#include <sys/types.h>

#include <array>
#include <initializer_list>
#include <optional>
#include <ranges>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tako/io/result.hpp"
#include "tako/process/child.hpp"
#include "tako/process/exit_status.hpp"
#include "tako/task.hpp"

namespace tako::process {

/// What a child's standard stream is connected to.
enum class stdio {
    inherit, ///< the parent's own stream (the default for `spawn` and `status`)
    null,    ///< /dev/null
    piped,   ///< a pipe to the parent: `child::stdin()` / `stdout()` / `stderr()`
};

/// A program to run, with its arguments, environment and standard streams.
class command {
public:
    /// Runs `program` (a path, or a name looked up in `PATH`); it is also `argv[0]`.
    explicit command(std::string program) : program_(std::move(program)) {}

    /// Appends one argument.
    command& arg(std::string a) {
        args_.push_back(std::move(a));
        return *this;
    }
    /// Appends every argument of `list`.
    command& args(std::initializer_list<std::string_view> list) {
        for (auto a : list) {
            args_.emplace_back(a);
        }
        return *this;
    }
    /// Appends every argument of a range of strings.
    template <std::ranges::input_range R>
    requires std::convertible_to<std::ranges::range_reference_t<R>, std::string_view> command&
    args(R&& r) {
        for (auto&& a : r) {
            args_.emplace_back(std::string_view(a));
        }
        return *this;
    }
    /// Sets `key=value` in the child's environment.
    command& env(std::string key, std::string value) {
        env_.emplace_back(std::move(key), std::move(value));
        return *this;
    }
    /// Sets every `(key, value)` pair of a range.
    template <std::ranges::input_range R>
    command& envs(R&& r) {
        for (auto&& [k, v] : r) {
            env(std::string(k), std::string(v));
        }
        return *this;
    }
    /// Removes `key` from the child's environment.
    command& env_remove(std::string key) {
        env_.emplace_back(std::move(key), std::nullopt);
        return *this;
    }
    /// Starts the child's environment empty (the variables set after this still apply).
    command& env_clear() {
        env_.clear();
        env_clear_ = true;
        return *this;
    }
    /// The child's working directory (relative program paths are taken from there).
    command& current_dir(std::string dir) {
        dir_ = std::move(dir);
        return *this;
    }
    /// The child's user id (`setuid` in the child; needs the privilege). When the parent
    /// runs as root, the supplementary groups are dropped too.
    command& uid(::uid_t id) {
        uid_ = id;
        return *this;
    }
    /// The child's group id (`setgid` in the child; needs the privilege).
    command& gid(::gid_t id) {
        gid_ = id;
        return *this;
    }
    /// Puts the child in process group `pgid`; 0 makes a new group led by the child (so a
    /// terminal's ctrl-c does not reach it).
    command& process_group(::pid_t pgid) {
        pgroup_ = pgid;
        return *this;
    }
    /// Where the child's standard input comes from.
    command& stdin(process::stdio s) {
        stdio_[0] = s;
        return *this;
    }
    /// Where the child's standard output goes.
    command& stdout(process::stdio s) {
        stdio_[1] = s;
        return *this;
    }
    /// Where the child's standard error goes.
    command& stderr(process::stdio s) {
        stdio_[2] = s;
        return *this;
    }
    /// When true, destroying the `child` before its status was collected sends it SIGKILL
    /// (it is reaped either way).
    command& kill_on_drop(bool on) {
        kill_on_drop_ = on;
        return *this;
    }

    [[nodiscard]] const std::string& get_program() const noexcept { return program_; }
    [[nodiscard]] const std::vector<std::string>& get_args() const noexcept { return args_; }
    [[nodiscard]] bool get_kill_on_drop() const noexcept { return kill_on_drop_; }

    /// Starts the process now. Errors: the child's `execve` errno
    /// (`no_such_file_or_directory`, `permission_denied`, ...) or the errno of the step that
    /// failed before it (`chdir`, `setuid`, ...), `invalid_argument` for an empty program
    /// or a string with a NUL byte, `io::errc::no_runtime` / `io_disabled` outside a
    /// runtime with I/O, and the errno of `pipe2` / `clone` (`too_many_files_open`,
    /// `resource_unavailable_try_again`). On error nothing is left running.
    [[nodiscard]] io::result<child> spawn() const;
    /// Spawns (standard streams inherited unless set) and waits for the exit status.
    /// Cancel safety: as `child::wait`; cancelled, the child is handed to the orphan
    /// reaper (killed first if `kill_on_drop`).
    [[nodiscard]] task<io::result<exit_status>> status() const;
    /// Spawns with standard input from /dev/null and standard output and error piped
    /// (unless set), collects both and the status. Not cancel-safe: cancelled, the output is
    /// lost and the child goes to the orphan reaper (killed first if `kill_on_drop`).
    [[nodiscard]] task<io::result<process::output>> output() const;

private:
    [[nodiscard]] io::result<child>
    spawn_with(const std::array<std::optional<process::stdio>, 3>& io) const;

    std::string program_;
    std::vector<std::string> args_;
    std::vector<std::pair<std::string, std::optional<std::string>>> env_;
    bool env_clear_ = false;
    std::optional<std::string> dir_;
    std::optional<::uid_t> uid_;
    std::optional<::gid_t> gid_;
    std::optional<::pid_t> pgroup_;
    std::array<std::optional<process::stdio>, 3> stdio_;
    bool kill_on_drop_ = false;
};

} // namespace tako::process
