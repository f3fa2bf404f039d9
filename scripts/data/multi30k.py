#!/usr/bin/env python3
"""Builds data/multi30k/{train,dev,test}.jsonl (what configs/translation.json reads) from your
copy of Multi30k task 1 (English-German), whose terms allow non-commercial research and
education only and do not let this repository redistribute it (see data/multi30k/README.md).

    python3 scripts/data/multi30k.py SRC_DIR

SRC_DIR holds the official raw files, gzipped or not: train.{en,de}, val.{en,de} and
test_2016_flickr.{en,de} (the multi30k/dataset repository's data/task1/raw/). Line i of the
English file and line i of the German file become {"source": EN, "target": DE}, each stripped of
surrounding white space; files are written atomically and their line counts printed.
"""
import gzip
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPLITS = [("train.jsonl", "train"), ("dev.jsonl", "val"), ("test.jsonl", "test_2016_flickr")]


def read_lines(src, stem, lang):
    for name in (f"{stem}.{lang}.gz", f"{stem}.{lang}"):
        path = os.path.join(src, name)
        if os.path.isfile(path):
            opener = gzip.open if name.endswith(".gz") else open
            with opener(path, "rt", encoding="utf-8", newline="\n") as f:
                return path, f.read().split("\n")[:-1]
    sys.exit(f"{src}: neither {stem}.{lang}.gz nor {stem}.{lang} found")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    src = sys.argv[1]
    dest = os.path.join(ROOT, "data", "multi30k")
    os.makedirs(dest, exist_ok=True)
    for name, stem in SPLITS:
        en_path, en = read_lines(src, stem, "en")
        de_path, de = read_lines(src, stem, "de")
        if len(en) != len(de):
            sys.exit(f"{en_path} has {len(en)} lines but {de_path} has {len(de)}")
        tmp = os.path.join(dest, f".{name}.tmp")
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            for source, target in zip(en, de):
                f.write(json.dumps({"source": source.strip(), "target": target.strip()},
                                   ensure_ascii=False) + "\n")
        os.replace(tmp, os.path.join(dest, name))
        print(f"{os.path.join(dest, name)}: {len(en)} pairs")


if __name__ == "__main__":
    main()
