#!/usr/bin/env python3
"""Reference encodings of tokenizer.json folders, from the live `tokenizers` library.

  tokenizer_json_reference.py texts OUT_DIR
      Every text under the shared data (tokenizer_reference.py's corpus: SST-2 JSONL, GLUE
      TSV and labelled test, CoNLL sentences re-joined, Multi30k en and de), Botchan, the
      Multi30k en/de line pairs and an adversarial list, one JSON value a line:
      OUT_DIR/<set>.jsonl (strings), OUT_DIR/pairs_<set>.jsonl ([first, second]),
      OUT_DIR/adversarial.jsonl. The GLUE train.tsv sentences are train.jsonl's with a
      trailing space (67,349 lines); CI compares that form on GLUE dev and test and leaves
      the train copy, and SST-2 lines two by two as pairs, to PFT_TOKENIZER_PARITY_FULL=1.
  tokenizer_json_reference.py ref FOLDER TEXTS_DIR OUT_DIR
      FOLDER/tokenizer.json through tokenizers.Tokenizer (add_special_tokens=True, the file's
      own truncation and padding off, as transformers' tokenizer(text) calls it):
      OUT_DIR/<set>.ref, one line per text:  ids|type_ids|attention_mask|char offsets|byte
      offsets  (numbers space-separated, offsets as begin end pairs; the byte field is "="
      when the text is ASCII). OUT_DIR/cases.jsonl: the adversarial texts and pairs, the folder's added
      tokens glued to words, truncation/padding cases, and decode(skip_special_tokens
      true/false) of those and of a sample of every set, with transformers' space clean-up
      where tokenizer_config.json asks for it (clean_up_tokenization_spaces).
"""
import json
import os
import random
import sys
from itertools import chain

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from tokenizer_reference import DATA, corpus  # noqa: E402


def adversarial():
    rng = random.Random(18)
    pool = ("abc XYZ 123 ,.;!? é ü ß ñ 日本語 中文 한국어 مرحبا שלום Ελληνικά кириллица "
            "👍🏽 👨‍👩‍👧‍👦 \u0301 \u200d \t \u3000 ﬁ ① ™")
    mixed = "".join(rng.choice(pool) for _ in range(10000))
    return [
        "", " ", "   ", "\t", "\n", " \t\n\r ", "\u00a0\u3000\u2028", "\u200b\u200c\u200d\ufeff",
        "a\x00b\x01c\x07d\x1b[0me\x1f\x7f\x85f", "\x00", "\ufffd\ufffe",
        "caf\u00e9 cafe\u0301 na\u00efve nai\u0308ve", "e" + "\u0301" * 300, "\u0301start",
        "👍 👍🏽 👨‍👩‍👧‍👦 🏳️‍🌈 🇩🇪🇫🇷 ❤️ 🤗🤗🤗 1️⃣ 🧑🏿‍🔬",
        "日本語のテキストです。中文分词测试，标点！한국어 텍스트입니다.", "你好世界" * 10,
        "مرحبا بالعالم! هذا نص عربي.", "שלום עולם, זה טקסט בעברית.", "abc مرحبا 123 שלום def",
        "\u202eRTL override\u202c and \u200fmark\u200e",
        "1234567890 3.14159 1,000,000 ١٢٣ ߁߂ ²³ ½", "!!!???...---«»“”„‘’ — – … ¿¡",
        "don't I'm we'll they've she's it'd DON'T I'M WE'LL", "Hello\r\nWorld\rtab\tend\n\nnext",
        "ﬁ ﬀ ① ™ Ⅻ ｆｕｌｌｗｉｄｔｈ ＡＢＣ ㍿ ﬂ", "İstanbul ß ẞ Σίσυφος ΣΑΣ ǅ ŉ",
        "  leading and trailing  ", "a    b     c      d", "\u2581already\u2581metaspace \u2581\u2581",
        "Ġ Ċ ĠĠ", "<0x41> <0xFF> bytes", "##suffix ## #", "http://example.com/a?b=c&d=e#f",
        "x" * 10000, "word " * 2000, "日本" * 5000, mixed, "a" + " " * 9998 + "b",
        "The quick brown fox jumps over the lazy dog.",
    ]


def texts(out_dir):
    corpus(out_dir)
    full = os.environ.get("PFT_TOKENIZER_PARITY_FULL") == "1"
    if not full:
        os.remove(os.path.join(out_dir, "sst2_glue_train.jsonl"))
    with open(os.path.join(DATA, "tokenizers", "sentencepiece-test", "botchan.txt"),
              encoding="utf-8", newline="") as f:
        botchan = [line.rstrip("\r\n") for line in f]  # first line keeps the BOM
    write_jsonl(os.path.join(out_dir, "botchan.jsonl"), botchan)
    for split in ("train", "dev", "test"):
        with open(os.path.join(DATA, "multi30k", f"{split}.jsonl"), encoding="utf-8") as f:
            pairs = [[r["source"], r["target"]] for r in map(json.loads, f)]
        write_jsonl(os.path.join(out_dir, f"pairs_multi30k_{split}.jsonl"), pairs)
        if full:  # SST-2 lines two by two, as a sentence-pair task feeds them
            with open(os.path.join(DATA, "sst2", f"{split}.jsonl"), encoding="utf-8") as f:
                sst = [r["text"] for r in map(json.loads, f)]
            write_jsonl(os.path.join(out_dir, f"pairs_sst2_{split}.jsonl"),
                        [[a, b] for a, b in zip(sst[0::2], sst[1::2])])
    write_jsonl(os.path.join(out_dir, "adversarial.jsonl"), adversarial())


def write_jsonl(path, values):
    with open(path, "w", encoding="utf-8") as f:
        for v in values:
            f.write(json.dumps(v, ensure_ascii=False) + "\n")


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def nums(values):
    return " ".join(map(str, values))


def offs(values):
    return " ".join(map(str, chain.from_iterable(values)))


def compact(enc, text, second=None):
    line = f"{nums(enc.ids)}|{nums(enc.type_ids)}|{nums(enc.attention_mask)}|{offs(enc.offsets)}|"
    if text.isascii() and (second is None or second.isascii()):
        return line + "="
    return line + offs(encoding_byte_offsets(enc, text, second))


def encoding_byte_offsets(enc, text, second):
    """Byte offsets into the text each token came from (the second text for sequence 1);
    (0, 0) for special tokens and padding."""
    tables = [char_to_byte(text), char_to_byte(second) if second is not None else None]
    out = []
    for (b, e), s in zip(enc.offsets, enc.sequence_ids):
        out.append((0, 0) if s is None else (tables[s][b], tables[s][e]))
    return out


def char_to_byte(text):
    pos = [0]
    for ch in text:
        pos.append(pos[-1] + len(ch.encode("utf-8")))
    return pos


def added_token_texts(doc):
    added = [t["content"] for t in doc.get("added_tokens", [])]
    if len(added) > 16:
        added = added[:8] + added[-8:]
    out = []
    for t in added:
        out += [f"x{t}y", f"{t}{t}", f" {t} ", f"word{t} word", f"{t}\n{t}", f"a {t}b {t}",
                f"{t.lower()} {t.upper()}", f"{t[:-1]}"]
    return out


def ref(folder, texts_dir, out_dir):
    from tokenizers import Tokenizer
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(folder, "tokenizer.json")
    tok = Tokenizer.from_file(path)
    tok.no_truncation()
    tok.no_padding()
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    config_path = os.path.join(folder, "tokenizer_config.json")
    config = json.load(open(config_path, encoding="utf-8")) if os.path.exists(config_path) else {}
    pad_token = config.get("pad_token")
    if isinstance(pad_token, dict):
        pad_token = pad_token.get("content")
    pad_id = tok.token_to_id(pad_token) if pad_token else None

    samples = []  # (text, second) decoded in cases.jsonl
    for name in sorted(os.listdir(texts_dir)):
        if not name.endswith(".jsonl") or name == "adversarial.jsonl":
            continue
        values = read_jsonl(os.path.join(texts_dir, name))
        if name.startswith("pairs_"):
            encs = tok.encode_batch([(a, b) for a, b in values], add_special_tokens=True)
            lines = [compact(e, a, b) for e, (a, b) in zip(encs, values)]
            samples += [(a, b) for a, b in values[:10]]
        else:
            encs = tok.encode_batch(values, add_special_tokens=True)
            lines = [compact(e, t) for e, t in zip(encs, values)]
            samples += [(t, None) for t in values[:20]]
        with open(os.path.join(out_dir, name[:-len(".jsonl")] + ".ref"), "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + ("\n" if lines else ""))

    adv = read_jsonl(os.path.join(texts_dir, "adversarial.jsonl")) + added_token_texts(doc)
    cases = [dict(text=t) for t in adv]
    cases += [dict(text=a, pair=b) for a, b in
              [("", ""), ("a", ""), ("", "b")] + list(zip(adv[::3], adv[1::3]))]
    cases += [dict(text=t, pair=b, sample=True) for t, b in samples]
    short = [s for s in samples if s[1] is not None][:6] + [s for s in samples if s[1] is None][:6]
    for max_length in (6, 12, 20):
        for t, b in short:
            for strategy in (("longest_first", "only_first", "only_second") if b else ("longest_first",)):
                cases.append(dict(text=t, pair=b, max_length=max_length, truncation=strategy))
                if pad_id is not None:
                    cases.append(dict(text=t, pair=b, max_length=max_length, truncation=strategy,
                                      pad_to=max_length))
    if pad_id is not None:
        for t, b in short:
            cases.append(dict(text=t, pair=b, pad_to=48))
    # transformers' decode: the tokenizer's decoder, then its space clean-up where the folder's
    # tokenizer_config.json asks for it (transformers leaves BPE models alone unless forced)
    from transformers import PreTrainedTokenizerFast
    hf = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer.from_file(path),
        clean_up_tokenization_spaces=bool(config.get("clean_up_tokenization_spaces", False)),
        clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output=bool(
            config.get("clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output", False)))
    with open(os.path.join(out_dir, "cases.jsonl"), "w", encoding="utf-8") as f:
        for case in cases:
            out = run_case(tok, case, pad_id, pad_token)
            if "decode" in out:
                out["decode"] = hf.decode(out["ids"], skip_special_tokens=True)
                out["decode_all"] = hf.decode(out["ids"], skip_special_tokens=False)
            f.write(json.dumps(out, ensure_ascii=False) + "\n")


def run_case(tok, case, pad_id, pad_token):
    text, second = case["text"], case.get("pair")
    max_length, pad_to = case.get("max_length", 0), case.get("pad_to", 0)
    strategy = case.get("truncation", "longest_first")
    if max_length:
        tok.enable_truncation(max_length, strategy=strategy)
    if pad_to:
        tok.enable_padding(length=pad_to, pad_id=pad_id, pad_token=pad_token)
    out = dict(text=text, pair=second, max_length=max_length, truncation=strategy, pad_to=pad_to,
               sample=case.get("sample", False))
    try:
        enc = tok.encode(text, second, add_special_tokens=True) if second is not None else \
            tok.encode(text, add_special_tokens=True)
        out.update(ids=enc.ids, type_ids=enc.type_ids, attention_mask=enc.attention_mask,
                   tokens=enc.tokens, offsets=enc.offsets,
                   byte_offsets=encoding_byte_offsets(enc, text, second),
                   decode="", decode_all="")
    except Exception as e:  # a truncation that cannot be met
        out["error"] = str(e)
    finally:
        tok.no_truncation()
        tok.no_padding()
    return out


def main(argv):
    if len(argv) >= 3 and argv[1] == "texts":
        texts(argv[2])
    elif len(argv) == 5 and argv[1] == "ref":
        ref(argv[2], argv[3], argv[4])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
