#!/usr/bin/env bash
# Benchmark (not a test): greedy and beam-search tokens/s of `pft generate` against
# transformers' generate() on a random t5-small-shaped model, batch 1 and 16, interleaved,
# at least 3 repetitions, medians and pft/transformers ratios as a Markdown table
# (docs/benchmarks.md). Usage:
#   scripts/bench/t5_generate.sh [--threads N] [--reps N] [--prompts N] [--max-new-tokens N]
# Environment: PFT_BUILD_DIR (default build/), PFT_VENV (default ~/.cache/pft/venv),
# PFT_SHARED_DATA (default ../shared/data), PFT_BENCH_DIR (scratch; default a temp folder).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
"$python" "$root/scripts/bench/t5_generate.py" --pft "$build/pft" --data "$data" \
  --work "$work" --threads "$threads" "${args[@]}"
