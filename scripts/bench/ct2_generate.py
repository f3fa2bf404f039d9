"""Greedy decoding speed of `pft generate` against CTranslate2 at the same compute type.

Run through scripts/bench/ct2_generate.sh. The random t5-small-shaped model of
t5_generate.py (benchutil.random_t5_small) is converted once with CTranslate2's own
converter (ctranslate2.converters.TransformersConverter; the vocabulary is read from the
model's spiece.model, since transformers 5 cannot build T5's tokenizer without extra
packages). Then, for every repetition, every compute type and batch size is measured once
with pft (`--compute-type`) and once with CTranslate2 (`compute_type=`), alternating which
goes first, on the same number of threads: greedy, max_new_tokens new tokens, the first N
English sources of Multi30k dev with T5's translation prefix.

Both sides are timed warm: pft runs one extra warm-up batch in the same process and the
script adds up the debug log's per-batch times of the others; CTranslate2 gets the same
warm-up call before its timed calls. Both count the generated tokens up to and including
EOS.

The bound beside each row is what streaming the weights from memory allows: a greedy step
reads every weight the decoder multiplies by once (self-attention q, k, v, o, cross-attention
q and o, the feed-forward weights and the output embedding; the cross-attention keys and
values of the source are computed once per prompt), so at batch b no implementation in that
type exceeds b x bandwidth / bytes-per-step tokens/s. The bandwidth is the best of five
torch.sum passes over 256 MB on the same threads.
"""

import json
import os
import statistics
import sys
import time

import ctranslate2
import sentencepiece as spm
import torch
import transformers
from ctranslate2.converters import TransformersConverter

from benchutil import (cpu_name, generation_arguments, multi30k_prompts, pft_generate_speed,
                       random_t5_small, read_bandwidth)

# CTranslate2's names for pft's compute types.
CT2_TYPES = {"float32": "float32", "int8": "int8", "bfloat16": "bfloat16"}


class SentencePieceVocabulary:
    """What CTranslate2's T5 loader asks of a tokenizer: the vocabulary and special tokens."""

    def __init__(self, path):
        self.sp = spm.SentencePieceProcessor(model_file=path)
        self.pad_token, self.eos_token, self.unk_token = "<pad>", "</s>", "<unk>"

    def get_vocab(self):
        return {self.sp.id_to_piece(i): i for i in range(self.sp.get_piece_size())}

    def convert_ids_to_tokens(self, index):
        return self.sp.id_to_piece(index)


class Converter(TransformersConverter):
    def load_tokenizer(self, tokenizer_class, model_name_or_path, **kwargs):
        return SentencePieceVocabulary(os.path.join(model_name_or_path, "spiece.model"))


def decoder_step_bytes(model, compute_type):
    """Bytes of weight one greedy step reads in `compute_type` (int8: one float32 scale per
    output row)."""
    total = 0
    for name, p in model.named_parameters():
        if not name.startswith("decoder.") or p.dim() != 2 or "relative_attention_bias" in name:
            continue
        if "EncDecAttention.k." in name or "EncDecAttention.v." in name:
            continue  # computed once per prompt, from the encoder's output
        total += weight_bytes(p, compute_type)
    head = model.lm_head.weight if not model.config.tie_word_embeddings else model.shared.weight
    return total + weight_bytes(head, compute_type)


def weight_bytes(p, compute_type):
    if compute_type == "float32":
        return p.numel() * 4
    if compute_type == "bfloat16":
        return p.numel() * 2
    return p.numel() + p.shape[0] * 4


def main():
    parser = generation_arguments()
    parser.add_argument("--batches", default="1,16")
    parser.add_argument("--types", default="float32,int8,bfloat16",
                        help="compute types; those CTranslate2 lacks on this CPU run pft only")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    model_dir = os.path.join(args.work, "model")
    model = random_t5_small(model_dir, args.data)
    ct2_dir = os.path.join(args.work, "ct2")
    if not os.path.exists(os.path.join(ct2_dir, "model.bin")):
        Converter(model_dir).convert(ct2_dir, force=True)
    sp = spm.SentencePieceProcessor(model_file=os.path.join(model_dir, "spiece.model"))
    texts = multi30k_prompts(args.data, args.prompts)
    sources = [sp.encode(t, out_type=str) + ["</s>"] for t in texts]
    batches = [int(b) for b in args.batches.split(",")]
    types = args.types.split(",")
    supported = ctranslate2.get_supported_compute_types("cpu")

    translators = {}

    def run_ct2(compute_type, batch):
        if compute_type not in translators:
            translators[compute_type] = ctranslate2.Translator(
                ct2_dir, device="cpu", compute_type=CT2_TYPES[compute_type],
                inter_threads=1, intra_threads=args.threads)
        translator = translators[compute_type]

        def translate(chunk_sources):
            out = []
            for start in range(0, len(chunk_sources), batch):
                results = translator.translate_batch(
                    chunk_sources[start:start + batch], max_batch_size=batch, beam_size=1,
                    max_decoding_length=args.max_new_tokens, return_end_token=True)
                out.extend(r.hypotheses[0] for r in results)
            return out

        translate((sources * batch)[:batch])  # warm-up, as pft gets
        start = time.perf_counter()
        hypotheses = translate(sources)
        seconds = time.perf_counter() - start
        tokens = sum(len(h) for h in hypotheses)
        return tokens / seconds, [sp.decode([t for t in h if t != "</s>"]) for h in hypotheses]

    def run_pft(compute_type, batch):
        speed, generated, _ = pft_generate_speed(
            args.pft, args.work, model_dir, texts, batch, args.threads, args.max_new_tokens,
            ["--compute-type", compute_type])
        return speed, generated

    keys = [(t, b) for t in types for b in batches]
    speeds = {f"{t}/{b}": {"pft": [], "ct2": []} for t, b in keys}
    texts_by = {}
    for rep in range(args.reps):
        for compute_type, batch in keys:
            key = f"{compute_type}/{batch}"
            sides = ["pft", "ct2"] if rep % 2 == 0 else ["ct2", "pft"]
            if CT2_TYPES[compute_type] not in supported:
                sides = ["pft"]
            for who in sides:
                speed, generated = (run_pft if who == "pft" else run_ct2)(compute_type, batch)
                speeds[key][who].append(speed)
                texts_by[(who, compute_type, batch)] = generated
            line = f"rep {rep + 1}/{args.reps} {key:12s} pft {speeds[key]['pft'][-1]:8.1f}"
            if speeds[key]["ct2"]:
                line += f"  CTranslate2 {speeds[key]['ct2'][-1]:8.1f}"
            print(line + " tokens/s", file=sys.stderr)

    bandwidth = read_bandwidth(args.threads)
    print(f"CPU: {cpu_name()}; threads: {args.threads}; torch {torch.__version__}, "
          f"transformers {transformers.__version__}, ctranslate2 {ctranslate2.__version__} "
          f"(CPU compute types: {', '.join(sorted(supported))}); {args.prompts} prompts, greedy, "
          f"max_new_tokens {args.max_new_tokens}, {args.reps} repetitions (median); read "
          f"bandwidth {bandwidth:.1f} GB/s\n")
    print("| compute type | batch | pft tokens/s | CTranslate2 tokens/s | pft / CTranslate2 | "
          "weights per step MB | bound tokens/s | pft share of bound | same text as CTranslate2 "
          "| same text as pft float32 |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    rows = []
    for compute_type, batch in keys:
        key = f"{compute_type}/{batch}"
        p = statistics.median(speeds[key]["pft"])
        step = decoder_step_bytes(model, compute_type)
        bound = batch * bandwidth * 1e9 / step
        mine = texts_by[("pft", compute_type, batch)]
        reference = texts_by.get(("pft", "float32", batch))
        same_fp32 = (f"{sum(a == b for a, b in zip(mine, reference))}/{len(mine)}"
                     if reference is not None else "")
        if speeds[key]["ct2"]:
            c = statistics.median(speeds[key]["ct2"])
            theirs = texts_by[("ct2", compute_type, batch)]
            same_ct2 = f"{sum(a == b for a, b in zip(mine, theirs))}/{len(mine)}"
            ct2_cells = f"{c:.1f} | {p / c:.2f}"
        else:
            c, same_ct2, ct2_cells = None, "", "not on this CPU | "
        print(f"| {compute_type} | {batch} | {p:.1f} | {ct2_cells} | {step / 1e6:.1f} | "
              f"{bound:.0f} | {100 * p / bound:.0f}% | {same_ct2} | {same_fp32} |")
        rows.append({"key": key, "pft": p, "ct2": c, "bound": bound, "step_bytes": step})
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"speeds": speeds, "rows": rows, "bandwidth_gbs": bandwidth}, f, indent=1)


if __name__ == "__main__":
    main()
