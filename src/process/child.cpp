// child: waiting for a process through its pidfd, and handing it to the orphan reaper when
// nobody will.

#include "tako/process/child.hpp"

#include <signal.h>

#include "process/reaper.hpp"
#include "tako/io/util.hpp"
#include "tako/join.hpp"

namespace tako::process {

using tako::detail::io_direction;

namespace {

/// Reads `pipe` (if there is one) to its end.
task<io::result<std::string>> drain(std::optional<pipe_reader>* pipe) {
    std::string out;
    if (pipe->has_value()) {
        auto n = co_await io::read_to_string(**pipe, out);
        if (!n) {
            co_return std::unexpected(n.error());
        }
    }
    co_return out;
}

} // namespace

child& child::operator=(child&& o) noexcept {
    if (this != &o) {
        abandon();
        pid_ = o.pid_;
        pidfd_ = std::move(o.pidfd_);
        kill_on_drop_ = o.kill_on_drop_;
        status_ = std::exchange(o.status_, std::nullopt);
        stdin_ = std::exchange(o.stdin_, std::nullopt);
        stdout_ = std::exchange(o.stdout_, std::nullopt);
        stderr_ = std::exchange(o.stderr_, std::nullopt);
    }
    return *this;
}

child::~child() {
    abandon();
}

void child::abandon() noexcept {
    stdin_.reset();
    stdout_.reset();
    stderr_.reset();
    if (!pidfd_.is_open()) {
        return; // moved from, or the status was collected
    }
    if (kill_on_drop_) {
        (void)detail::send_signal(pidfd_.fd(), SIGKILL);
    }
    detail::reap_orphan(pidfd_.release());
}

std::optional<::pid_t> child::id() const noexcept {
    if (!pidfd_.is_open()) {
        return std::nullopt;
    }
    return pid_;
}

std::optional<child_stdin> child::take_stdin() noexcept {
    return std::exchange(stdin_, std::nullopt);
}

std::optional<child_stdout> child::take_stdout() noexcept {
    return std::exchange(stdout_, std::nullopt);
}

std::optional<child_stderr> child::take_stderr() noexcept {
    return std::exchange(stderr_, std::nullopt);
}

io::result<bool> child::reap_now() noexcept {
    if (status_) {
        return true;
    }
    if (!pidfd_.is_open()) {
        return std::unexpected(make_error_code(io::errc::closed));
    }
    auto r = detail::reap(pidfd_.fd());
    if (!r) {
        return std::unexpected(r.error());
    }
    if (!*r) {
        return false;
    }
    status_ = **r;
    pidfd_.close(); // the pid is free for reuse now: nothing may signal it any more
    return true;
}

task<io::result<exit_status>> child::wait() {
    stdin_.reset(); // a child that reads its input to the end would wait for us forever
    for (;;) {
        auto done = reap_now();
        if (!done) {
            co_return std::unexpected(done.error());
        }
        if (*done) {
            co_return *status_;
        }
        // Readable once the process has exited; the loop reaps it.
        auto token = co_await pidfd_.ready(io_direction::read);
        if (!token) {
            co_return std::unexpected(token.error());
        }
        if (!reap_now().value_or(true)) {
            pidfd_.clear_ready(io_direction::read, *token); // a spurious edge
        }
    }
}

io::result<std::optional<exit_status>> child::try_wait() noexcept {
    auto done = reap_now();
    if (!done) {
        return std::unexpected(done.error());
    }
    if (!*done) {
        return std::nullopt;
    }
    return status_;
}

task<io::result<output>> child::wait_with_output() {
    stdin_.reset();
    auto [out, err, status] = co_await tako::join(drain(&stdout_), drain(&stderr_), wait());
    if (!status) {
        co_return std::unexpected(status.error());
    }
    if (!out) {
        co_return std::unexpected(out.error());
    }
    if (!err) {
        co_return std::unexpected(err.error());
    }
    stdout_.reset();
    stderr_.reset();
    co_return output{*status, std::move(*out), std::move(*err)};
}

task<io::result<exit_status>> child::kill() {
    if (auto sent = start_kill(); !sent) {
        co_return std::unexpected(sent.error());
    }
    co_return co_await wait();
}

io::result<void> child::start_kill() noexcept {
    return send_signal(SIGKILL);
}

io::result<void> child::send_signal(int sig) noexcept {
    if (status_) {
        return {};
    }
    if (!pidfd_.is_open()) {
        return std::unexpected(make_error_code(io::errc::closed));
    }
    return detail::send_signal(pidfd_.fd(), sig);
}

} // namespace tako::process
