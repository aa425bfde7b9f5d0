#!/usr/bin/env bash
# Builds and runs the whole test suite in the release, asan and tsan presets (or the ones
# named as arguments), then runs each codec fuzz target for TAKO_FUZZ_SECONDS (default 30;
# 0 skips them: scripts/fuzz.sh). Installs missing packages first.
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
fuzz_seconds=${TAKO_FUZZ_SECONDS:-30}
if [ "$fuzz_seconds" != 0 ]; then
    echo "==> fuzz: ${fuzz_seconds}s per target" >&2
    scripts/fuzz.sh "$fuzz_seconds" || status=1
fi
exit $status
