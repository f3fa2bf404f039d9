#!/usr/bin/env python3
"""Reference tokenizations for pft's tokenizer tests, from the live Hugging Face stack.

WordPiece: transformers' BertTokenizerFast (BertTokenizer in transformers 5, backed by the
`tokenizers` library), loaded with from_pretrained from a folder.

SentencePiece: transformers 5 has no sentencepiece-backed T5Tokenizer any more, so the
reference is the `sentencepiece` library itself plus the conventions of transformers 4's
slow T5Tokenizer in legacy mode (SlowT5 below). transformers 5's T5Tokenizer (the former
T5TokenizerFast) is built as its from_pretrained would build it, to list where it differs.

Subcommands (all write their results into files the C++ test reads):
  corpus OUT_DIR                     texts of every shared data set, one JSON string a line
  ids KIND TOKENIZER_DIR OUT_DIR TEXTS...  reference ids (and byte offsets) of every line
                                     of each TEXTS file, into OUT_DIR/<name>.ids
  cases KIND TOKENIZER_DIR IN OUT    encode/decode cases described in IN (JSON)
  normalize TOKENIZER_DIR OUT        BERT's normalized words for every code point
"""
import csv
import json
import os
import sys

DATA = os.environ.get("PFT_SHARED_DATA") or os.path.join(
    os.path.dirname(__file__), "..", "..", "..", "shared", "data")


# --------------------------------------------------------------------------------------
# corpus
def corpus(out_dir):
    """One file per data set and field; the texts are exactly what a user would feed."""
    os.makedirs(out_dir, exist_ok=True)
    sets = {}
    for split in ("train", "dev", "test"):
        with open(os.path.join(DATA, "sst2", f"{split}.jsonl"), encoding="utf-8") as f:
            sets[f"sst2_{split}"] = [json.loads(line)["text"] for line in f]
        with open(os.path.join(DATA, "sst2", "glue", f"{split}.tsv"), encoding="utf-8", newline="") as f:
            rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
        column = rows[0].index("sentence")
        sets[f"sst2_glue_{split}"] = [row[column] for row in rows[1:]]
    with open(os.path.join(DATA, "sst2", "sst_labelled_test", "test.tsv"), encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    sets["sst2_labelled_test"] = [row[rows[0].index("content")] for row in rows[1:]]
    for split in ("train", "valid", "test"):
        sentences, words = [], []
        with open(os.path.join(DATA, "conll2003", f"{split}.txt"), encoding="utf-8") as f:
            for line in f:
                line = line.rstrip("\n")
                if not line.strip():
                    if words:
                        sentences.append(" ".join(words))
                    words = []
                elif not line.startswith("-DOCSTART-"):
                    words.append(line.split(" ")[0])
        if words:
            sentences.append(" ".join(words))
        sets[f"conll_{split}"] = sentences
    for split in ("train", "dev", "test"):
        with open(os.path.join(DATA, "multi30k", f"{split}.jsonl"), encoding="utf-8") as f:
            rows = [json.loads(line) for line in f]
        sets[f"multi30k_{split}_source"] = [r["source"] for r in rows]
        sets[f"multi30k_{split}_target"] = [r["target"] for r in rows]
    for name, texts in sets.items():
        with open(os.path.join(out_dir, name + ".jsonl"), "w", encoding="utf-8") as f:
            for t in texts:
                f.write(json.dumps(t, ensure_ascii=False) + "\n")
    print(json.dumps({k: len(v) for k, v in sets.items()}))


def read_texts(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def byte_offsets(text, offsets):
    """Hugging Face's character offsets -> byte offsets into the UTF-8 text."""
    if text.isascii():
        return offsets
    pos = [0]
    for ch in text:
        pos.append(pos[-1] + len(ch.encode("utf-8")))
    return [(pos[b], pos[e]) for b, e in offsets]


# --------------------------------------------------------------------------------------
# tokenizers
def load_bert(folder):
    from transformers import BertTokenizerFast
    return BertTokenizerFast.from_pretrained(folder)


class SlowT5:
    """transformers 4's sentencepiece-backed T5Tokenizer with legacy=True (its default):
    added tokens <pad>, </s>, <unk> (no stripping) and <extra_id_0..99> (white space around
    them stripped) are split out of the text first; every other chunk goes to
    SentencePieceProcessor.encode; </s> is appended; sentinel ids count down from the end."""

    def __init__(self, model_file, extra_ids=100):
        import sentencepiece as spm
        self.sp = spm.SentencePieceProcessor(model_file=model_file)
        self.n = self.sp.get_piece_size()
        self.extra_ids = extra_ids
        self.specials = {"<pad>": (0, False), "</s>": (1, False), "<unk>": (2, False)}
        for i in range(extra_ids):
            self.specials[f"<extra_id_{i}>"] = (self.n + extra_ids - 1 - i, True)
        self.special_ids = {v[0] for v in self.specials.values()}

    def split(self, text):
        """The trie split of transformers' PreTrainedTokenizer.tokenize: earliest match,
        longest at a position; then the AddedToken lstrip/rstrip rules."""
        parts, pos, start = [], 0, 0
        while pos < len(text):
            best = None
            for tok in self.specials:
                at = text.find(tok, pos)
                if at >= 0 and (best is None or at < best[0] or (at == best[0] and len(tok) > len(best[1]))):
                    best = (at, tok)
            if best is None:
                break
            at, tok = best
            parts.append(text[start:at])
            parts.append(tok)
            pos = start = at + len(tok)
        parts.append(text[start:])
        # parts alternate: chunk, special, chunk, special, ..., chunk
        for i in range(1, len(parts), 2):
            if self.specials[parts[i]][1]:
                parts[i - 1] = parts[i - 1].rstrip()
                parts[i + 1] = parts[i + 1].lstrip()
        return parts

    def tokenize_ids(self, text):
        ids = []
        for i, part in enumerate(self.split(text)):
            if i % 2 == 1:
                ids.append(self.specials[part][0])
            elif part:
                ids.extend(self.sp.encode(part))
        return ids

    def encode(self, text, add_special_tokens=True):
        return self.tokenize_ids(text) + ([1] if add_special_tokens else [])

    def id_to_token(self, i):
        if i >= self.n:
            return f"<extra_id_{self.n + self.extra_ids - 1 - i}>"
        return self.sp.id_to_piece(i)

    def decode(self, ids, skip_special_tokens=True):
        """T5Tokenizer.convert_tokens_to_string (legacy) after dropping special tokens."""
        ids = [i for i in ids if 0 <= i < self.n + self.extra_ids]
        if skip_special_tokens:
            return self.sp.decode([i for i in ids if i not in self.special_ids])
        out, run, prev_special = "", [], False
        for i in ids:
            if i in self.special_ids:
                if not prev_special:
                    out += " "
                out += self.sp.decode(run) + self.id_to_token(i)
                prev_special, run = True, []
            else:
                run.append(i)
                prev_special = False
        out += self.sp.decode(run)
        return out.strip()


def spm_charsmap(model_file):
    """NormalizerSpec.precompiled_charsmap of a ModelProto, read from the protobuf wire
    format (the venv has no protobuf package for transformers' own extractor)."""
    def fields(buf):
        i = 0
        while i < len(buf):
            key, i = varint(buf, i)
            num, wire = key >> 3, key & 7
            if wire == 0:
                val, i = varint(buf, i)
            elif wire == 1:
                val, i = buf[i:i + 8], i + 8
            elif wire == 5:
                val, i = buf[i:i + 4], i + 4
            elif wire == 2:
                n, i = varint(buf, i)
                val, i = buf[i:i + n], i + n
            else:
                raise ValueError(f"unsupported wire type {wire}")
            yield num, val

    def varint(buf, i):
        shift = result = 0
        while True:
            b = buf[i]
            i += 1
            result |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return result, i

    with open(model_file, "rb") as f:
        proto = f.read()
    for num, val in fields(proto):
        if num == 3:  # normalizer_spec
            for n2, v2 in fields(val):
                if n2 == 2:  # precompiled_charsmap
                    return bytes(v2)
    return None


def load_fast_t5(model_file):
    """transformers 5's T5Tokenizer as from_pretrained builds it from spiece.model
    (SentencePieceExtractor.extract + T5Converter.convert_from_spm)."""
    import sentencepiece as spm
    from transformers import AddedToken, T5Tokenizer
    sp = spm.SentencePieceProcessor(model_file=model_file)
    vocab = [(sp.id_to_piece(i), sp.get_score(i)) for i in range(sp.get_piece_size())]
    vocab += [(f"<extra_id_{i}>", 0.0) for i in range(99, -1, -1)]
    control = [AddedToken(sp.id_to_piece(i), normalized=False, special=True)
               for i in range(sp.get_piece_size()) if sp.is_control(i)]
    return T5Tokenizer(vocab=vocab, _spm_precompiled_charsmap=spm_charsmap(model_file),
                       additional_special_tokens=control, extra_ids=100)


# --------------------------------------------------------------------------------------
def ids(kind, folder, out_dir, texts_paths):
    """For t5 also writes OUT_DIR/fast_differences.json: the lines where transformers 5's
    T5Tokenizer (the former T5TokenizerFast) gives other ids than SlowT5."""
    if kind == "bert":
        tok = load_bert(folder)
    else:
        slow = SlowT5(os.path.join(folder, "spiece.model"))
        fast = load_fast_t5(os.path.join(folder, "spiece.model"))
        differences = []
    for texts_path in texts_paths:
        texts = read_texts(texts_path)
        name = os.path.splitext(os.path.basename(texts_path))[0]
        with open(os.path.join(out_dir, name + ".ids"), "w", encoding="utf-8") as out:
            if kind == "bert":
                write_bert_ids(tok, texts, out)
                continue
            slow_ids = write_t5_ids(slow, texts, out)
        for n, (a, b) in enumerate(zip(slow_ids, fast(texts)["input_ids"])):
            if a != b:
                differences.append({"file": name, "line": n + 1, "slow": a, "fast": b})
    if kind != "bert":
        with open(os.path.join(out_dir, "fast_differences.json"), "w", encoding="utf-8") as f:
            json.dump(differences, f)


def write_bert_ids(tok, texts, out):
    """One line per text: ids, "|", byte offsets as begin,end pairs."""
    enc = tok(texts, return_offsets_mapping=True)
    for text, ids_, offs in zip(texts, enc["input_ids"], enc["offset_mapping"]):
        offs = byte_offsets(text, offs)
        out.write(" ".join(map(str, ids_)) + "|" + " ".join(f"{b},{e}" for b, e in offs) + "\n")


def write_t5_ids(slow, texts, out):
    """One line per text: the ids with </s> appended. Returns them."""
    plain = slow.sp.encode(texts)  # batched; equal to SlowT5 for texts without special tokens
    result = []
    for text, ids_ in zip(texts, plain):
        if any(s in text for s in ("<pad>", "</s>", "<unk>", "<extra_id_")):
            ids_ = slow.tokenize_ids(text)
        result.append(ids_ + [1])
        out.write(" ".join(map(str, ids_ + [1])) + "\n")
    return result


def encoding_json(enc, texts, tok):
    """The first encoding of a batch, offsets turned into bytes."""
    enc_ids = enc["input_ids"][0]
    offs = enc["offset_mapping"][0]
    seq = enc.sequence_ids(0)
    fixed = []
    for (b, e), s in zip(offs, seq):
        if s is None:
            fixed.append((b, e))
        else:
            fixed.append(byte_offsets(texts[s], [(b, e)])[0])
    return {"ids": enc_ids, "type_ids": enc["token_type_ids"][0],
            "attention_mask": enc["attention_mask"][0],
            "tokens": tok.convert_ids_to_tokens(enc_ids),
            "offsets": fixed, "sequence_ids": [-1 if s is None else s for s in seq]}


def cases(kind, folder, in_path, out_path):
    with open(in_path, encoding="utf-8") as f:
        todo = json.load(f)
    results = []
    if kind == "bert":
        tok = load_bert(folder)
    else:
        slow = SlowT5(os.path.join(folder, "spiece.model"))
        fast = load_fast_t5(os.path.join(folder, "spiece.model"))
    for case in todo:
        try:
            if case["op"] == "decode":
                if kind == "bert":
                    text = tok.decode(case["ids"], skip_special_tokens=case["skip"])
                else:
                    text = slow.decode(case["ids"], skip_special_tokens=case["skip"])
                results.append({"text": text})
                continue
            texts = [case["text"]] + ([case["pair"]] if "pair" in case else [])
            if kind == "bert":
                kwargs = {"add_special_tokens": case.get("add_special_tokens", True),
                          "return_offsets_mapping": True}
                if case.get("max_length"):
                    kwargs.update(truncation=case.get("truncation", "longest_first"),
                                  max_length=case["max_length"])
                if case.get("pad_to"):
                    kwargs.update(padding="max_length", max_length=case["pad_to"])
                    if case.get("max_length"):
                        raise ValueError("case sets both max_length and pad_to")
                # Batched, because the single-text call drops an empty second text
                # (tok("", "") encodes one text; tok([""], [""]) encodes the pair).
                enc = tok(*[[t] for t in texts], **kwargs)
                results.append(encoding_json(enc, texts, tok))
            else:
                add = case.get("add_special_tokens", True)
                ids_ = slow.encode(texts[0], add)
                if len(texts) > 1:
                    ids_ += slow.encode(texts[1], add)
                fast_ids = fast(*texts, add_special_tokens=add)["input_ids"]
                results.append({"ids": ids_, "tokens": [slow.id_to_token(i) for i in ids_],
                                "fast_ids": fast_ids})
        except Exception as e:  # the C++ side expects an error where Hugging Face raised
            results.append({"error": f"{type(e).__name__}: {e}"})
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(results, f, ensure_ascii=False)


def normalize(folder, out_path):
    """BertNormalizer + BertPreTokenizer over every code point (surrogates excepted), each
    between two letters ("a?a"). One JSON line per block of 4096 code points:
    {"text": "a?a a?a ...", "words": [[words of the 1st unit], ...], "unassigned": [...]},
    "unassigned" listing the code points that Unicode (as Python knows it) has not assigned."""
    import unicodedata
    from tokenizers import PreTokenizedString
    backend = load_bert(folder).backend_tokenizer
    with open(out_path, "w", encoding="utf-8") as out:
        for start in range(0, 0x110000, 4096):
            cps = [c for c in range(start, start + 4096) if not 0xD800 <= c <= 0xDFFF]
            text = " ".join("a" + chr(c) + "a" for c in cps)
            pts = PreTokenizedString(text)
            pts.normalize(backend.normalizer.normalize)
            backend.pre_tokenizer.pre_tokenize(pts)
            words = [[] for _ in cps]
            for word, (b, _), _ in pts.get_splits(offset_referential="original", offset_type="char"):
                words[b // 4].append(word)  # unit i is "a?a " at characters 4i..4i+3
            unassigned = [c for c in cps if unicodedata.category(chr(c)) == "Cn"]
            out.write(json.dumps({"text": text, "words": words, "unassigned": unassigned},
                                 ensure_ascii=False) + "\n")


def main(argv):
    cmd = argv[0]
    if cmd == "corpus":
        corpus(argv[1])
    elif cmd == "ids":
        ids(argv[1], argv[2], argv[3], argv[4:])
    elif cmd == "cases":
        cases(*argv[1:5])
    elif cmd == "normalize":
        normalize(argv[1], argv[2])
    else:
        raise SystemExit(f"unknown subcommand {cmd}")


if __name__ == "__main__":
    main(sys.argv[1:])
