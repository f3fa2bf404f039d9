"""Writes a tiny random BertForSequenceClassification checkpoint (with the bert-base-uncased
vocabulary) for training tests.  Usage: make_tiny_bert.py OUT_DIR VOCAB_TXT [HIDDEN_SIZE [INITIALIZER_RANGE]]"""
import shutil
import sys

import torch
from transformers import BertConfig, BertForSequenceClassification


def main():
    out, vocab = sys.argv[1], sys.argv[2]
    hidden = int(sys.argv[3]) if len(sys.argv) > 3 else 32
    init_range = float(sys.argv[4]) if len(sys.argv) > 4 else 0.02
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=30522, hidden_size=hidden, num_hidden_layers=2, num_attention_heads=4,
                     intermediate_size=64, max_position_embeddings=128, num_labels=2, initializer_range=init_range,
                     id2label={0: "negative", 1: "positive"}, label2id={"negative": 0, "positive": 1})
    BertForSequenceClassification(cfg).save_pretrained(out)
    shutil.copy(vocab, f"{out}/vocab.txt")


if __name__ == "__main__":
    main()
