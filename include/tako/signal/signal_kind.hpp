#pragma once
/// \file
/// `tako::signal::signal_kind`: which Unix signal a listener waits for
/// (`tokio::signal::unix::SignalKind`).
///
/// ```cpp
/// #include <tako/signal/signal_kind.hpp>
///
/// constexpr auto reload = tako::signal::signal_kind::hangup();     // SIGHUP
/// inline auto realtime() { return tako::signal::signal_kind::from_raw(SIGRTMIN + 1); }
/// ```

#include <csignal>

namespace tako::signal {

/// A signal number, with names for the common ones.
class signal_kind {
public:
    /// Any signal number (checked when a listener is made: SIGKILL, SIGSTOP and the
    /// synchronous fault signals SIGILL, SIGFPE, SIGSEGV cannot be listened to).
    [[nodiscard]] static constexpr signal_kind from_raw(int signum) noexcept {
        return signal_kind(signum);
    }
    /// SIGINT: ctrl-c at a terminal.
    [[nodiscard]] static constexpr signal_kind interrupt() noexcept { return signal_kind(SIGINT); }
    /// SIGTERM: a polite request to exit (what `kill` and service managers send).
    [[nodiscard]] static constexpr signal_kind terminate() noexcept { return signal_kind(SIGTERM); }
    /// SIGHUP: the terminal went away; by convention also "reload your configuration".
    [[nodiscard]] static constexpr signal_kind hangup() noexcept { return signal_kind(SIGHUP); }
    /// SIGQUIT: ctrl-\ at a terminal.
    [[nodiscard]] static constexpr signal_kind quit() noexcept { return signal_kind(SIGQUIT); }
    /// SIGUSR1.
    [[nodiscard]] static constexpr signal_kind user_defined1() noexcept {
        return signal_kind(SIGUSR1);
    }
    /// SIGUSR2.
    [[nodiscard]] static constexpr signal_kind user_defined2() noexcept {
        return signal_kind(SIGUSR2);
    }
    /// SIGCHLD: a child stopped or exited (tako's own children are reaped through pidfds;
    /// listening here changes nothing for them).
    [[nodiscard]] static constexpr signal_kind child() noexcept { return signal_kind(SIGCHLD); }
    /// SIGPIPE: a write to a pipe or socket with no reader (tako's own writes never
    /// raise it).
    [[nodiscard]] static constexpr signal_kind pipe() noexcept { return signal_kind(SIGPIPE); }
    /// SIGWINCH: the terminal's size changed.
    [[nodiscard]] static constexpr signal_kind window_change() noexcept {
        return signal_kind(SIGWINCH);
    }
    /// SIGALRM: an `alarm(2)` timer expired.
    [[nodiscard]] static constexpr signal_kind alarm() noexcept { return signal_kind(SIGALRM); }
    /// SIGIO: asynchronous I/O is possible.
    [[nodiscard]] static constexpr signal_kind io() noexcept { return signal_kind(SIGIO); }

    /// The signal number.
    [[nodiscard]] constexpr int as_raw_value() const noexcept { return signum_; }

    friend constexpr bool operator==(signal_kind, signal_kind) noexcept = default;

private:
    constexpr explicit signal_kind(int signum) noexcept : signum_(signum) {}
    int signum_;
};

} // namespace tako::signal
