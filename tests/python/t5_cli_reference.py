"""A tiny random T5 with T5's real vocabulary, and what transformers generates for some prompts,
for the end-to-end tests of `pft generate`.

Usage: t5_cli_reference.py SPIECE_MODEL OUT_DIR

OUT_DIR/model/        config.json, model.safetensors (vocab 32128, d_model 8), spiece.model
OUT_DIR/prompts.jsonl prompts: "source" fields, one record with "text" only, extra fields kept
OUT_DIR/expected.json {"greedy": [...], "beam": [...], "truncated": [...]} texts per prompt:
                      transformers' generate() on the ids T5's tokenizer gives (pieces + </s>),
                      decoded without special tokens, with no_repeat_ngram_size=NO_REPEAT. "truncated": greedy with every prompt cut
                      to TRUNCATE tokens (EOS included).
Tokenization is the sentencepiece library plus T5's conventions (ASCII prompts, where
transformers' tokenizers agree with it).
"""

import json
import os
import shutil
import sys

import sentencepiece as spm
import torch
from transformers import T5Config, T5ForConditionalGeneration

PROMPTS = [
    {"id": 1, "source": "translate English to German: The house is wonderful."},
    {"id": 2, "source": "summarize: studies have shown that owning a dog is good for you"},
    {"id": 3, "text": "cola sentence: The course is jumping well."},
    {"id": 4, "source": "Hello"},
    {"id": 5, "source": "question: what is the capital of France? context: Paris is the capital."},
]
MAX_NEW_TOKENS = 8
TRUNCATE = 4
# A random model repeats one token; forbidding repeats makes the outputs differ by prompt.
NO_REPEAT = 1


def main():
    spiece, out = sys.argv[1], sys.argv[2]
    torch.manual_seed(3)
    config = T5Config(vocab_size=32128, d_model=16, d_kv=4, num_heads=4, d_ff=32, num_layers=2,
                      num_decoder_layers=1, feed_forward_proj="gated-gelu",
                      decoder_start_token_id=0, eos_token_id=1, pad_token_id=0)
    model = T5ForConditionalGeneration(config)
    with torch.no_grad():
        model.shared.weight[1] *= 1.5  # EOS now and then, so lengths vary
    model_dir = os.path.join(out, "model")
    model.save_pretrained(model_dir)
    shutil.copy(spiece, os.path.join(model_dir, "spiece.model"))
    model.eval()

    sp = spm.SentencePieceProcessor(model_file=spiece)
    pieces = sp.get_piece_size()

    def encode(text, limit=None):
        ids = sp.encode(text)
        if limit is not None:
            ids = ids[: limit - 1]
        return ids + [1]

    def decode(ids):
        # Special tokens (<pad>, </s>, <unk>, sentinels) and ids past the tokenizer are skipped.
        return sp.decode([i for i in ids if 3 <= i < pieces])

    def run(encoded, **kwargs):
        texts = []
        for ids in encoded:
            with torch.no_grad():
                generated = model.generate(input_ids=torch.tensor([ids]),
                                           max_new_tokens=MAX_NEW_TOKENS, **kwargs)
            texts.append(decode(generated[0, 1:].tolist()))
        return texts

    texts = [p.get("source", p.get("text")) for p in PROMPTS]
    full = [encode(t) for t in texts]
    expected = {
        "greedy": run(full, num_beams=1, do_sample=False, no_repeat_ngram_size=NO_REPEAT),
        "beam": run(full, num_beams=4, do_sample=False, no_repeat_ngram_size=NO_REPEAT),
        "truncated": run([encode(t, TRUNCATE) for t in texts], num_beams=1, do_sample=False,
                         no_repeat_ngram_size=NO_REPEAT),
        "lengths": [len(ids) for ids in full],
    }
    with open(os.path.join(out, "prompts.jsonl"), "w") as f:
        for p in PROMPTS:
            f.write(json.dumps(p) + "\n")
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected, f)


if __name__ == "__main__":
    main()
