"""Helpers shared by the benchmark scripts."""

import platform


def cpu_name():
    """The CPU's model name from /proc/cpuinfo (else what platform knows)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


# A random T5 shaped like t5-small (d_model 512, 6+6 layers, 8 heads, d_ff 2048, vocab 32128,
# relu, tied embeddings), the generation benchmarks' model.
T5_SMALL_SHAPE = dict(vocab_size=32128, d_model=512, d_kv=64, d_ff=2048, num_layers=6,
                      num_decoder_layers=6, num_heads=8, feed_forward_proj="relu",
                      tie_word_embeddings=True, decoder_start_token_id=0, eos_token_id=1,
                      pad_token_id=0)


def random_t5_small(model_dir, data):
    """Writes the random t5-small-shaped model (seed 0) with T5's real SentencePiece vocabulary
    to model_dir once; returns the transformers model, in eval mode."""
    import os
    import shutil

    import torch
    from transformers import T5Config, T5ForConditionalGeneration

    if not os.path.exists(os.path.join(model_dir, "model.safetensors")):
        torch.manual_seed(0)
        T5ForConditionalGeneration(T5Config(**T5_SMALL_SHAPE)).save_pretrained(model_dir)
        shutil.copy(os.path.join(data, "tokenizers/t5-small/spiece.model"),
                    os.path.join(model_dir, "spiece.model"))
    return T5ForConditionalGeneration.from_pretrained(model_dir).eval()


def multi30k_prompts(data, count):
    """The first `count` English sources of Multi30k's dev set with T5's translation prefix."""
    import json
    import os

    texts = []
    with open(os.path.join(data, "multi30k/dev.jsonl")) as f:
        for line in f:
            texts.append("translate English to German: " + json.loads(line)["source"])
            if len(texts) == count:
                break
    return texts


def pft_generate_speed(pft, work, model_dir, texts, batch, threads, max_new_tokens, extra=(),
                       device="cpu"):
    """Runs `pft generate` on `device` with one warm-up batch (the first prompts again) and
    then `texts` in batches of `batch` (threads 0: pft's default); returns (warm tokens/s from the debug log's per-batch times, the
    generated texts of `texts`, the cold first batch's tokens/s)."""
    import json
    import os
    import re
    import subprocess
    import sys

    prompts_file = os.path.join(work, f"prompts-{batch}.jsonl")
    with open(prompts_file, "w") as f:
        for t in (texts * batch)[:batch] + texts:
            f.write(json.dumps({"source": t}) + "\n")
    out = os.path.join(work, "pft.jsonl")
    cmd = [pft, "generate", "--model", model_dir, "--input", prompts_file, "--output", out,
           "--device", device, "--threads", str(threads), "--batch-size", str(batch),
           "--max-new-tokens", str(max_new_tokens), "--log-level", "debug", *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"pft failed ({proc.returncode}):\n{proc.stderr}")
    pattern = re.compile(r"batch (\d+)/(\d+): (\d+) sequence\(s\), (\d+) tokens in ([0-9.]+) s")
    batches = [m.groups() for m in pattern.finditer(proc.stderr)]
    if len(batches) < 2:
        sys.exit(f"no per-batch timings in pft's log:\n{proc.stderr}")
    tokens = sum(int(b[3]) for b in batches[1:])
    seconds = sum(float(b[4]) for b in batches[1:])
    with open(out) as f:
        generated = [json.loads(line)["generated"] for line in f][batch:]
    return tokens / seconds, generated, int(batches[0][3]) / float(batches[0][4])


def read_bandwidth(threads, megabytes=256, reps=5):
    """GB/s of the best of `reps` torch.sum passes over a float32 tensor of `megabytes` MB on
    `threads` threads: what streaming weights from memory can reach."""
    import time

    import torch

    torch.set_num_threads(threads)
    x = torch.ones(megabytes * (1 << 20) // 4)
    x.sum()
    best = float("inf")
    for _ in range(reps):
        start = time.perf_counter()
        x.sum()
        best = min(best, time.perf_counter() - start)
    return x.numel() * 4 / best / 1e9


def generation_arguments():
    """The options the generation benchmarks share."""
    import argparse
    import os

    parser = argparse.ArgumentParser()
    parser.add_argument("--pft", required=True, help="the pft binary")
    parser.add_argument("--data", required=True, help="the shared data folder")
    parser.add_argument("--work", required=True, help="scratch folder (models, prompts, outputs)")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--prompts", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--json", help="also write the raw measurements here")
    return parser
