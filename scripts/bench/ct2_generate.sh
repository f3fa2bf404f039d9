#!/usr/bin/env bash
# Benchmark (not a test): greedy tokens/s of `pft generate` against CTranslate2 (from PyPI,
# pinned in scripts/bench/requirements.txt and installed into the venv on first use) at the
# same compute type (float32, int8; bfloat16 where CTranslate2 offers it on the CPU), batch 1
# and 16, on a random t5-small-shaped model converted by CTranslate2's own converter,
# interleaved, medians and pft/CTranslate2 ratios with each type's memory-bandwidth bound as a
# Markdown table (docs/benchmarks.md). Usage:
#   scripts/bench/ct2_generate.sh [--threads N] [--reps N] [--prompts N] [--max-new-tokens N]
#       [--batches 1,16] [--types float32,int8,bfloat16] [--json FILE]
# Environment: PFT_BUILD_DIR (default build/), PFT_VENV (default ~/.cache/pft/venv),
# PFT_SHARED_DATA (default ../shared/data), PFT_BENCH_DIR (scratch; default a temp folder).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
req="$root/scripts/bench/requirements.txt"
"$python" - "$req" <<'PY' || "$python" -m pip install -q -r "$req"
import sys
from importlib.metadata import version, PackageNotFoundError
for line in open(sys.argv[1]):
    line = line.split("#")[0].strip()
    if line:
        name, pinned = line.split("==")
        try:
            assert version(name) == pinned
        except (PackageNotFoundError, AssertionError):
            sys.exit(1)
PY
"$python" "$root/scripts/bench/ct2_generate.py" --pft "$build/pft" --data "$data" \
  --work "$work" --threads "$threads" "${args[@]}"
