#!/usr/bin/env python3
"""Builds data/conll2003/{train,valid,test}.txt (what configs/ner.json reads) from your copy of
CoNLL-2003 English, which this repository cannot ship (the Reuters text is licensed for research
use by NIST; see data/conll2003/README.md).

    python3 scripts/data/conll2003.py SRC_DIR

SRC_DIR holds either the IOB2 conversion (train.txt, valid.txt, test.txt) or the original
shared-task files (eng.train, eng.testa, eng.testb, IOB1 tags). Lines are kept as they are
(`WORD POS CHUNK TAG`), except that IOB1 entity tags become IOB2 (an I- tag that starts an
entity becomes B-). Each file is checked (every non-blank line a word and its tag) and written
atomically; the counts are printed.
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPLITS = [("train.txt", "eng.train"), ("valid.txt", "eng.testa"), ("test.txt", "eng.testb")]


def to_iob2(lines, path):
    out, previous = [], "O"
    for number, line in enumerate(lines, 1):
        columns = line.split()
        if not columns or columns[0] == "-DOCSTART-":
            out.append(line)
            previous = "O"
            continue
        if len(columns) < 2:
            sys.exit(f"{path}:{number}: '{line}' has one column; expected a word and its tag")
        tag = columns[-1]
        if tag.startswith("I-") and previous[2:] != tag[2:]:
            tag = "B-" + tag[2:]
            line = line[: line.rfind(columns[-1])] + tag
        out.append(line)
        previous = tag
    return out


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    src = sys.argv[1]
    dest = os.path.join(ROOT, "data", "conll2003")
    os.makedirs(dest, exist_ok=True)
    for name, original in SPLITS:
        path = next((os.path.join(src, n) for n in (name, original)
                     if os.path.isfile(os.path.join(src, n))), None)
        if path is None:
            sys.exit(f"{src}: neither {name} nor {original} found")
        with open(path, encoding="utf-8", newline="") as f:
            text = f.read()
        lines = to_iob2(text.split("\n"), path)
        tmp = os.path.join(dest, f".{name}.tmp")
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            f.write("\n".join(lines))
        os.replace(tmp, os.path.join(dest, name))
        sentences = sum(1 for i, l in enumerate(lines)
                        if l.strip() and not l.startswith("-DOCSTART-")
                        and (i == 0 or not lines[i - 1].strip()))
        print(f"{os.path.join(dest, name)}: {sentences} sentences from {path}")


if __name__ == "__main__":
    main()
