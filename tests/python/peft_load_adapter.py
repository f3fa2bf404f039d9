"""Loads a pft-trained LoRA adapter with Hugging Face PEFT and prints the logits of a batch
as JSON.  Usage: peft_load_adapter.py BASE_DIR ADAPTER_DIR OUT.json"""
import json
import sys

import torch
from peft import PeftModel
from transformers import BertForSequenceClassification, BertTokenizerFast


def main():
    base, adapter, out = sys.argv[1:4]
    model = BertForSequenceClassification.from_pretrained(base)
    model = PeftModel.from_pretrained(model, adapter).eval()
    tok = BertTokenizerFast.from_pretrained(base)
    texts = ["a gorgeous , witty , seductive movie .", "the plot is nothing but boilerplate clichés"]
    enc = tok(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        logits = model(**enc).logits
    with open(out, "w") as f:
        json.dump({"texts": texts, "logits": logits.tolist()}, f)


if __name__ == "__main__":
    main()
