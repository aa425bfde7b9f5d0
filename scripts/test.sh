#!/usr/bin/env bash
# Builds and runs the whole test suite in the release, asan and tsan presets (or the ones
# named as arguments). Installs missing packages first. Ends with ctest's summary.
set -euo pipefail
cd "$(dirname "$0")/.."
presets=("$@")
[ ${#presets[@]} -gt 0 ] || presets=(release asan tsan)

scripts/ensure-deps.sh
jobs=$(nproc)
status=0
for p in "${presets[@]}"; do
    echo "==> $p: configure and build" >&2
    cmake --preset "$p" >/dev/null
    cmake --build --preset "$p" -j "$jobs"
    echo "==> $p: test" >&2
    ctest --preset "$p" -j "$jobs" --timeout 600 || status=1
done
exit $status
