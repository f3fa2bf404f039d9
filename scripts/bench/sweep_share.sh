#!/usr/bin/env bash
# Benchmark (not a test): wall time of a two-run sweep (scripts/sweep.sh) with the runs one
# after the other (--jobs 1: each run on all cores) against both at once (--jobs 2: each on its
# share), and against two plain `pft train` processes started together with default threads
# (what sharing a machine does without sweep.sh), interleaved, medians and ratios as a Markdown
# table (docs/benchmarks.md). The runs: the quick-start config (configs/sentiment.json) with
# peft.r=4 and 8, --steps optimizer steps each, no evaluation. Usage:
#   scripts/bench/sweep_share.sh [--reps N] [--steps N]
# Environment: PFT_BUILD_DIR (default build/), PFT_VENV (default ~/.cache/pft/venv),
# PFT_BENCH_DIR (scratch; default a temp folder).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
reps=3 steps=120
set -- "${args[@]}"
while [ "$#" -gt 0 ]; do
  case "$1" in
    --reps) reps="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    *) echo "sweep_share.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
done
config="$root/configs/sentiment.json"
common=(--set "train.max_steps=$steps" --set "train.eval_every=0" --set "data.eval=" --log-level warn)

now() { date +%s.%N; }
sweep() {  # JOBS OUT
  local out="$work/$2"
  rm -rf "$out"
  PFT="$build/pft" "$root/scripts/sweep.sh" --config "$config" --out "$out" --jobs "$1" \
    --grid peft.r=4,8 -- "${common[@]}" >/dev/null 2>"$work/$2.err"
}
plain_pair() {  # OUT: both runs started together, LibTorch's default threads
  local out="$work/$1"
  rm -rf "$out"
  "$build/pft" train --config "$config" --output "$out/a" --set peft.r=4 "${common[@]}" 2>"$work/$1.a.err" &
  local a=$!
  "$build/pft" train --config "$config" --output "$out/b" --set peft.r=8 "${common[@]}" 2>"$work/$1.b.err" &
  local b=$!
  wait "$a"
  wait "$b"
}
results="$work/times.tsv"
: >"$results"
for ((rep = 1; rep <= reps; ++rep)); do
  cases=(sequential shared plain)
  [ $((rep % 2)) -eq 0 ] && cases=(plain shared sequential)
  for c in "${cases[@]}"; do
    start="$(now)"
    case "$c" in
      sequential) sweep 1 seq ;;
      shared) sweep 2 par ;;
      plain) plain_pair plain ;;
    esac
    end="$(now)"
    seconds="$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')"
    printf '%s\t%s\t%s\n' "$rep" "$c" "$seconds" >>"$results"
    printf 'rep %d/%d %-10s %6.1f s\n' "$rep" "$reps" "$c" "$seconds" >&2
  done
done
"$python" - "$results" "$steps" "$threads" <<'PY'
import statistics, sys
rows = [line.split("\t") for line in open(sys.argv[1]) if line.strip()]
times = {}
for _, case, seconds in rows:
    times.setdefault(case, []).append(float(seconds))
med = {c: statistics.median(v) for c, v in times.items()}
print(f"two runs of configs/sentiment.json (peft.r=4 and 8), {sys.argv[2]} steps each, no "
      f"evaluation; {len(times['sequential'])} repetitions (median); cores: {sys.argv[3]}\n")
print("| how the two runs share the machine | wall s | / one after the other |")
print("| --- | ---: | ---: |")
labels = {"sequential": "one after the other (`sweep.sh --jobs 1`)",
          "shared": "at once, `sweep.sh --jobs 2`",
          "plain": "at once, two plain `pft train` (default threads)"}
for c in ("sequential", "shared", "plain"):
    spread = ", ".join(f"{t:.1f}" for t in times[c])
    print(f"| {labels[c]} | {med[c]:.1f} ({spread}) | {med[c] / med['sequential']:.2f} |")
PY
