#pragma once
/// \file
/// `tako::signal::unix_signal(kind)`: a listener that completes `recv()` each time the
/// process receives a signal (`tokio::signal::unix::signal`).
///
/// ```cpp
/// #include <tako/signal/unix_signal.hpp>
///
/// tako::task<void> reload_on_hangup() {
///     auto hup = tako::signal::unix_signal(tako::signal::signal_kind::hangup());
///     if (!hup) co_return;                        // e.g. io_disabled
///     for (;;) {
///         if (!co_await hup->recv()) co_return;
///         std::puts("SIGHUP: reloading");
///     }
/// }
/// ```
///
/// **How a signal travels.** The first listener of a signal installs a process-wide
/// handler (`sigaction`, `SA_RESTART`). The handler does two async-signal-safe things: it
/// sets the signal's pending flag and writes one byte to a non-blocking self-pipe. Every
/// runtime that has a listener watches the pipe's read end with its I/O driver; the thread
/// parked on the driver drains the pipe, and for each pending signal bumps the signal's
/// version counter and wakes every waiting listener (a `notify`). A listener remembers the
/// version it last saw: `recv()` completes when the counter has moved past it.
///
/// Why a self-pipe and not a signalfd: a signalfd only receives signals that every thread
/// of the process blocks, and tako cannot make threads it did not create (another library's,
/// the main thread before the runtime started) block them; a handler runs whichever thread
/// the kernel picks, whatever the masks.
///
/// **Semantics.** Every listener of a signal sees each delivery that happens after it was
/// created (several listeners, in one task or on different workers, all complete). Several
/// deliveries before a `recv()` coalesce into one. The handler stays installed once the
/// listeners are gone (as Tokio): from then on the signal is *ignored*, not given its
/// default action — SIGINT no longer ends the process. The previous handler is replaced,
/// not chained.
///
/// **Thread safety.** A listener is used by one task at a time; make one per task that
/// waits. Listeners are cheap (a signal number and a counter).

#include <cstdint>
#include <utility>

#include "tako/io/result.hpp"
#include "tako/signal/signal_kind.hpp"
#include "tako/task.hpp"

namespace tako::signal {

namespace detail {
struct signal_slot;
} // namespace detail

/// Receives one kind of signal (`tokio::signal::unix::Signal`). Move-only.
class signal_listener {
public:
    /// A closed listener: `recv()` fails with `io::errc::closed`.
    signal_listener() noexcept = default;
    signal_listener(signal_listener&& o) noexcept
        : kind_(o.kind_), slot_(std::exchange(o.slot_, nullptr)), seen_(o.seen_) {}
    signal_listener& operator=(signal_listener&& o) noexcept {
        kind_ = o.kind_;
        slot_ = std::exchange(o.slot_, nullptr);
        seen_ = o.seen_;
        return *this;
    }

    /// Completes once the signal has been delivered since this listener was created or
    /// since the previous `recv()` completed (several deliveries in between count as one).
    /// Errors: `io::errc::closed` (moved-from listener), `no_runtime` / `io_disabled` when
    /// awaited where no I/O driver can watch the signal pipe. **Cancel-safe**: cancelled
    /// while suspended, no delivery is consumed; the next `recv()` still sees it.
    [[nodiscard]] task<io::result<void>> recv();

    /// The signal this listener receives.
    [[nodiscard]] signal_kind kind() const noexcept { return kind_; }

private:
    friend io::result<signal_listener> unix_signal(signal_kind kind);
    signal_listener(signal_kind k, detail::signal_slot* slot, std::uint64_t seen) noexcept
        : kind_(k), slot_(slot), seen_(seen) {}

    signal_kind kind_ = signal_kind::from_raw(0);
    detail::signal_slot* slot_ = nullptr;
    std::uint64_t seen_ = 0;
};

/// A listener for `kind`, installing the process-wide handler if it is the first (see the
/// file comment). Must be called on a runtime with I/O enabled. Errors: `invalid_argument`
/// for a signal that cannot be listened to (out of range, SIGKILL, SIGSTOP, SIGILL,
/// SIGFPE, SIGSEGV), `no_runtime` / `io_disabled`, and the errno of `pipe2` / `sigaction`.
[[nodiscard]] io::result<signal_listener> unix_signal(signal_kind kind);

} // namespace tako::signal
