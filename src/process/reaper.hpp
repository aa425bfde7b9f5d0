#pragma once
// Collecting children's exit statuses through their pidfds (docs/process-signal.md):
// `reap` for a child someone waits for, `reap_orphan` for one nobody will wait for.

#include <sys/types.h>

#include <optional>

#include "tako/io/result.hpp"
#include "tako/process/exit_status.hpp"

namespace tako::process::detail {

/// `waitid(P_PIDFD, pidfd, WEXITED | WNOHANG)`: the status if the process has exited (it is
/// then reaped), `std::nullopt` if it still runs, or the errno (ECHILD: reaped elsewhere).
[[nodiscard]] io::result<std::optional<exit_status>> reap(int pidfd) noexcept;

/// Takes `pidfd` (whose process nobody will wait for) and makes sure the process is reaped
/// once it exits: at once if it already has; else the calling thread's runtime's I/O driver
/// watches the pidfd and reaps it when readable; without a usable driver, the pidfd joins
/// a process-wide list that `reap_orphans` collects.
void reap_orphan(int pidfd) noexcept;

/// Collects the orphans of the process-wide list that have exited (called by `spawn` and by
/// every driver-side reap).
void reap_orphans() noexcept;

/// `pidfd_send_signal(pidfd, sig)`.
[[nodiscard]] io::result<void> send_signal(int pidfd, int sig) noexcept;

} // namespace tako::process::detail
