"""Hugging Face reference outputs for pft's BERT parity tests.

Usage:
  bert_reference.py tiny OUT_DIR
      Random tiny BERT configs (fixed seeds). For each config NAME writes OUT_DIR/NAME/{base,
      mlm,seq,tok}/ (BertModel, BertForMaskedLM, BertForSequenceClassification,
      BertForTokenClassification checkpoints via save_pretrained) and the inputs and outputs
      of each into OUT_DIR/reference.json.
  bert_reference.py minilm MODEL_DIR SST2_JSONL OUT_JSON COUNT
      Tokenizes COUNT SST-2 sentences (some as pairs) with the folder's tokenizer, runs the
      real checkpoint as BertModel and writes ids, masks and outputs.
  bert_reference.py eval_fixture OUT_DIR VOCAB_TXT SST2_JSONL COUNT MAX_LENGTH
      A tiny BertForSequenceClassification with a real WordPiece vocabulary in OUT_DIR/model
      (tokenizer files and vocab.txt beside it), COUNT examples in OUT_DIR/data.jsonl
      (fields sentence, hypothesis, label), and HF's logits per example, for the sentence
      alone and for the pair, in OUT_DIR/expected.json.

Tensors are written as {"shape": [...], "data": [...]} (row-major, float32 values printed
exactly).
"""

import json
import os
import shutil
import sys

import torch
from transformers import (
    AutoTokenizer,
    BertConfig,
    BertForMaskedLM,
    BertForSequenceClassification,
    BertForTokenClassification,
    BertModel,
    BertTokenizer,
    DynamicCache,
)


def tensor_json(t):
    t = t.detach().to(torch.float32).contiguous() if t.is_floating_point() else t.detach()
    return {"shape": list(t.shape), "data": t.reshape(-1).tolist()}


def perturb(model, seed):
    """transformers initialises LayerNorm to (1, 0) and biases to 0; random values everywhere
    make a parameter loaded under a wrong name show up in the outputs."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, p in sorted(model.named_parameters()):
            p.add_(torch.randn(p.shape, generator=gen) * 0.1)
    return model


TINY_CONFIGS = [
    # name, config kwargs, whether token_type_ids are passed, seed
    ("gelu_types2", dict(vocab_size=120, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                         intermediate_size=48, hidden_act="gelu", type_vocab_size=2,
                         max_position_embeddings=40, layer_norm_eps=1e-12,
                         id2label={0: "negative", 1: "neutral", 2: "positive"},
                         label2id={"negative": 0, "neutral": 1, "positive": 2}), True, 11),
    ("relu_types1", dict(vocab_size=90, hidden_size=48, num_hidden_layers=3, num_attention_heads=6,
                         intermediate_size=64, hidden_act="relu", type_vocab_size=1,
                         max_position_embeddings=32, layer_norm_eps=1e-5), False, 12),
    ("gelu_new_types3", dict(vocab_size=77, hidden_size=24, num_hidden_layers=1,
                             num_attention_heads=2, intermediate_size=40, hidden_act="gelu_new",
                             type_vocab_size=3, max_position_embeddings=24, layer_norm_eps=1e-7,
                             classifier_dropout=0.2, num_labels=4, pad_token_id=1), True, 13),
    ("tanh_untied", dict(vocab_size=64, hidden_size=16, num_hidden_layers=2, num_attention_heads=1,
                         intermediate_size=20, hidden_act="gelu_pytorch_tanh", type_vocab_size=2,
                         max_position_embeddings=16, tie_word_embeddings=False), True, 14),
]


def tiny_inputs(config, with_types, seed):
    gen = torch.Generator().manual_seed(seed)
    batch, seq = 3, 9
    lengths = [9, 6, 2]
    pad = config.pad_token_id
    ids = torch.randint(0, config.vocab_size, (batch, seq), generator=gen)
    ids[ids == pad] = (pad + 1) % config.vocab_size
    mask = torch.zeros(batch, seq, dtype=torch.long)
    types = torch.zeros(batch, seq, dtype=torch.long)
    for b, n in enumerate(lengths):
        mask[b, :n] = 1
        ids[b, n:] = pad
        if config.type_vocab_size > 1:
            split = max(1, n // 2)
            types[b, split:n] = torch.randint(1, config.type_vocab_size, (n - split,), generator=gen)
    return ids, mask, (types if with_types else None)


def prefix_reference(model, config, ids, mask, types, seed):
    """Per-layer key/value prefixes through transformers' cache, as PEFT's prefix tuning
    passes them: a DynamicCache holding the prefix and an attention mask extended by ones."""
    gen = torch.Generator().manual_seed(seed)
    batch = ids.shape[0]
    heads = config.num_attention_heads
    head_dim = config.hidden_size // heads
    prefix_len = 4
    keys = [torch.randn(batch, heads, prefix_len, head_dim, generator=gen)
            for _ in range(config.num_hidden_layers)]
    values = [torch.randn(batch, heads, prefix_len, head_dim, generator=gen)
              for _ in range(config.num_hidden_layers)]
    cache = DynamicCache(config=config)
    for i in range(config.num_hidden_layers):
        cache.update(keys[i].clone(), values[i].clone(), i)
    full_mask = torch.cat([torch.ones(batch, prefix_len, dtype=torch.long), mask], dim=1)
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=full_mask, token_type_ids=types,
                    past_key_values=cache)
    return {
        "keys": [tensor_json(k) for k in keys],
        "values": [tensor_json(v) for v in values],
        "last_hidden_state": tensor_json(out.last_hidden_state),
        "pooler_output": tensor_json(out.pooler_output),
    }


def tiny(out_dir):
    entries = []
    for name, kwargs, with_types, seed in TINY_CONFIGS:
        config = BertConfig(**kwargs)
        ids, mask, types = tiny_inputs(config, with_types, seed)
        entry = {
            "name": name,
            "input_ids": tensor_json(ids),
            "attention_mask": tensor_json(mask),
            "token_type_ids": tensor_json(types) if types is not None else None,
        }
        for offset, (kind, cls) in enumerate([("base", BertModel), ("mlm", BertForMaskedLM),
                                              ("seq", BertForSequenceClassification),
                                              ("tok", BertForTokenClassification)]):
            torch.manual_seed(seed * 10 + offset)
            model = perturb(cls(config), seed * 10 + offset).eval()
            folder = os.path.join(out_dir, name, kind)
            model.save_pretrained(folder)
            with torch.no_grad():
                out = model(input_ids=ids, attention_mask=mask, token_type_ids=types,
                            output_hidden_states=True)
            if kind == "base":
                entry["last_hidden_state"] = tensor_json(out.last_hidden_state)
                entry["pooler_output"] = tensor_json(out.pooler_output)
                entry["hidden_states"] = [tensor_json(h) for h in out.hidden_states]
                entry["prefix"] = prefix_reference(model, config, ids, mask, types, seed + 100)
            else:
                entry[kind + "_logits"] = tensor_json(out.logits)
        entries.append(entry)
    with open(os.path.join(out_dir, "reference.json"), "w") as f:
        json.dump({"configs": entries}, f)


def read_jsonl(path, count):
    rows = []
    with open(path) as f:
        for line in f:
            if line.strip():
                rows.append(json.loads(line))
            if len(rows) == count:
                break
    return rows


def minilm(model_dir, sst2, out_json, count):
    rows = read_jsonl(sst2, count)
    texts = [r["text"] for r in rows]
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    # Every fourth input is a pair, so that token type 1 is exercised too.
    firsts, seconds = [], []
    for i, text in enumerate(texts):
        firsts.append(text)
        seconds.append(texts[(i + 1) % len(texts)] if i % 4 == 3 else None)
    encodings = [tokenizer(a, b) if b is not None else tokenizer(a)
                 for a, b in zip(firsts, seconds)]
    seq = max(len(e["input_ids"]) for e in encodings)
    ids = torch.zeros(len(encodings), seq, dtype=torch.long)
    mask = torch.zeros_like(ids)
    types = torch.zeros_like(ids)
    for b, e in enumerate(encodings):
        n = len(e["input_ids"])
        ids[b, :n] = torch.tensor(e["input_ids"])
        mask[b, :n] = 1
        types[b, :n] = torch.tensor(e["token_type_ids"])
    model = BertModel.from_pretrained(model_dir).eval()
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=mask, token_type_ids=types)
    with open(out_json, "w") as f:
        json.dump({"input_ids": tensor_json(ids), "attention_mask": tensor_json(mask),
                   "token_type_ids": tensor_json(types),
                   "last_hidden_state": tensor_json(out.last_hidden_state),
                   "pooler_output": tensor_json(out.pooler_output)}, f)


def eval_fixture(out_dir, vocab_txt, sst2, count, max_length):
    model_dir = os.path.join(out_dir, "model")
    torch.manual_seed(7)
    with open(vocab_txt) as f:
        vocab_size = sum(1 for _ in f)
    config = BertConfig(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=4, intermediate_size=48, max_position_embeddings=64,
                        id2label={0: "negative", 1: "positive"},
                        label2id={"negative": 0, "positive": 1})
    model = perturb(BertForSequenceClassification(config), 7).eval()
    model.save_pretrained(model_dir)
    tokenizer = BertTokenizer(vocab=vocab_txt, do_lower_case=True)
    tokenizer.save_pretrained(model_dir)
    shutil.copy(vocab_txt, os.path.join(model_dir, "vocab.txt"))

    rows = read_jsonl(sst2, count)
    data = []
    for i, r in enumerate(rows):
        data.append({"sentence": r["text"], "hypothesis": rows[(i + 1) % len(rows)]["text"],
                     "label": r["label"]})
    with open(os.path.join(out_dir, "data.jsonl"), "w") as f:
        for row in data:
            f.write(json.dumps(row) + "\n")

    def logits_of(pairs):
        result = []
        for first, second in pairs:
            enc = tokenizer(first, second, truncation=True, max_length=max_length,
                            return_tensors="pt")
            with torch.no_grad():
                result.append(model(**enc).logits[0].tolist())
        return result

    expected = {
        "single": logits_of([(row["sentence"], None) for row in data]),
        "pair": logits_of([(row["sentence"], row["hypothesis"]) for row in data]),
        "labels": [row["label"] for row in data],
    }
    with open(os.path.join(out_dir, "expected.json"), "w") as f:
        json.dump(expected, f)


def main(argv):
    if len(argv) >= 2 and argv[0] == "tiny":
        tiny(argv[1])
    elif len(argv) == 5 and argv[0] == "minilm":
        minilm(argv[1], argv[2], argv[3], int(argv[4]))
    elif len(argv) == 6 and argv[0] == "eval_fixture":
        eval_fixture(argv[1], argv[2], argv[3], int(argv[4]), int(argv[5]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
