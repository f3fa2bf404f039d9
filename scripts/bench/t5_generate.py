"""Greedy and beam-search generation speed of `pft generate` against transformers' generate().

Run through scripts/bench/t5_generate.sh. Builds a random T5 shaped like t5-small (d_model 512,
6+6 layers, 8 heads, d_ff 2048, vocab 32128, relu, tied embeddings) with T5's real
SentencePiece vocabulary, then, for every repetition, measures each setting (greedy and
num_beams=4; batch 1 and 16) once with pft and once with transformers, alternating which goes
first, on the same CPU threads. Prompts: the first N English sources of Multi30k's dev set,
"translate English to German: " prepended.

Both sides are timed warm: pft runs one extra warm-up batch (the first prompts again) in the same
process and the script adds up the debug log's per-batch times of the other batches;
transformers gets the same warm-up call before its timed calls. Model loading and tokenization
are outside the timings; the first (cold) pft batch is reported separately. Both count the
generated tokens of the returned sequences (up to and including EOS), which are the same
tokens: the script checks that pft's texts equal transformers'.
"""

import json
import os
import statistics
import sys
import time

import sentencepiece as spm
import torch
import transformers

from benchutil import (cpu_name, generation_arguments, multi30k_prompts, pft_generate_speed,
                       random_t5_small)


def main():
    parser = generation_arguments()
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    model_dir = os.path.join(args.work, "model")
    spiece = os.path.join(args.data, "tokenizers/t5-small/spiece.model")
    model = random_t5_small(model_dir, args.data)

    sp = spm.SentencePieceProcessor(model_file=spiece)
    texts = multi30k_prompts(args.data, args.prompts)
    encoded = [sp.encode(t) + [1] for t in texts]

    def decode(ids):
        return sp.decode([i for i in ids if 3 <= i < sp.get_piece_size()])

    def crop(row):
        out = []
        for t in row[1:]:
            out.append(t)
            if t == 1:
                break
        return out

    def hf_generate(batch, beams, prompts=None):
        prompts = encoded if prompts is None else prompts
        results = []
        for start in range(0, len(prompts), batch):
            chunk = prompts[start:start + batch]
            width = max(len(ids) for ids in chunk)
            ids = torch.tensor([ids + [0] * (width - len(ids)) for ids in chunk])
            mask = torch.tensor([[1] * len(ids) + [0] * (width - len(ids)) for ids in chunk])
            with torch.no_grad():
                out = model.generate(input_ids=ids, attention_mask=mask, num_beams=beams,
                                     do_sample=False, max_new_tokens=args.max_new_tokens)
            results.extend(crop(row) for row in out.tolist())
        return results

    def run_hf(batch, beams):
        hf_generate(batch, beams, (encoded * batch)[:batch])  # warm-up, as pft gets
        start = time.perf_counter()
        results = hf_generate(batch, beams)
        seconds = time.perf_counter() - start
        return sum(len(r) for r in results) / seconds, [decode(r) for r in results]

    cold = {}

    def run_pft(batch, beams):
        # float32 weights: the outputs are compared with transformers' float32 ones.
        speed, generated, cold_speed = pft_generate_speed(
            args.pft, args.work, model_dir, texts, batch, args.threads, args.max_new_tokens,
            ["--num-beams", str(beams), "--compute-type", "float32"])
        cold.setdefault(f"{'greedy' if beams == 1 else 'beam4'}/{batch}", []).append(cold_speed)
        return speed, generated

    settings = [("greedy", 1), ("beam4", 4)]
    batches = [1, 16]
    measurements = {f"{name}/{b}": {"pft": [], "hf": []} for name, _ in settings for b in batches}
    identical = {key: True for key in measurements}
    for rep in range(args.reps):
        for name, beams in settings:
            for batch in batches:
                key = f"{name}/{batch}"
                order = ["pft", "hf"] if rep % 2 == 0 else ["hf", "pft"]
                texts_by = {}
                for who in order:
                    speed, texts_by[who] = (run_pft if who == "pft" else run_hf)(batch, beams)
                    measurements[key][who].append(speed)
                identical[key] &= texts_by["pft"] == texts_by["hf"]
                print(f"rep {rep + 1}/{args.reps} {key:10s} pft {measurements[key]['pft'][-1]:8.1f}"
                      f"  transformers {measurements[key]['hf'][-1]:8.1f} tokens/s", file=sys.stderr)

    print(f"CPU: {cpu_name()}; threads: {args.threads}; torch {torch.__version__}, "
          f"transformers {transformers.__version__}; {args.prompts} prompts, max_new_tokens "
          f"{args.max_new_tokens}, {args.reps} repetitions (median)\n")
    print("| decoding | batch | pft tokens/s | transformers tokens/s | pft / transformers | same output | pft first batch (cold) tokens/s |")
    print("| --- | ---: | ---: | ---: | ---: | --- | ---: |")
    for name, _ in settings:
        for batch in batches:
            key = f"{name}/{batch}"
            p = statistics.median(measurements[key]["pft"])
            h = statistics.median(measurements[key]["hf"])
            label = "greedy" if name == "greedy" else "beam search, 4 beams"
            print(f"| {label} | {batch} | {p:.1f} | {h:.1f} | {p / h:.2f} | "
                  f"{'yes' if identical[key] else 'NO'} | {statistics.median(cold[key]):.1f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"measurements": measurements, "identical": identical, "pft_cold": cold}, f,
                      indent=1)


if __name__ == "__main__":
    main()
