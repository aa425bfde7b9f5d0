#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/ with clang-19 (ASan + UBSan) in build/fuzz and runs
# each for SECONDS (default 30), starting from its committed seed corpus in
# fuzz/corpus/<target>/ (new inputs go to build/fuzz/corpus/<target>/, never into the
# repository). Prints each target's executions and coverage; exits non-zero if one fails.
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]   (targets: lines_codec any_delimiter_codec
#        length_delimited_codec bytes_codec resp_codec)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(lines_codec any_delimiter_codec length_delimited_codec bytes_codec resp_codec)

dir=build/fuzz
launcher=()
command -v ccache >/dev/null 2>&1 && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$dir" -G Ninja -DCMAKE_CXX_COMPILER=clang++-19 -DCMAKE_BUILD_TYPE=Debug \
    -DTAKO_BUILD_FUZZ=ON -DTAKO_BUILD_TESTS=OFF -DTAKO_BUILD_BENCH=OFF \
    -DTAKO_BUILD_EXAMPLES=OFF -DTAKO_WERROR=ON "${launcher[@]}" >/dev/null
cmake --build "$dir" --target "${targets[@]/#/fuzz_}" >/dev/null

status=0
for t in "${targets[@]}"; do
    corpus=$dir/corpus/$t
    mkdir -p "$corpus"
    log=$dir/fuzz_$t.log
    echo "==> fuzz_$t: ${seconds}s" >&2
    if "$dir/fuzz/fuzz_$t" "$corpus" "fuzz/corpus/$t" -max_total_time="$seconds" \
        -print_final_stats=1 -artifact_prefix="$dir/crash-$t-" >"$log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
        ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1)
        echo "fuzz_$t: ok, $runs executions, $cov, $ft, corpus $(ls "$corpus" | wc -l) inputs"
    else
        echo "fuzz_$t: FAILED (log: $log)" >&2
        grep -E 'ERROR|fuzz check failed|SUMMARY|Test unit written' "$log" >&2 || tail -20 "$log" >&2
        status=1
    fi
done
exit $status
