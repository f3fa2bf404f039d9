#!/usr/bin/env bash
# tokenizer.json throughput: lines/s of pft against the `tokenizers` library's encode_batch
# on the whole SST-2 training set (67,349 lines, special tokens added, no truncation), for a
# WordPiece (bert-uncased), a byte-level BPE (roberta) and a Unigram (t5) file written by
# tests/python/make_tokenizer_files.py, at 1 and 2 threads (pft: its own threads over
# contiguous blocks; tokenizers: RAYON_NUM_THREADS). Medians of --reps runs, loading outside
# the timing; prints one Markdown table with the ratios side by side.
# Usage: scripts/bench/tokenize_json.sh [--reps N] [--folders "bert-uncased roberta t5"]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
reps=5
folders="bert-uncased roberta t5"
set -- "${args[@]+"${args[@]}"}"
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) reps="$2"; shift 2 ;;
    --folders) folders="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
bench="$build/pft_bench_tokenize"
[ -x "$bench" ] || { echo "no $bench; run scripts/build.sh first" >&2; exit 2; }
input="$data/sst2/train.jsonl"
# shellcheck disable=SC2086
"$python" "$root/tests/python/make_tokenizer_files.py" "$work/folders" $folders >/dev/null 2>&1
echo "| file | model | threads | pft lines/s | tokenizers lines/s | ratio |"
echo "| --- | --- | ---: | ---: | ---: | ---: |"
for folder in $folders; do
  model="$("$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["model"]["type"])' \
    "$work/folders/$folder/tokenizer.json")"
  for t in 1 2; do
    ours="$("$bench" "$work/folders/$folder" "$input" "$t" "$reps")"
    theirs="$(RAYON_NUM_THREADS=$t TOKENIZERS_PARALLELISM=true "$python" \
      "$root/scripts/bench/tokenize_json.py" "$work/folders/$folder" "$input" "$reps")"
    "$python" - "$folder" "$model" "$t" "$ours" "$theirs" <<'PY'
import json, sys
folder, model, t, ours, theirs = sys.argv[1:]
a, b = json.loads(ours)["lines_per_s"], json.loads(theirs)["lines_per_s"]
print(f"| {folder} | {model} | {t} | {a:,.0f} | {b:,.0f} | {a / b:.2f}x |")
PY
  done
done
