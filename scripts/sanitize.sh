#!/usr/bin/env bash
# Builds pft and its tests with AddressSanitizer + UndefinedBehaviorSanitizer
# (-DPFT_SANITIZE=ON, gcc) into ${PFT_ASAN_BUILD_DIR:-build-asan} and runs the unit and CLI
# tests there (the CLI tests run the sanitized pft binary). Any report fails the run.
#
#   scripts/sanitize.sh [ctest arguments, default: -L "unit|cli"]
#
# Leak detection is off: LibTorch keeps allocations for the life of the process on purpose.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${PFT_ASAN_BUILD_DIR:-$root/build-asan}"
jobs="${PFT_JOBS:-$(nproc)}"
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1
export CCACHE_SLOPPINESS="pch_defines,time_macros,include_file_mtime,include_file_ctime"
if [ ! -f "$build/CMakeCache.txt" ]; then
  gen=()
  command -v ninja >/dev/null 2>&1 && gen=(-G Ninja)
  cmake -S "$root" -B "$build" "${gen[@]}" -DPFT_SANITIZE=ON -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS="-O1 -g1"
fi
cmake --build "$build" -j "$jobs"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:detect_odr_violation=0:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
cd "$build"
if [ "$#" -eq 0 ]; then set -- -L "unit|cli"; fi
ctest --output-on-failure -j "${PFT_TEST_JOBS:-2}" "$@"
