"""A small random T5 (fixed seed) for a translation model that pft trains from scratch.

    make_mt_model.py OUT SPIECE_MODEL VOCAB_SIZE

OUT/ gets T5ForConditionalGeneration's config.json and model.safetensors (d_model 128, 2+2
layers, 4 heads, d_ff 512, relu, tied embeddings, the given vocabulary size) and the
SentencePiece model as spiece.model.
"""

import shutil
import sys

import torch
from transformers import T5Config, T5ForConditionalGeneration


def main():
    out, spiece, vocab = sys.argv[1], sys.argv[2], int(sys.argv[3])
    torch.manual_seed(0)
    config = T5Config(vocab_size=vocab, d_model=128, d_kv=32, num_heads=4, d_ff=512,
                      num_layers=2, num_decoder_layers=2, feed_forward_proj="relu",
                      dropout_rate=0.1, tie_word_embeddings=True, decoder_start_token_id=0,
                      eos_token_id=1, pad_token_id=0)
    T5ForConditionalGeneration(config).save_pretrained(out)
    shutil.copy(spiece, f"{out}/spiece.model")


if __name__ == "__main__":
    main()
