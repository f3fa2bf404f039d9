#!/usr/bin/env bash
# A grid sweep over config keys: every combination of the --grid values is one `pft train`
# run in its own folder under OUT (settings passed with --set), then a Markdown table of the
# runs' summary.json files is printed and written to OUT/results.md.
#
#   scripts/sweep.sh --config configs/sentiment.json --out runs/sweep \
#     --grid peft.method=lora,ia3 --grid train.lr=1e-4,5e-4 [--jobs N] [-- extra pft train options]
#
# --jobs N (default 1) runs N configs at once and gives each its share of the cores this
# script may use (affinity mask, cgroup quota): cores / N intra-op threads (--threads and
# OMP_NUM_THREADS), pinned to its own cores with taskset when they divide evenly, and OpenMP
# threads that sleep instead of spinning when they wait (OMP_WAIT_POLICY=PASSIVE,
# GOMP_SPINCOUNT=0), so runs do not take cycles from each other. With --jobs > 1 each run's
# output goes to OUT/NAME.log. A run folder that already holds summary.json is kept
# (re-running the sweep continues it); one that was interrupted is resumed, and one that
# failed before its first checkpoint is started again. A failed run is
# reported in the table with its exit code and does not stop the sweep; the script exits 1
# when any run failed, 2 on bad usage. Environment: PFT (the pft binary; default build/pft).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pft="${PFT:-${PFT_BUILD_DIR:-$root/build}/pft}"

usage() {
  sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

config="" out="" grids=() extra=() jobs=1
while [ "$#" -gt 0 ]; do
  case "$1" in
    --config) config="${2:-}"; shift 2 ;;
    --out) out="${2:-}"; shift 2 ;;
    --grid) grids+=("${2:-}"); shift 2 ;;
    --jobs) jobs="${2:-}"; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) usage ;;
    *) echo "sweep.sh: unknown option '$1'" >&2; usage ;;
  esac
done
[ -n "$config" ] || { echo "sweep.sh: --config is required" >&2; exit 2; }
[ -n "$out" ] || { echo "sweep.sh: --out is required" >&2; exit 2; }
[ "${#grids[@]}" -gt 0 ] || { echo "sweep.sh: at least one --grid key=v1,v2,... is required" >&2; exit 2; }
case "$jobs" in
  ''|*[!0-9]*|0) echo "sweep.sh: --jobs: expected a positive integer, got '$jobs'" >&2; exit 2 ;;
esac
[ -x "$pft" ] || { echo "sweep.sh: no pft binary at $pft (run scripts/build.sh, or set PFT)" >&2; exit 2; }

keys=()
values=()
for g in "${grids[@]}"; do
  case "$g" in
    *=*) ;;
    *) echo "sweep.sh: --grid '$g': expected key.path=v1,v2,..." >&2; exit 2 ;;
  esac
  k="${g%%=*}"
  v="${g#*=}"
  [ -n "$k" ] && [ -n "$v" ] || { echo "sweep.sh: --grid '$g': expected key.path=v1,v2,..." >&2; exit 2; }
  keys+=("$k")
  values+=("$v")
done

# Check every combination's config before training anything (a typo fails in seconds).
combos=("")
for i in "${!keys[@]}"; do
  IFS=',' read -r -a vs <<<"${values[$i]}"
  next=()
  for c in "${combos[@]}"; do
    for v in "${vs[@]}"; do next+=("$c${c:+ }${keys[$i]}=$v"); done
  done
  combos=("${next[@]}")
done

mkdir -p "$out"
names=()
for c in "${combos[@]}"; do
  read -r -a settings <<<"$c"
  sets=()
  name=""
  for s in "${settings[@]}"; do
    sets+=(--set "$s")
    part="${s##*.}"                      # last key component and value: lr=1e-4
    name="$name${name:+_}${part//[^A-Za-z0-9.=_-]/-}"
  done
  for n in "${names[@]}"; do
    [ "$n" != "$name" ] || { echo "sweep.sh: two runs would share the folder name '$name'" >&2; exit 2; }
  done
  "$pft" train --config "$config" "${sets[@]}" --dry-run "${extra[@]}" >/dev/null
  names+=("$name")
done

# The cores this script may use: its affinity mask, capped by a cgroup v2 CPU quota.
cpus=()
if command -v taskset >/dev/null 2>&1; then
  list="$(taskset -cp $$ | sed 's/.*: *//')"
  IFS=',' read -r -a ranges <<<"$list"
  for r in "${ranges[@]}"; do
    if [[ "$r" == *-* ]]; then
      for ((c = ${r%-*}; c <= ${r#*-}; ++c)); do cpus+=("$c"); done
    else
      cpus+=("$r")
    fi
  done
fi
cores="${#cpus[@]}"
[ "$cores" -gt 0 ] || cores="$(nproc)"
if [ -r /sys/fs/cgroup/cpu.max ]; then
  read -r quota period </sys/fs/cgroup/cpu.max || true
  if [ "${quota:-max}" != max ] && [ "${period:-0}" -gt 0 ]; then
    allowed=$(((quota + period - 1) / period))
    [ "$allowed" -lt "$cores" ] && cores="$allowed" && cpus=()  # a quota, not a CPU set
  fi
fi
[ "$jobs" -gt "${#combos[@]}" ] && jobs="${#combos[@]}"
share=$((cores / jobs))
[ "$share" -ge 1 ] || share=1
pin=0
[ "$jobs" -gt 1 ] && [ "${#cpus[@]}" -ge $((share * jobs)) ] && pin=1
has_threads=0
for a in "${extra[@]}"; do
  case "$a" in --threads|--threads=*) has_threads=1 ;; esac
done
[ "$jobs" -gt 1 ] && echo "[sweep] $jobs runs at once, $share thread(s) each$([ "$pin" -eq 1 ] && echo ", pinned")" >&2

# One run: resume it, keep it or start it; its exit code goes to $status/IDX.
status="$(mktemp -d)"
trap 'rm -rf "$status"' EXIT
run_one() {
  local idx="$1" slot="$2"
  local settings sets=() dir code=0 cmd=()
  read -r -a settings <<<"${combos[$idx]}"
  for s in "${settings[@]}"; do sets+=(--set "$s"); done
  dir="$out/${names[$idx]}"
  local threads=()
  if [ "$jobs" -gt 1 ]; then
    [ "$has_threads" -eq 1 ] || threads=(--threads "$share")
    export OMP_NUM_THREADS="$share" OMP_WAIT_POLICY=PASSIVE GOMP_SPINCOUNT=0
    if [ "$pin" -eq 1 ]; then
      local mine="${cpus[*]:$((slot * share)):$share}"
      cmd=(taskset -c "${mine// /,}")
    fi
  fi
  if [ -f "$dir/summary.json" ]; then
    echo "[sweep] ${names[$idx]}: done before, kept" >&2
  elif [ -d "$dir/checkpoints" ]; then
    echo "[sweep] ${names[$idx]}: resuming" >&2
    cmd+=("$pft" train --resume "$dir" "${threads[@]}" "${extra[@]}")
  elif [ -d "$dir" ]; then
    # A run that failed before its first checkpoint: nothing to continue, so start it again.
    echo "[sweep] ${names[$idx]}: ${combos[$idx]} (again)" >&2
    cmd+=("$pft" train --config "$config" "${sets[@]}" --output "$dir" --overwrite "${threads[@]}" "${extra[@]}")
  else
    echo "[sweep] ${names[$idx]}: ${combos[$idx]}" >&2
    cmd+=("$pft" train --config "$config" "${sets[@]}" --output "$dir" "${threads[@]}" "${extra[@]}")
  fi
  if [ "${#cmd[@]}" -gt 0 ] && [ ! -f "$dir/summary.json" ]; then
    if [ "$jobs" -gt 1 ]; then
      "${cmd[@]}" >"$out/${names[$idx]}.log" 2>&1 || code=$?
      echo "[sweep] ${names[$idx]}: exit $code (log: $out/${names[$idx]}.log)" >&2
    else
      "${cmd[@]}" || code=$?
    fi
  fi
  echo "$code" >"$status/$idx"
}

# Up to $jobs runs at once, each in a slot (its cores when pinned). Ctrl-C reaches the runs
# too (they save a checkpoint and exit 130); no new run starts after it.
stop=0
[ "$jobs" -gt 1 ] && trap 'stop=1' INT TERM
slots=()
for ((s = 0; s < jobs; ++s)); do slots+=(""); done
for idx in "${!combos[@]}"; do
  if [ "$jobs" -eq 1 ]; then
    run_one "$idx" 0
    [ "$(cat "$status/$idx")" -eq 130 ] && break
    continue
  fi
  while :; do
    free=-1
    for s in "${!slots[@]}"; do
      if [ -z "${slots[$s]}" ] || ! kill -0 "${slots[$s]}" 2>/dev/null; then free=$s; break; fi
    done
    [ "$free" -ge 0 ] && break
    wait -n || true
  done
  [ "$stop" -eq 1 ] && break
  [ -n "$(grep -lx 130 "$status"/* 2>/dev/null)" ] && break
  run_one "$idx" "$free" &
  slots[$free]=$!
done
for pid in "${slots[@]}"; do
  [ -z "$pid" ] && continue
  while kill -0 "$pid" 2>/dev/null; do wait "$pid" || true; done
done
[ "$stop" -eq 1 ] && { echo "[sweep] interrupted; re-run the same command to continue" >&2; exit 130; }

failed=0
interrupted=0
manifest="$out/.sweep.tsv"
: >"$manifest.tmp"
for idx in "${!combos[@]}"; do
  [ -f "$status/$idx" ] || continue
  code="$(cat "$status/$idx")"
  [ "$code" -eq 130 ] && interrupted=1
  [ "$code" -ne 0 ] && failed=1
  printf '%s\t%s\t%s\n' "${names[$idx]}" "${combos[$idx]}" "$code" >>"$manifest.tmp"
done
if [ "$interrupted" -eq 1 ]; then
  rm -f "$manifest.tmp"
  echo "[sweep] interrupted; re-run the same command to continue" >&2
  exit 130
fi
mv "$manifest.tmp" "$manifest"

# The table: one row per run, the grid keys, then what summary.json holds.
python3 - "$out" "$manifest" "${keys[@]}" <<'EOF'
import json, os, sys

out, manifest, keys = sys.argv[1], sys.argv[2], sys.argv[3:]
with open(manifest) as f:
    entries = [line.rstrip("\n").split("\t") for line in f if line.strip()]


def fmt(v, digits=4):
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


rows = []
metric = None
for name, combo, code in entries:
    settings = dict(s.split("=", 1) for s in combo.split())
    path = os.path.join(out, name, "summary.json")
    summary = {}
    if code == "0" and os.path.exists(path):
        with open(path) as f:
            summary = json.load(f)
        metric = metric or summary.get("metric_for_best")
    rows.append((name, settings, code, summary))

head = keys + [f"best {metric or 'metric'}", "best step", "final loss", "steps", "examples/s",
               "trainable params", "wall s", "run"]
lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
for name, settings, code, s in rows:
    if code != "0":
        cells = [settings.get(k, "") for k in keys] + [f"failed (exit {code})"] + [""] * 6 + [name]
    else:
        cells = [settings.get(k, "") for k in keys] + [
            fmt(s.get("best_metric")), fmt(s.get("best_step")), fmt(s.get("final_loss")),
            fmt(s.get("steps")), fmt(s.get("examples_per_second"), 1),
            fmt(s.get("trainable_parameters")), fmt(s.get("wall_seconds"), 1), name]
    lines.append("| " + " | ".join(cells) + " |")
table = "\n".join(lines) + "\n"
tmp = os.path.join(out, ".results.md.tmp")
with open(tmp, "w") as f:
    f.write(table)
os.replace(tmp, os.path.join(out, "results.md"))
sys.stdout.write(table)
EOF
exit "$failed"
