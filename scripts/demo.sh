#!/usr/bin/env bash
# Builds (release) and runs the demo: tako's runtime at work.
set -euo pipefail
cd "$(dirname "$0")/.."
TAKO_NEED_CLANG=0 scripts/ensure-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target demo -j "$(nproc)" >/dev/null
exec ./build/release/examples/demo
