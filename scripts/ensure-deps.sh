#!/usr/bin/env bash
# Installs what tako's builds need and a fresh Debian 12 machine may lack: clang-19 and its
# sanitizer runtimes (asan/tsan presets), plus the basics if they are missing. Idempotent.
set -euo pipefail

need=()
command -v cmake >/dev/null 2>&1 || need+=(cmake)
command -v ninja >/dev/null 2>&1 || need+=(ninja-build)
command -v g++ >/dev/null 2>&1 || need+=(g++)
[ -f /usr/include/gtest/gtest.h ] || need+=(libgtest-dev libgmock-dev)
[ -f /usr/include/benchmark/benchmark.h ] || need+=(libbenchmark-dev)
# Real clients the example tests drive.
command -v nc >/dev/null 2>&1 || need+=(netcat-openbsd)
command -v redis-cli >/dev/null 2>&1 || need+=(redis-tools)
if [ "${TAKO_NEED_CLANG:-1}" = 1 ]; then
    command -v clang++-19 >/dev/null 2>&1 || need+=(clang-19)
    ls /usr/lib/llvm-19/lib/clang/19/lib/linux/libclang_rt.tsan-x86_64.a >/dev/null 2>&1 ||
        need+=(libclang-rt-19-dev)
fi

if [ ${#need[@]} -gt 0 ]; then
    echo "ensure-deps: installing ${need[*]}" >&2
    sudo=()
    [ "$(id -u)" = 0 ] || sudo=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -q >/dev/null
    "${sudo[@]}" apt-get install -y -q "${need[@]}" >/dev/null
fi
