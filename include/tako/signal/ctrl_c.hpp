#pragma once
/// \file
/// `tako::signal::ctrl_c()`: completes at the next SIGINT (`tokio::signal::ctrl_c`).
///
/// ```cpp
/// #include <tako/signal/ctrl_c.hpp>
///
/// tako::task<int> serve_until_ctrl_c() {
///     auto stop = tako::spawn(tako::signal::ctrl_c());
///     // ... serve, and check stop.is_finished(), or select on it ...
///     (void)co_await stop;
///     std::puts("ctrl-c: shutting down");
///     co_return 0;
/// }
/// ```
///
/// The SIGINT handler is installed when the returned task *starts*, and stays installed
/// afterwards (see unix_signal.hpp): from the first `ctrl_c()` on, SIGINT no longer ends
/// the process. A SIGINT that arrives before the task starts still ends it; to be sure none
/// is lost, create `unix_signal(signal_kind::interrupt())` early and `recv()` on it.

#include "tako/io/result.hpp"
#include "tako/task.hpp"

namespace tako::signal {

/// Completes once the process receives SIGINT after the task started. Errors: those of
/// `unix_signal`. Cancel-safe: cancelled, it leaves nothing behind (the handler stays).
[[nodiscard]] task<io::result<void>> ctrl_c();

} // namespace tako::signal
