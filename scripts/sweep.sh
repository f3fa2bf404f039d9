#!/usr/bin/env bash
# A grid sweep over config keys: every combination of the --grid values is one `pft train`
# run in its own folder under OUT (settings passed with --set), then a Markdown table of the
# runs' summary.json files is printed and written to OUT/results.md.
#
#   scripts/sweep.sh --config configs/sentiment.json --out runs/sweep \
#     --grid peft.method=lora,ia3 --grid train.lr=1e-4,5e-4 [-- extra pft train options]
#
# A run folder that already holds summary.json is kept (re-running the sweep continues it);
# one that was interrupted is resumed, and one that failed before its first checkpoint is
# started again. A failed run is reported in the table with its exit
# code and does not stop the sweep; the script exits 1 when any run failed, 2 on bad usage.
# Environment: PFT (the pft binary; default build/pft).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pft="${PFT:-${PFT_BUILD_DIR:-$root/build}/pft}"

usage() {
  sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

config="" out="" grids=() extra=()
while [ "$#" -gt 0 ]; do
  case "$1" in
    --config) config="${2:-}"; shift 2 ;;
    --out) out="${2:-}"; shift 2 ;;
    --grid) grids+=("${2:-}"); shift 2 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) usage ;;
    *) echo "sweep.sh: unknown option '$1'" >&2; usage ;;
  esac
done
[ -n "$config" ] || { echo "sweep.sh: --config is required" >&2; exit 2; }
[ -n "$out" ] || { echo "sweep.sh: --out is required" >&2; exit 2; }
[ "${#grids[@]}" -gt 0 ] || { echo "sweep.sh: at least one --grid key=v1,v2,... is required" >&2; exit 2; }
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

failed=0
manifest="$out/.sweep.tsv"
: >"$manifest.tmp"
for idx in "${!combos[@]}"; do
  read -r -a settings <<<"${combos[$idx]}"
  sets=()
  for s in "${settings[@]}"; do sets+=(--set "$s"); done
  dir="$out/${names[$idx]}"
  code=0
  if [ -f "$dir/summary.json" ]; then
    echo "[sweep] ${names[$idx]}: done before, kept" >&2
  elif [ -d "$dir/checkpoints" ]; then
    echo "[sweep] ${names[$idx]}: resuming" >&2
    "$pft" train --resume "$dir" "${extra[@]}" || code=$?
  elif [ -d "$dir" ]; then
    # A run that failed before its first checkpoint: nothing to continue, so start it again.
    echo "[sweep] ${names[$idx]}: ${combos[$idx]} (again)" >&2
    "$pft" train --config "$config" "${sets[@]}" --output "$dir" --overwrite "${extra[@]}" || code=$?
  else
    echo "[sweep] ${names[$idx]}: ${combos[$idx]}" >&2
    "$pft" train --config "$config" "${sets[@]}" --output "$dir" "${extra[@]}" || code=$?
  fi
  [ "$code" -eq 130 ] && { echo "[sweep] interrupted; re-run the same command to continue" >&2; exit 130; }
  [ "$code" -ne 0 ] && failed=1
  printf '%s\t%s\t%s\n' "${names[$idx]}" "${combos[$idx]}" "$code" >>"$manifest.tmp"
done
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
