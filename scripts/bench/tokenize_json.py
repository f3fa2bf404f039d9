#!/usr/bin/env python3
"""The `tokenizers` side of scripts/bench/tokenize_json.sh: encode_batch of every line's
"text" field (special tokens added; the file's own truncation and padding off), REPS
repetitions, the median lines/s as one JSON line. Threads: RAYON_NUM_THREADS.
Usage: tokenize_json.py FOLDER JSONL REPS"""
import json
import os
import statistics
import sys
import time

from tokenizers import Tokenizer


def main():
    folder, path, reps = sys.argv[1], sys.argv[2], int(sys.argv[3])
    tok = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    with open(path, encoding="utf-8") as f:
        lines = [json.loads(line)["text"] for line in f]
    rates, tokens = [], 0
    for _ in range(reps):
        start = time.perf_counter()
        encodings = tok.encode_batch(lines, add_special_tokens=True)
        rates.append(len(lines) / (time.perf_counter() - start))
        tokens = sum(len(e.ids) for e in encodings)
    print(json.dumps({"lines": len(lines), "tokens": tokens,
                      "threads": int(os.environ.get("RAYON_NUM_THREADS", "0")),
                      "lines_per_s": round(statistics.median(rates))}))


if __name__ == "__main__":
    main()
