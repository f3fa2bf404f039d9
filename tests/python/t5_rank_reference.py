"""Rank-classification scores of a T5 with a pft-trained LoRA adapter loaded by Hugging Face
PEFT: per example and label, the sum of the log-probabilities of the label word's tokens and
</s> as the decoder target (one word per label here).

    t5_rank_reference.py BASE_DIR ADAPTER_DIR DATA_JSONL PREFIX WORDS_JSON OUT_JSON

The input of an example is PREFIX + its "text" field, tokenized by the `tokenizers` library
from the folder's tokenizer.json (T5's template appends </s>), as transformers' T5Tokenizer
does.
"""

import json
import sys

import torch
from peft import PeftModel
from tokenizers import Tokenizer
from transformers import T5ForConditionalGeneration


def main():
    base, adapter, data, prefix, words, out = sys.argv[1:7]
    words = json.loads(words)
    tok = Tokenizer.from_file(f"{base}/tokenizer.json")
    model = T5ForConditionalGeneration.from_pretrained(base)
    model = PeftModel.from_pretrained(model, adapter).eval()
    scores = []
    with open(data) as f:
        examples = [json.loads(line) for line in f if line.strip()]
    with torch.no_grad():
        for e in examples:
            ids = torch.tensor([tok.encode(prefix + e["text"]).ids])
            row = []
            for word in words:
                labels = torch.tensor([tok.encode(word).ids])
                logits = model(input_ids=ids, attention_mask=torch.ones_like(ids), labels=labels).logits
                logp = torch.log_softmax(logits.float(), -1)[0]
                row.append(float(logp.gather(-1, labels[0].unsqueeze(-1)).sum()))
            scores.append(row)
    with open(out, "w") as f:
        json.dump({"scores": scores}, f)


if __name__ == "__main__":
    main()
