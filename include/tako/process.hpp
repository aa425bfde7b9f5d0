#pragma once
/// \file
/// tako's child processes in one include: `command` (process/command.hpp), `child`
/// (process/child.hpp), the pipes to a child's standard streams (process/pipe.hpp) and
/// `exit_status` (process/exit_status.hpp). See docs/process-signal.md.

#include "tako/process/child.hpp"
#include "tako/process/command.hpp"
#include "tako/process/exit_status.hpp"
#include "tako/process/pipe.hpp"
