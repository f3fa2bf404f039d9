"""transformers' BertForMaskedLM logits at the [MASK] position of given inputs.

    cloze_reference.py MODEL_DIR INPUTS_JSON OUT_SAFETENSORS

INPUTS_JSON: [{"ids": [...], "mask_position": p}, ...]. OUT: "logits" [rows, vocab] float32,
each example run alone (no padding).
"""

import json
import sys

import torch
from safetensors.torch import save_file
from transformers import BertForMaskedLM


def main():
    model_dir, inputs, out = sys.argv[1:4]
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


if __name__ == "__main__":
    main()
