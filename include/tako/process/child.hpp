#pragma once
/// \file
/// `tako::process::child`: a running (or finished) child process started by
/// `command::spawn` (`tokio::process::Child`).
///
/// ```cpp
/// #include <tako/process.hpp>
///
/// tako::task<int> run_and_report() {
///     auto child = tako::process::command("sleep").arg("0.1").spawn();
///     if (!child) co_return 127;                 // e.g. no_such_file_or_directory
///     std::printf("started pid %d\n", static_cast<int>(*child->id()));
///     auto status = co_await child->wait();      // io::result<exit_status>
///     co_return status && status->success() ? 0 : 1;
/// }
/// ```
///
/// **How children are reaped.** Each child comes with a pidfd (made by `clone` with
/// `CLONE_PIDFD`, so it names exactly this process, never a recycled pid). The pidfd is
/// registered with the runtime's I/O driver: `wait()` suspends until the kernel reports it
/// readable (the child exited), then collects the status with `waitid(P_PIDFD, ...)`. There
/// is no SIGCHLD handler, so tako never steals another library's children (and a
/// `waitpid(-1)` elsewhere in the process can steal tako's: `wait()` then fails with
/// `no_child_process`).
///
/// **No zombies.** A `child` destroyed before its status was collected hands its pidfd to
/// the runtime's I/O driver, which reaps the process when it exits (no task, no thread).
/// If the runtime shuts down first, the pidfd joins a process-wide list that the next
/// `spawn` (or the next reap by any runtime) collects. `kill_on_drop(true)` sends SIGKILL
/// first, so the process is gone and reaped shortly after the `child` is destroyed.
///
/// **Threads.** A `child` is used by one task at a time (like a socket); its operations
/// must run on the runtime that spawned it.

#include <sys/types.h>

#include <optional>
#include <string>

#include "tako/detail/io_source.hpp"
#include "tako/io/result.hpp"
#include "tako/process/exit_status.hpp"
#include "tako/process/pipe.hpp"
#include "tako/task.hpp"

namespace tako::process {

/// What `wait_with_output` and `command::output` collect.
struct output {
    exit_status status;
    std::string stdout; ///< everything the child wrote to its piped standard output
    std::string stderr; ///< everything the child wrote to its piped standard error
};

/// A child process. Move-only.
class child {
public:
    child(child&&) noexcept = default;
    child& operator=(child&& o) noexcept;
    /// If the status was not collected: kills the process when `kill_on_drop` was set, and
    /// hands it to the orphan reaper (see the file comment) — never a zombie, never a
    /// blocking wait. The pipes the parent still holds are closed.
    ~child();

    /// The process id, until the status is collected (then `std::nullopt`: the pid may
    /// already belong to another process).
    [[nodiscard]] std::optional<::pid_t> id() const noexcept;
    /// The pidfd that names the process (-1 once the status is collected).
    [[nodiscard]] int pidfd() const noexcept { return pidfd_.fd(); }

    /// The child's standard input, if it was `stdio::piped` and not taken.
    [[nodiscard]] std::optional<child_stdin>& stdin() noexcept { return stdin_; }
    /// The child's standard output, if it was `stdio::piped` and not taken.
    [[nodiscard]] std::optional<child_stdout>& stdout() noexcept { return stdout_; }
    /// The child's standard error, if it was `stdio::piped` and not taken.
    [[nodiscard]] std::optional<child_stderr>& stderr() noexcept { return stderr_; }
    /// Moves the standard input pipe out (empty if there is none).
    [[nodiscard]] std::optional<child_stdin> take_stdin() noexcept;
    /// Moves the standard output pipe out (empty if there is none).
    [[nodiscard]] std::optional<child_stdout> take_stdout() noexcept;
    /// Moves the standard error pipe out (empty if there is none).
    [[nodiscard]] std::optional<child_stderr> take_stderr() noexcept;

    /// Closes the standard input pipe (so a child reading it sees end of file), then waits
    /// until the process exits and collects its status. Once collected, every later call
    /// returns the same status at once. Errors: `no_child_process` if someone else reaped
    /// it, `io::errc::runtime_shut_down`. **Cancel-safe**: cancelled while suspended,
    /// nothing is lost; the process keeps running and a later `wait` still gets its status.
    [[nodiscard]] task<io::result<exit_status>> wait();
    /// The status if the process has exited (collecting it), `std::nullopt` if it still
    /// runs. Never blocks.
    [[nodiscard]] io::result<std::optional<exit_status>> try_wait() noexcept;
    /// Reads the piped standard output and error to their end while waiting for the
    /// process (concurrently, so a child that fills one pipe cannot deadlock), closing
    /// standard input first. Streams that were not piped (or were taken) give empty
    /// strings. Not cancel-safe: cancelled midway, the output read so far is lost (the
    /// pipes stay with the `child`; the process keeps running).
    [[nodiscard]] task<io::result<output>> wait_with_output();
    /// Sends SIGKILL (see `start_kill`) and waits for the process. Cancel-safe as `wait`.
    [[nodiscard]] task<io::result<exit_status>> kill();
    /// Sends SIGKILL through the pidfd without waiting. Does nothing (successfully) if the
    /// status was already collected.
    io::result<void> start_kill() noexcept;
    /// Sends signal `sig` through the pidfd (`pidfd_send_signal`); does nothing once the
    /// status was collected.
    io::result<void> send_signal(int sig) noexcept;

private:
    friend class command;
    child(::pid_t pid, ::tako::detail::io_source pidfd, bool kill_on_drop) noexcept
        : pid_(pid), pidfd_(std::move(pidfd)), kill_on_drop_(kill_on_drop) {}
    /// Reaps now if the process has exited (`WNOHANG`): whether it was collected.
    io::result<bool> reap_now() noexcept;
    void abandon() noexcept;

    ::pid_t pid_ = -1;
    ::tako::detail::io_source pidfd_;
    bool kill_on_drop_ = false;
    std::optional<exit_status> status_;
    std::optional<child_stdin> stdin_;
    std::optional<child_stdout> stdout_;
    std::optional<child_stderr> stderr_;
};

} // namespace tako::process
