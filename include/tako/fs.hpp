#pragma once
/// \file
/// `tako::fs` in one include: `fs::file` and `fs::open_options` (file.hpp), the
/// whole-file helpers and path operations (ops.hpp), directories (dir.hpp), metadata and
/// errors. The design — why small reads cost no thread hop, what the destructor does with
/// buffered writes — is in docs/fs.md.

#include "tako/fs/dir.hpp"
#include "tako/fs/error.hpp"
#include "tako/fs/file.hpp"
#include "tako/fs/metadata.hpp"
#include "tako/fs/open_options.hpp"
#include "tako/fs/ops.hpp"
