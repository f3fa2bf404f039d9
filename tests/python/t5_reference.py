"""Writes a random tiny T5 checkpoint and Hugging Face reference outputs for pft's parity tests.

Usage: t5_reference.py OUT_DIR VARIANT:SIZE... [--seed N] [--prompts N]
  VARIANT: v1_0 (relu, tied embeddings) or v1_1 (gated-gelu, own lm_head); SIZE: tiny or small.
  One process writes every checkpoint asked for (importing transformers dominates the time).

For each VARIANT:SIZE, in OUT_DIR/VARIANT_SIZE/:
model/            the checkpoint, as transformers writes it (config.json, model.safetensors,
                          generation_config.json). For v1_1 the checkpoint is untied the way
                          hub checkpoints of T5 v1.1 and FLAN-T5 are: its own lm_head.weight and
                          "tie_word_embeddings": false in config.json.
reference.safetensors
    input_ids, attention_mask            a right-padded batch of prompts (EOS-terminated)
    encoder_hidden                       encoder last hidden state
    decoder_input_ids, decoder_attention_mask   a right-padded teacher-forcing batch
    logits                               lm logits for that batch
    prefix.{encoder,decoder}.N.{key,value}  random per-layer key/value prefixes
    prefix_encoder_hidden                encoder output with the encoder prefixes (transformers'
                                         T5 blocks run with the prefixes as cached past keys/values)
    prefix_logits                        teacher-forced logits with the decoder prefixes passed as
                                         past_key_values, as PEFT's prefix tuning passes them
generate.json     token ids from generate() for several settings (see CASES), each
                          cropped after the first EOS (transformers pads the rest).
"""

import argparse
import json
import os

import torch
from safetensors.torch import load_file, save_file
from transformers import T5Config, T5ForConditionalGeneration
from transformers.cache_utils import DynamicCache, EncoderDecoderCache

SIZES = {
    # d_model, d_kv, heads, d_ff, encoder layers, decoder layers, vocab, buckets, max distance
    "tiny": dict(d_model=16, d_kv=4, num_heads=4, d_ff=32, num_layers=2, num_decoder_layers=2,
                 vocab_size=48, relative_attention_num_buckets=8, relative_attention_max_distance=16),
    "small": dict(d_model=32, d_kv=8, num_heads=4, d_ff=48, num_layers=3, num_decoder_layers=2,
                  vocab_size=96, relative_attention_num_buckets=32,
                  relative_attention_max_distance=128),
}

# Scale of the EOS row: a random model rarely picks EOS, a larger row makes sequences end at
# varied lengths (the tied v1.0 logits are scaled down by d_model^-0.5, hence its larger boost).
EOS_BOOST = {"v1_0": 6.0, "v1_1": 2.0}

# generate() settings compared id for id. Each runs on the whole padded batch at once.
CASES = {
    "greedy": dict(num_beams=1, do_sample=False, max_new_tokens=12),
    "greedy_min_new_tokens": dict(num_beams=1, do_sample=False, max_new_tokens=10, min_new_tokens=6),
    "greedy_no_repeat": dict(num_beams=1, do_sample=False, max_new_tokens=14, no_repeat_ngram_size=2),
    "beam4": dict(num_beams=4, do_sample=False, max_new_tokens=12),
    "beam4_early_lp": dict(num_beams=4, do_sample=False, max_new_tokens=12, early_stopping=True,
                           length_penalty=0.5),
    "beam4_long_lp_ngram": dict(num_beams=4, do_sample=False, max_new_tokens=12, length_penalty=2.0,
                                no_repeat_ngram_size=3, min_new_tokens=3),
    "beam3_negative_lp": dict(num_beams=3, do_sample=False, max_new_tokens=8, length_penalty=-1.0),
}
# Sampling, reproduced from torch.manual_seed(seed) right before generate().
SAMPLE_CASES = {
    "sample": dict(num_beams=1, do_sample=True, max_new_tokens=12, temperature=0.7, top_k=10,
                   top_p=0.9, seed=1234),
    "sample_plain": dict(num_beams=1, do_sample=True, max_new_tokens=10, temperature=1.0, top_k=0,
                         top_p=1.0, seed=7),
}


def make_batch(gen, n, vocab, min_len, max_len, eos, pad):
    lengths = torch.randint(min_len, max_len + 1, (n,), generator=gen)
    ids = torch.full((n, int(lengths.max())), pad, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, length in enumerate(lengths.tolist()):
        # Ordinary tokens are 2.. (0 is pad, 1 is EOS), the last one is EOS as T5's tokenizer adds it.
        body = torch.randint(2, vocab, (length - 1,), generator=gen)
        ids[i, : length - 1] = body
        ids[i, length - 1] = eos
        mask[i, :length] = 1
    return ids, mask


def crop_after_eos(rows, eos, start):
    out = []
    for row in rows:
        assert row[0] == start, row
        gen = []
        for t in row[1:]:
            gen.append(t)
            if t == eos:
                break
        out.append(gen)
    return out


def prefixes(gen, layers, rows, config, length):
    shape = (rows, config.num_heads, length, config.d_kv)
    return [(torch.randn(shape, generator=gen), torch.randn(shape, generator=gen))
            for _ in range(layers)]


def cache_of(pairs):
    cache = DynamicCache()
    for layer, (key, value) in enumerate(pairs):
        cache.update(key.clone(), value.clone(), layer)
    return cache


def write_variant(out, variant, size, seed, prompts):
    torch.manual_seed(seed)
    tied = variant == "v1_0"
    config = T5Config(
        **SIZES[size],
        feed_forward_proj="relu" if tied else "gated-gelu",
        tie_word_embeddings=tied,
        dropout_rate=0.1,
        layer_norm_epsilon=1e-6,
        decoder_start_token_id=0,
        eos_token_id=1,
        pad_token_id=0,
    )
    model = T5ForConditionalGeneration(config)
    with torch.no_grad():
        model.shared.weight[1] *= EOS_BOOST[variant]
    model_dir = os.path.join(out, "model")
    model.save_pretrained(model_dir)
    if not tied:
        # transformers 5 always ties lm_head to shared when saving; hub v1.1 checkpoints carry their
        # own lm_head.weight and say "tie_word_embeddings": false. Write one like that.
        weights = load_file(os.path.join(model_dir, "model.safetensors"))
        gen = torch.Generator().manual_seed(seed + 99)
        lm_head = torch.randn(config.vocab_size, config.d_model, generator=gen) * 0.5
        lm_head[1] *= EOS_BOOST[variant]
        weights["lm_head.weight"] = lm_head
        save_file(weights, os.path.join(model_dir, "model.safetensors"), metadata={"format": "pt"})
        with open(os.path.join(model_dir, "config.json")) as f:
            cfg = json.load(f)
        cfg["tie_word_embeddings"] = False
        cfg.pop("scale_decoder_outputs", None)
        with open(os.path.join(model_dir, "config.json"), "w") as f:
            json.dump(cfg, f, indent=2)

    # The reference is the checkpoint as transformers reads it back.
    model = T5ForConditionalGeneration.from_pretrained(model_dir)
    model.eval()
    if not tied:
        assert model.lm_head.weight.data_ptr() != model.shared.weight.data_ptr()
        assert not model.config.scale_decoder_outputs

    gen = torch.Generator().manual_seed(seed + 1)
    ids, mask = make_batch(gen, prompts, config.vocab_size, 2, 11, 1, 0)
    rows = 4
    dec_ids, dec_mask = make_batch(gen, rows, config.vocab_size, 3, 8, 1, 0)
    dec_ids = torch.cat([torch.zeros(rows, 1, dtype=torch.long), dec_ids], dim=1)  # start token
    dec_mask = torch.cat([torch.ones(rows, 1, dtype=torch.long), dec_mask], dim=1)
    enc_prefix = prefixes(gen, config.num_layers, rows, config, 3)
    dec_prefix = prefixes(gen, config.num_decoder_layers, rows, config, 2)

    tensors = {"input_ids": ids, "attention_mask": mask, "decoder_input_ids": dec_ids,
               "decoder_attention_mask": dec_mask}
    for name, pairs in (("encoder", enc_prefix), ("decoder", dec_prefix)):
        for layer, (key, value) in enumerate(pairs):
            tensors[f"prefix.{name}.{layer}.key"] = key
            tensors[f"prefix.{name}.{layer}.value"] = value

    with torch.no_grad():
        tensors["encoder_hidden"] = model.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        tensors["logits"] = model(input_ids=ids[:rows], attention_mask=mask[:rows],
                                  decoder_input_ids=dec_ids, decoder_attention_mask=dec_mask).logits

        # Encoder prefixes: transformers' encoder never takes past key/values, so its blocks are
        # run here as its stack runs them, with the prefixes as a cache (bidirectional buckets,
        # the prefix counted as past positions) and the mask extended by ones.
        encoder = model.encoder
        p = enc_prefix[0][0].shape[2]
        length = ids.shape[1]
        ext = torch.cat([torch.ones(rows, p, dtype=torch.long), mask[:rows]], dim=1).bool()
        mask4 = ext[:, None, None, :].expand(rows, 1, length, p + length)
        hidden = encoder.embed_tokens(ids[:rows])
        cache = cache_of(enc_prefix)
        bias = None
        for block in encoder.block:
            hidden, bias, _ = block(hidden, mask4, bias, past_key_values=cache)
        tensors["prefix_encoder_hidden"] = encoder.final_layer_norm(hidden)

        # Decoder prefixes as PEFT's prefix tuning hands them to transformers.
        p = dec_prefix[0][0].shape[2]
        past = EncoderDecoderCache(cache_of(dec_prefix), DynamicCache())
        tensors["prefix_logits"] = model(
            input_ids=ids[:rows], attention_mask=mask[:rows], decoder_input_ids=dec_ids,
            decoder_attention_mask=torch.cat([torch.ones(rows, p, dtype=torch.long), dec_mask], 1),
            past_key_values=past, use_cache=True).logits

        results = {"eos": 1, "pad": 0, "start": 0, "cases": {}}
        for name, kwargs in CASES.items():
            generated = model.generate(input_ids=ids, attention_mask=mask, **kwargs)
            results["cases"][name] = {"options": kwargs,
                                      "ids": crop_after_eos(generated.tolist(), 1, 0)}
        for name, kwargs in SAMPLE_CASES.items():
            kwargs = dict(kwargs)
            sample_seed = kwargs.pop("seed")
            torch.manual_seed(sample_seed)
            generated = model.generate(input_ids=ids, attention_mask=mask, **kwargs)
            results["cases"][name] = {"options": dict(kwargs, seed=sample_seed),
                                      "ids": crop_after_eos(generated.tolist(), 1, 0)}

    save_file({k: v.contiguous() for k, v in tensors.items()},
              os.path.join(out, "reference.safetensors"))
    with open(os.path.join(out, "generate.json"), "w") as f:
        json.dump(results, f)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("variants", nargs="+", help="VARIANT:SIZE, e.g. v1_0:tiny")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--prompts", type=int, default=16)
    args = parser.parse_args()
    for spec in args.variants:
        variant, _, size = spec.partition(":")
        if variant not in EOS_BOOST or size not in SIZES:
            parser.error(f"bad VARIANT:SIZE {spec!r}: variants {sorted(EOS_BOOST)}, sizes {sorted(SIZES)}")
        write_variant(os.path.join(args.out, f"{variant}_{size}"), variant, size, args.seed,
                      args.prompts)


if __name__ == "__main__":
    main()
