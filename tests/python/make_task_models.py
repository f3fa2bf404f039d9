"""Tiny random checkpoints (fixed seeds) with real vocabularies, for the task tests.

    make_task_models.py OUT SHARED_DATA

OUT/mlm/   BertForMaskedLM, bert-base-uncased vocabulary (cloze)
OUT/ner/   BertModel without a head, bert-base-cased vocabulary (token classification: the
           classifier is initialised fresh for the tags of the training data)
OUT/t5/    T5ForConditionalGeneration, T5's SentencePiece vocabulary (text_to_text, seq2seq)

The tokenizers are written as transformers 5's save_pretrained writes them: tokenizer.json
and tokenizer_config.json only (no vocab.txt, no spiece.model), converted from the shipped
vocabularies (make_tokenizer_files.py), so every task test runs through pft's tokenizer.json
reader.
"""

import os
import sys

import torch

if len(sys.argv) > 2:  # the shared data folder, where the tokenizer helpers look
    os.environ["PFT_SHARED_DATA"] = sys.argv[2]
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_tokenizer_files import bert as save_bert_tokenizer  # noqa: E402
from make_tokenizer_files import t5 as save_t5_tokenizer  # noqa: E402
from transformers import (BertConfig, BertForMaskedLM, BertModel, T5Config,
                          T5ForConditionalGeneration)


def bert_config(vocab_size):
    return BertConfig(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2,
                      num_attention_heads=4, intermediate_size=64, max_position_embeddings=128)


def main():
    out = sys.argv[1]
    torch.manual_seed(0)
    BertForMaskedLM(bert_config(30522)).save_pretrained(f"{out}/mlm")
    save_bert_tokenizer(out, "mlm", "bert-base-uncased", True)

    torch.manual_seed(1)
    BertModel(bert_config(28996), add_pooling_layer=False).save_pretrained(f"{out}/ner")
    save_bert_tokenizer(out, "ner", "bert-base-cased", False)

    torch.manual_seed(2)
    config = T5Config(vocab_size=32128, d_model=16, d_kv=4, num_heads=4, d_ff=32, num_layers=2,
                      num_decoder_layers=2, feed_forward_proj="gated-gelu",
                      decoder_start_token_id=0, eos_token_id=1, pad_token_id=0)
    T5ForConditionalGeneration(config).save_pretrained(f"{out}/t5")
    save_t5_tokenizer(out)


if __name__ == "__main__":
    main()
