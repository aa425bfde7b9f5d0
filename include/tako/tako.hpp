#pragma once
/// \file
/// Everything tako offers, in one include.

#include "tako/blocking.hpp"
#include "tako/join.hpp"
#include "tako/join_error.hpp"
#include "tako/join_handle.hpp"
#include "tako/join_set.hpp"
#include "tako/local_set.hpp"
#include "tako/main.hpp"
#include "tako/runtime.hpp"
#include "tako/select.hpp"
#include "tako/spawn.hpp"
#include "tako/sync/notify.hpp"
#include "tako/sync/oneshot.hpp"
#include "tako/task.hpp"
#include "tako/task_id.hpp"
#include "tako/task_local.hpp"
#include "tako/time.hpp"
#include "tako/unconstrained.hpp"
#include "tako/yield.hpp"
