#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/, one per parser of untrusted input) with clang into
# ${PFT_FUZZ_BUILD_DIR:-build-fuzz} and runs each on a copy of its checked-in corpus
# (tests/fuzz/corpus/NAME): a bounded number of executions by default (CI), or for a time.
#
#   scripts/fuzz.sh [--runs N] [--seconds S] [--only NAME] [--keep DIR]
#
# --runs N     executions per target after the corpus (default 2000)
# --seconds S  run each target for S seconds instead (a long run; docs/reliability.md)
# --only NAME  one target (config, jsonl, records, conll, safetensors, template, trainer_state)
# --keep DIR   keep each target's grown corpus in DIR/NAME (to add new seeds by hand)
# A crash leaves its input in the working folder and exits non-zero (libFuzzer's report).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${PFT_FUZZ_BUILD_DIR:-$root/build-fuzz}"
jobs="${PFT_JOBS:-$(nproc)}"
runs=2000 seconds=0 only="" keep=""
while [ "$#" -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    --keep) keep="$2"; shift 2 ;;
    *) sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done
command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ not found (scripts/setup.sh installs it)" >&2; exit 2; }
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1
if [ ! -f "$build/CMakeCache.txt" ]; then
  gen=()
  command -v ninja >/dev/null 2>&1 && gen=(-G Ninja)
  CC=clang CXX=clang++ cmake -S "$root" -B "$build" "${gen[@]}" -DPFT_FUZZ=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" -j "$jobs"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
status=0
for corpus in "$root"/tests/fuzz/corpus/*/; do
  name="$(basename "$corpus")"
  [ -z "$only" ] || [ "$only" = "$name" ] || continue
  mkdir -p "$work/$name"
  cp "$corpus"/* "$work/$name/"
  limit=(-runs="$runs")
  [ "$seconds" -gt 0 ] && limit=(-max_total_time="$seconds")
  echo "[fuzz] $name: ${limit[*]}" >&2
  if ! (cd "$work" && "$build/tests/fuzz/fuzz_$name" "${limit[@]}" -rss_limit_mb=4096 -timeout=10 \
        -print_final_stats=1 "$work/$name" 2>"$work/$name.log"); then
    status=1
    cat "$work/$name.log" >&2
    cp "$work"/crash-* "$work"/timeout-* "$work"/oom-* "$root"/ 2>/dev/null || true
    echo "[fuzz] $name: FAILED (the input is in $root)" >&2
  else
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$work/$name.log" | sed "s/^/[fuzz] $name: /" >&2
  fi
  if [ -n "$keep" ]; then mkdir -p "$keep/$name"; cp "$work/$name"/* "$keep/$name/"; fi
done
exit "$status"
