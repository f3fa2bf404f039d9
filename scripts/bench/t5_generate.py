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

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

import sentencepiece as spm
import torch
import transformers
from transformers import T5Config, T5ForConditionalGeneration

from benchutil import cpu_name

PFT_BATCH = re.compile(r"batch (\d+)/(\d+): (\d+) sequence\(s\), (\d+) tokens in ([0-9.]+) s")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pft", required=True, help="the pft binary")
    parser.add_argument("--data", required=True, help="the shared data folder")
    parser.add_argument("--work", required=True, help="scratch folder (model, prompts, outputs)")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--prompts", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--json", help="also write the raw measurements here")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model_dir = os.path.join(args.work, "model")
    spiece = os.path.join(args.data, "tokenizers/t5-small/spiece.model")
    config = T5Config(vocab_size=32128, d_model=512, d_kv=64, d_ff=2048, num_layers=6,
                      num_decoder_layers=6, num_heads=8, feed_forward_proj="relu",
                      tie_word_embeddings=True, decoder_start_token_id=0, eos_token_id=1,
                      pad_token_id=0)
    if not os.path.exists(os.path.join(model_dir, "model.safetensors")):
        T5ForConditionalGeneration(config).save_pretrained(model_dir)
        with open(spiece, "rb") as src, open(os.path.join(model_dir, "spiece.model"), "wb") as dst:
            dst.write(src.read())
    model = T5ForConditionalGeneration.from_pretrained(model_dir).eval()

    sp = spm.SentencePieceProcessor(model_file=spiece)
    texts = []
    with open(os.path.join(args.data, "multi30k/dev.jsonl")) as f:
        for line in f:
            texts.append("translate English to German: " + json.loads(line)["source"])
            if len(texts) == args.prompts:
                break
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
        # The first batch warms the process up; the timed prompts come after it.
        prompts_file = os.path.join(args.work, f"prompts-{batch}.jsonl")
        with open(prompts_file, "w") as f:
            for t in (texts * batch)[:batch] + texts:
                f.write(json.dumps({"source": t}) + "\n")
        out = os.path.join(args.work, "pft.jsonl")
        cmd = [args.pft, "generate", "--model", model_dir, "--input", prompts_file,
               "--output", out, "--device", "cpu", "--threads", str(args.threads),
               "--batch-size", str(batch), "--num-beams", str(beams),
               "--max-new-tokens", str(args.max_new_tokens), "--log-level", "debug"]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"pft failed ({proc.returncode}):\n{proc.stderr}")
        batches = [m.groups() for m in PFT_BATCH.finditer(proc.stderr)]
        if len(batches) < 2:
            sys.exit(f"no per-batch timings in pft's log:\n{proc.stderr}")
        warm = batches[1:]
        tokens = sum(int(b[3]) for b in warm)
        seconds = sum(float(b[4]) for b in warm)
        cold.setdefault(f"{'greedy' if beams == 1 else 'beam4'}/{batch}", []).append(
            int(batches[0][3]) / float(batches[0][4]))
        with open(out) as f:
            generated = [json.loads(line)["generated"] for line in f][batch:]
        return tokens / seconds, generated

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
