#!/usr/bin/env bash
# kill -9 soak: trains a real run once without interruption, then again with N kills (SIGKILL)
# at random moments, each followed by `pft train --resume`, and compares the two runs' final
# adapter, best adapter and metrics.jsonl byte for byte. Prints one result line; exits 1 when
# they differ.
#
#   scripts/soak/kill9.sh [--kills N] [--seed S] [--config F] [--out DIR] [-- pft train options]
#
# Defaults: 12 kills, configs/sentiment.json on all-MiniLM-L6-v2 shortened to 120 steps of 16
# examples (of the first 2,000 training lines) with a checkpoint every 4 steps and an
# evaluation of 128 dev lines every 40 (fp32, 2 threads), in
# ${TMPDIR:-/tmp}/pft-kill9. A kill before the first checkpoint starts the run again
# (--overwrite). Environment: PFT (the binary; default build/pft).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
pft="${PFT:-${PFT_BUILD_DIR:-$root/build}/pft}"
kills=12 seed=1 config="$root/configs/sentiment.json" out="${TMPDIR:-/tmp}/pft-kill9" extra=()
while [ "$#" -gt 0 ]; do
  case "$1" in
    --kills) kills="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --config) config="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    *) sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done
[ -x "$pft" ] || { echo "kill9.sh: no pft binary at $pft" >&2; exit 2; }
RANDOM="$seed"
sets=(--set train.max_steps=120 --set train.batch_size=16 --set train.save_every=4
      --set train.eval_every=40 --set data.max_train_examples=2000 --set data.max_eval_examples=128
      --set train.precision=fp32
      --set train.keep_last=2 --threads 2 "${extra[@]}")
rm -rf "$out"
mkdir -p "$out"
cd "$root"
start=$(date +%s)
"$pft" train --config "$config" --output "$out/ref" "${sets[@]}" --log-level warn
ref_seconds=$(( $(date +%s) - start ))

complete() { ls "$out/killed/checkpoints"/step-*/trainer_state.json >/dev/null 2>&1; }
killed=0 inside=0 restarts=0 finished=0
for i in $(seq 1 "$kills"); do
  if complete; then
    "$pft" train --resume "$out/killed" --threads 2 --log-level warn &
  else
    "$pft" train --config "$config" --output "$out/killed" --overwrite "${sets[@]}" --log-level warn &
    restarts=$((restarts + 1))
  fi
  pid=$!
  # A random moment within the reference run's length (start-up included).
  delay_ms=$(( 300 + (RANDOM * 32768 + RANDOM) % (ref_seconds * 1000 / 2 + 1) ))  # RANDOM is 15 bits
  sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
  if kill -9 "$pid" 2>/dev/null; then
    wait "$pid" 2>/dev/null || true
    killed=$((killed + 1))
    if ls -d "$out/killed/checkpoints"/.step-* >/dev/null 2>&1 || ls "$out/killed"/.*.tmp* >/dev/null 2>&1; then
      inside=$((inside + 1))
    fi
  else
    wait "$pid" && finished=1
    break
  fi
done
if [ "$finished" -eq 0 ]; then
  if complete; then
    "$pft" train --resume "$out/killed" --threads 2 --log-level warn
  else
    "$pft" train --config "$config" --output "$out/killed" --overwrite "${sets[@]}" --log-level warn
  fi
fi
same=1
for f in adapter/adapter_model.safetensors best/adapter/adapter_model.safetensors metrics.jsonl; do
  if ! cmp -s "$out/ref/$f" "$out/killed/$f"; then
    echo "kill9: $f differs" >&2
    same=0
  fi
done
steps=$(python3 -c "import json; print(json.load(open('$out/killed/summary.json'))['steps'])")
echo "kill9: $killed kills ($inside inside a save, $restarts fresh starts before the first checkpoint), $steps steps; adapter, best adapter and metrics.jsonl $( [ "$same" -eq 1 ] && echo identical || echo DIFFERENT ) to the uninterrupted run"
[ "$same" -eq 1 ]
