#!/usr/bin/env bash
# Configures and builds pft (Release) into ${PFT_BUILD_DIR:-build}. Re-running only
# rebuilds what changed. Extra arguments go to the CMake configure step.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${PFT_BUILD_DIR:-$root/build}"
jobs="${PFT_JOBS:-$(nproc)}"
# ccache keeps objects across fresh clones (CI); paths relative to the clone root.
export CCACHE_BASEDIR="$root"
export CCACHE_SLOPPINESS="pch_defines,time_macros,include_file_mtime,include_file_ctime"
export CCACHE_NOHASHDIR=1
if [ ! -f "$build/CMakeCache.txt" ] || [ "$#" -gt 0 ]; then
  gen=()
  command -v ninja >/dev/null 2>&1 && gen=(-G Ninja)
  cmake -S "$root" -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE="${PFT_BUILD_TYPE:-Release}" "$@"
fi
cmake --build "$build" -j "$jobs"
