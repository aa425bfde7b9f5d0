#pragma once
/// \file
/// tako's signal handling in one include: `ctrl_c()` (signal/ctrl_c.hpp),
/// `unix_signal(kind)` and its listener (signal/unix_signal.hpp), `signal_kind`
/// (signal/signal_kind.hpp). See docs/process-signal.md.

#include "tako/signal/ctrl_c.hpp"
#include "tako/signal/signal_kind.hpp"
#include "tako/signal/unix_signal.hpp"
