#pragma once
/// \file
/// tako's time module: sleep, timeout, interval, instant, and the pausable test clock.

#include "tako/time/clock.hpp"
#include "tako/time/instant.hpp"
#include "tako/time/interval.hpp"
#include "tako/time/sleep.hpp"
#include "tako/time/timeout.hpp"
