#!/usr/bin/env bash
# Benchmark (not a test): training steps/s and tokens/s, evaluation examples/s, start-up time
# and peak RSS of pft against transformers + peft (a plain training loop with
# torch.optim.AdamW), interleaved, at least 3 repetitions, medians and pft/reference ratios as
# Markdown tables (docs/benchmarks.md), with the share of the GEMM ceiling each case reaches.
# Usage:
#   scripts/bench/train.sh [--threads N] [--reps N] [--models minilm,bert-base]
#       [--methods lora,dora,prefix_tuning,prompt_tuning,adapter,full] [--precisions fp32,bf16]
#       (models: minilm, bert-base, modernbert-base, deberta-v3-base or model folders)
#       [--default-methods lora] [--steps minilm=13,bert-base=8] [--no-eval] [--json FILE]
# Environment: PFT_BUILD_DIR (default build/), PFT_VENV (default ~/.cache/pft/venv),
# PFT_SHARED_DATA (default ../shared/data), PFT_BENCH_DIR (scratch; default a temp folder).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
[ -x "$build/pft_bench_gemm" ] || { echo "no pft_bench_gemm in $build; run scripts/build.sh first" >&2; exit 2; }
"$python" "$root/scripts/bench/train.py" --pft "$build/pft" --gemm "$build/pft_bench_gemm" \
  --python "$python" --data "$data" --minilm "$venv/models/all-MiniLM-L6-v2" --work "$work" \
  --threads "$threads" "${args[@]}"
