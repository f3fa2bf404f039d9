"""Tiny random checkpoints (fixed seeds) with real vocabularies, for the task tests.

    make_task_models.py OUT SHARED_DATA

OUT/mlm/   BertForMaskedLM, bert-base-uncased vocabulary (cloze)
OUT/ner/   BertModel without a head, bert-base-cased vocabulary (token classification: the
           classifier is initialised fresh for the tags of the training data)
OUT/t5/    T5ForConditionalGeneration, T5's SentencePiece vocabulary (text_to_text, seq2seq)
"""

import shutil
import sys

import torch
from transformers import (BertConfig, BertForMaskedLM, BertModel, T5Config,
                          T5ForConditionalGeneration)


def bert_config(vocab_size):
    return BertConfig(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2,
                      num_attention_heads=4, intermediate_size=64, max_position_embeddings=128)


def main():
    out, shared = sys.argv[1], sys.argv[2]
    torch.manual_seed(0)
    BertForMaskedLM(bert_config(30522)).save_pretrained(f"{out}/mlm")
    shutil.copy(f"{shared}/tokenizers/bert-base-uncased/vocab.txt", f"{out}/mlm/vocab.txt")

    torch.manual_seed(1)
    BertModel(bert_config(28996), add_pooling_layer=False).save_pretrained(f"{out}/ner")
    shutil.copy(f"{shared}/tokenizers/bert-base-cased/vocab.txt", f"{out}/ner/vocab.txt")
    with open(f"{out}/ner/tokenizer_config.json", "w") as f:
        f.write('{"do_lower_case": false}\n')

    torch.manual_seed(2)
    config = T5Config(vocab_size=32128, d_model=16, d_kv=4, num_heads=4, d_ff=32, num_layers=2,
                      num_decoder_layers=2, feed_forward_proj="gated-gelu",
                      decoder_start_token_id=0, eos_token_id=1, pad_token_id=0)
    T5ForConditionalGeneration(config).save_pretrained(f"{out}/t5")
    shutil.copy(f"{shared}/tokenizers/t5-small/spiece.model", f"{out}/t5/spiece.model")


if __name__ == "__main__":
    main()
