#!/usr/bin/env bash
# One command for a CUDA machine: builds pft against that machine's PyTorch (the LibTorch
# inside the torch package of --python), runs the CUDA tests (every test whose name ends in
# _CUDA; none may be skipped), then benchmarks training, evaluation and generation against
# transformers + peft on the same GPU (scripts/bench/gpu.py: LoRA on a BERT-base-shaped and a
# t5-base-shaped random model, bf16, batch 32, sequence 256; greedy decoding at batch 1 and 32)
# and prints the Markdown table for docs/benchmarks.md. Usage:
#   scripts/bench/gpu.sh [--python PY] [--build-dir DIR] [--skip-build] [--skip-tests]
#       [--device cuda|cuda:N|cpu] [--reps N] [--shape full|tiny] [--json FILE]
# --python: the interpreter whose torch (with CUDA), transformers, peft and sentencepiece are
# used on both sides (default: pft's venv if it has CUDA, else python3). --device cpu with
# --shape tiny checks the harness end to end on a machine without a GPU (no CUDA tests then).
# Environment: PFT_SHARED_DATA (default ../shared/data), PFT_BENCH_DIR (scratch; default a
# temp folder), PFT_JOBS (parallel compile jobs).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
data="${PFT_SHARED_DATA:-$root/../shared/data}"
venv="${PFT_VENV:-$HOME/.cache/pft/venv}"
python="" build="$root/build-gpu" device=cuda skip_build=0 skip_tests=0 args=()
while [ "$#" -gt 0 ]; do
  case "$1" in
    --python) python="$2"; shift 2 ;;
    --build-dir) build="$2"; shift 2 ;;
    --device) device="$2"; shift 2 ;;
    --skip-build) skip_build=1; shift ;;
    --skip-tests) skip_tests=1; shift ;;
    -h|--help) sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) args+=("$1"); shift ;;
  esac
done
has_cuda() { "$1" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; }
if [ -z "$python" ]; then
  python=python3
  if [ -x "$venv/bin/python" ] && { [ "$device" = cpu ] || has_cuda "$venv/bin/python"; }; then
    python="$venv/bin/python"
  fi
fi
python="$(command -v "$python")" || { echo "gpu.sh: no Python '$python'" >&2; exit 2; }
"$python" -c 'import torch, transformers, peft, sentencepiece' 2>/dev/null || {
  echo "gpu.sh: $python lacks torch, transformers, peft or sentencepiece" >&2; exit 2; }
if [ "$device" != cpu ] && ! has_cuda "$python"; then
  echo "gpu.sh: $python's torch sees no CUDA device (use --device cpu --shape tiny to check the harness)" >&2
  exit 2
fi
[ -d "$data" ] || { echo "gpu.sh: no shared data at $data (set PFT_SHARED_DATA)" >&2; exit 2; }

if [ "$skip_build" -eq 0 ]; then
  prefix="$("$python" -c 'import torch.utils; print(torch.utils.cmake_prefix_path)')"
  echo "[gpu] building pft in $build against $prefix" >&2
  PFT_BUILD_DIR="$build" "$root/scripts/build.sh" -DCMAKE_PREFIX_PATH="$prefix" \
    -DPFT_PYTHON="$python"
fi
[ -x "$build/pft" ] || { echo "gpu.sh: no pft binary in $build" >&2; exit 2; }

if [ "$skip_tests" -eq 0 ] && [ "$device" != cpu ]; then
  echo "[gpu] CUDA tests" >&2
  log="$(mktemp)"
  (cd "$build" && ctest --output-on-failure -R '_CUDA$' | tee "$log")
  # A CUDA test skips itself when it sees no GPU: here that is a failure.
  if grep -q "Skipped" "$log" || ! grep -q "tests passed" "$log"; then
    rm -f "$log"
    echo "gpu.sh: CUDA tests were skipped or did not run" >&2
    exit 1
  fi
  rm -f "$log"
fi

work="${PFT_BENCH_DIR:-}"
if [ -z "$work" ]; then
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
fi
echo "[gpu] benchmarks on $device" >&2
"$python" "$root/scripts/bench/gpu.py" --pft "$build/pft" --python "$python" --data "$data" \
  --work "$work" --device "$device" "${args[@]}"
