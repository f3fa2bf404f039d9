#!/usr/bin/env bash
# Renders the whole shared SST-2 training set (67,349 lines) through the cloze template of
# configs/sentiment_cloze.json and tokenizes it with the bert-base-uncased vocabulary,
# prompt truncation to tokenizer.max_length included; prints pft's timing line, REPS times.
# Usage: scripts/bench/prompt_tokenize.sh [--reps N] [--threads N]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
reps=3
threads=1
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) reps="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
pft="${PFT_BINARY:-$root/build/pft}"
data="${PFT_SHARED_DATA:-$root/../shared/data}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
for _ in $(seq "$reps"); do
  "$pft" tokenize --threads "$threads" --config "$root/configs/sentiment_cloze.json" \
    --set "model.path=$data/tokenizers/bert-base-uncased" \
    --prompt --input "$data/sst2/train.jsonl" --output "$out/prompts.jsonl" 2>&1 |
    grep "rendered and tokenized"
done
