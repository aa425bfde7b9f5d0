#pragma once
/// \file
/// tako's I/O utilities in one include: the stream concepts (traits.hpp), `read_exact` /
/// `write_all` and integer helpers (util.hpp), buffered readers and writers (buffered.hpp),
/// `read_until` / `read_line` / `lines` (lines.hpp), `copy` and `copy_bidirectional`
/// (copy.hpp), in-memory `duplex` / `simplex` streams (duplex.hpp) and the small adapters
/// `empty`, `sink`, `repeat`, `take`, `chain` (adapters.hpp).

#include "tako/io/adapters.hpp"
#include "tako/io/buffered.hpp"
#include "tako/io/copy.hpp"
#include "tako/io/duplex.hpp"
#include "tako/io/lines.hpp"
#include "tako/io/stdio.hpp"
#include "tako/io/traits.hpp"
#include "tako/io/util.hpp"
