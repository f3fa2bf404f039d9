#!/usr/bin/env bash
# Benchmark (not a test): greedy and beam-search tokens/s of `pft generate` against
# transformers' generate() on a random t5-small-shaped model, batch 1 and 16, interleaved,
# at least 3 repetitions, medians and pft/transformers ratios as a Markdown table
# (docs/benchmarks.md). Usage:
#   scripts/bench/t5_generate.sh [--threads N] [--reps N] [--prompts N] [--max-new-tokens N]
# Environment: PFT_BUILD_DIR (default build/), PFT_VENV (default ~/.cache/pft/venv),
# PFT_SHARED_DATA (default ../shared/data), PFT_BENCH_DIR (scratch; default a temp folder).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${PFT_BUILD_DIR:-$root/build}"
python="${PFT_VENV:-$HOME/.cache/pft/venv}/bin/python"
data="${PFT_SHARED_DATA:-$root/../shared/data}"
[ -x "$build/pft" ] || { echo "no pft binary in $build; run scripts/build.sh first" >&2; exit 2; }
[ -x "$python" ] || { echo "no Python at $python; run scripts/setup.sh first" >&2; exit 2; }
work="${PFT_BENCH_DIR:-}"
if [ -z "$work" ]; then
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work"
threads="$(nproc)"
args=()
while [ "$#" -gt 0 ]; do
  case "$1" in
    --threads) threads="$2"; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
exec "$python" "$root/scripts/bench/t5_generate.py" --pft "$build/pft" --data "$data" \
  --work "$work" --threads "$threads" "${args[@]}"
