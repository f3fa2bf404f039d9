"""transformers' BertForMaskedLM logits at the [MASK] position of given inputs, and label
scores of multi-token verbalizers computed from them.

    cloze_reference.py MODEL_DIR INPUTS_JSON OUT_SAFETENSORS
        INPUTS_JSON: [{"ids": [...], "mask_position": p}, ...]. OUT: "logits" [rows, vocab]
        float32, each example run alone (no padding).

    cloze_reference.py scores MODEL_DIR SPEC_JSON OUT_SAFETENSORS
        SPEC_JSON: {"before": "Review: ", "after": " It was {mask}.", "texts": [...],
        "words": [[label 0's words], ...], "modes": [[word_tokens, label_words], ...]}.
        Renders each prompt as before + text + after, with {mask} as one [MASK] per sub-token
        of the longest word under whole_word (else one), tokenizes it with transformers'
        tokenizer, and writes "ids_<word_tokens>" (the prompts' ids, -1 padded) and
        "scores_<word_tokens>_<label_words>" [rows, labels]: a word scores its first
        sub-token's logit (first), the mean or max of its sub-tokens' logits (mean, max), or
        the mean log-probability of its sub-tokens, the i-th at the i-th mask (whole_word); a
        label scores the mean or max of its words.
"""

import json
import sys

import torch
from safetensors.torch import save_file
from transformers import AutoTokenizer, BertForMaskedLM


def logits_at_masks(model_dir, inputs, out):
    model = BertForMaskedLM.from_pretrained(model_dir).eval()
    rows = []
    with open(inputs) as f:
        examples = json.load(f)
    with torch.no_grad():
        for e in examples:
            ids = torch.tensor([e["ids"]])
            logits = model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits
            rows.append(logits[0, e["mask_position"]])
    save_file({"logits": torch.stack(rows).contiguous()}, out)


def word_score(logits, positions, tokens, mode):
    if mode == "whole_word":
        return torch.stack([torch.log_softmax(logits[positions[i]], -1)[t] for i, t in enumerate(tokens)]).mean()
    picked = logits[positions[0]][tokens]
    return {"first": picked[0], "mean": picked.mean(), "max": picked.max()}[mode]


def scores(model_dir, spec_file, out):
    spec = json.load(open(spec_file))
    model = BertForMaskedLM.from_pretrained(model_dir).eval()
    tok = AutoTokenizer.from_pretrained(model_dir)
    words = [[tok(w, add_special_tokens=False).input_ids for w in label] for label in spec["words"]]
    longest = max(len(w) for label in words for w in label)
    result = {}
    for word_mode in sorted({m[0] for m in spec["modes"]}):
        masks = longest if word_mode == "whole_word" else 1
        prompts = [spec["before"] + t + spec["after"].replace("{mask}", tok.mask_token * masks)
                   for t in spec["texts"]]
        all_ids = [tok(p).input_ids for p in prompts]
        width = max(len(i) for i in all_ids)
        result[f"ids_{word_mode}"] = torch.tensor([i + [-1] * (width - len(i)) for i in all_ids])
        per_label = {agg: [] for agg in ("mean", "max")}
        with torch.no_grad():
            for ids in all_ids:
                logits = model(input_ids=torch.tensor([ids])).logits[0]
                first = ids.index(tok.mask_token_id)
                positions = list(range(first, first + masks))
                for agg in per_label:
                    row = []
                    for label in words:
                        s = torch.stack([word_score(logits, positions, w, word_mode) for w in label])
                        row.append(s.mean() if agg == "mean" else s.max())
                    per_label[agg].append(torch.stack(row))
        for word, agg in spec["modes"]:
            if word == word_mode:
                result[f"scores_{word}_{agg}"] = torch.stack(per_label[agg]).contiguous()
    save_file(result, out)


def main():
    if sys.argv[1] == "scores":
        scores(*sys.argv[2:5])
    else:
        logits_at_masks(*sys.argv[1:4])


if __name__ == "__main__":
    main()
