#pragma once
/// \file
/// The test clock: `tako::time::pause`, `resume`, `advance` (Tokio's `test-util`).
///
/// While the clock is paused and every task is idle, the runtime jumps the clock to the next
/// timer's deadline instead of sleeping (not while blocking-pool work runs), so timer tests
/// run instantly and deterministically. `runtime::builder::start_paused(true)` starts paused.
/// Only a current_thread runtime can pause its clock.

#include "tako/task.hpp"
#include "tako/time/instant.hpp"
#include "tako/yield.hpp"

namespace tako::time {

/// Pauses the current runtime's clock. Throws `std::logic_error` outside a current_thread
/// runtime.
void pause();
/// Resumes a paused clock (time continues from where it stood). Throws if not paused.
void resume();
/// Moves a paused clock forward by `d`, fires the timers that became due, and yields so the
/// woken tasks run. Throws `std::logic_error` if the clock is not paused.
task<void> advance(duration d);

} // namespace tako::time
