"""Training, evaluation and generation speed of pft against transformers + peft on one GPU.

Run through scripts/bench/gpu.sh, which builds pft against the machine's PyTorch first. For
every repetition each case runs once as a pft process and once as a Python process
(scripts/bench/gpu_reference.py), alternating which goes first, on the same device, data,
batch size, sequence length and dtype:

- training: LoRA (r 8, alpha 16) on a random BERT-base-shaped model (sequence
  classification, query/key/value/dense) and on a random t5-base-shaped model (seq2seq
  translation, q/v), bf16 autocast, batch 32, sequence 256 (T5 targets up to 64 tokens);
  steady steps/s after 3 warm-up steps;
- evaluation: the BERT-base-shaped model, bf16, batch 32, sequence 256; examples/s;
- generation: the t5-base-shaped model, greedy, 32 new tokens, batch 1 and 32; pft decodes
  with --compute-type bfloat16, transformers under bf16 autocast; tokens/s.

--shape tiny replaces the models with tiny ones of the same families and the runs with a few
steps, so that the whole harness can be checked on a CPU (--device cpu) in a minute.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys

from benchutil import multi30k_prompts, pft_generate_speed

HERE = os.path.dirname(os.path.abspath(__file__))

SHAPES = {
    "full": {
        "bert": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                     intermediate_size=3072),
        "t5": dict(vocab_size=32128, d_model=768, d_kv=64, d_ff=3072, num_layers=12,
                   num_decoder_layers=12, num_heads=12, feed_forward_proj="relu",
                   tie_word_embeddings=True, decoder_start_token_id=0, eos_token_id=1,
                   pad_token_id=0),
        "train_steps": 13, "eval_examples": 512, "prompts": 32,
    },
    "tiny": {
        "bert": dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                     intermediate_size=64),
        "t5": dict(vocab_size=32128, d_model=32, d_kv=8, d_ff=64, num_layers=2,
                   num_decoder_layers=2, num_heads=4, feed_forward_proj="relu",
                   tie_word_embeddings=True, decoder_start_token_id=0, eos_token_id=1,
                   pad_token_id=0),
        "train_steps": 5, "eval_examples": 64, "prompts": 4,
    },
}


def run(cmd, what):
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{what} failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-4000:]}")
    return proc


def last_json(proc):
    return json.loads(proc.stdout.strip().splitlines()[-1])


def make_models(work, data, shape):
    """The random BERT-base-shaped and t5-base-shaped checkpoints (seed 0), written once."""
    import torch
    from transformers import BertConfig, BertModel, T5Config, T5ForConditionalGeneration

    bert = os.path.join(work, "bert")
    if not os.path.exists(os.path.join(bert, "model.safetensors")):
        torch.manual_seed(0)
        BertModel(BertConfig(**shape["bert"])).save_pretrained(bert)
        shutil.copy(os.path.join(data, "tokenizers/bert-base-uncased/vocab.txt"), bert)
        with open(os.path.join(bert, "tokenizer_config.json"), "w") as f:
            json.dump({"do_lower_case": True, "tokenizer_class": "BertTokenizer"}, f)
    t5 = os.path.join(work, "t5")
    if not os.path.exists(os.path.join(t5, "model.safetensors")):
        torch.manual_seed(0)
        T5ForConditionalGeneration(T5Config(**shape["t5"])).save_pretrained(t5)
        shutil.copy(os.path.join(data, "tokenizers/t5-small/spiece.model"), t5)
    return bert, t5


def make_data(work, data, count, min_words):
    """SST-2 sentences of one label joined into texts of at least `min_words` words (every input
    is truncated to the full sequence length), and Multi30k pairs whose sources are joined the
    same way (targets: the German side of the first pair)."""
    sst = {}
    with open(os.path.join(data, "sst2/train.jsonl")) as f:
        for line in f:
            row = json.loads(line)
            sst.setdefault(row["label"], []).append(row["text"])
    pairs = []
    with open(os.path.join(data, "multi30k/train.jsonl")) as f:
        for line in f:
            pairs.append(json.loads(line))
            if len(pairs) >= count * 64:
                break
    texts, translations = os.path.join(work, "texts.jsonl"), os.path.join(work, "pairs.jsonl")
    labels = sorted(sst)
    cursor = {label: 0 for label in labels}
    pair = 0
    with open(texts, "w") as out_texts, open(translations, "w") as out_pairs:
        for i in range(count):
            label = labels[i % len(labels)]
            words = []
            while len(words) < min_words:
                words += sst[label][cursor[label] % len(sst[label])].split()
                cursor[label] += 1
            out_texts.write(json.dumps({"text": " ".join(words), "label": label}) + "\n")
            first, words = pairs[pair % len(pairs)], []
            while len(words) < min_words:
                words += pairs[pair % len(pairs)]["source"].split()
                pair += 1
            out_pairs.write(json.dumps({"source": " ".join(words),
                                        "target": first["target"]}) + "\n")
    return texts, translations


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pft", required=True)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--data", required=True, help="the shared data folder")
    parser.add_argument("--work", required=True)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--shape", choices=sorted(SHAPES), default="full")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seq-len", type=int, default=256)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--json", help="also write the raw measurements here")
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    shape = SHAPES[args.shape]
    bert, t5 = make_models(args.work, args.data, shape)
    steps = shape["train_steps"]
    count = max(steps * args.batch_size, shape["eval_examples"])
    texts, pairs = make_data(args.work, args.data, count, min_words=args.seq_len * 2)
    prompts = multi30k_prompts(args.data, shape["prompts"])
    with open(os.path.join(args.work, "prompts.jsonl"), "w") as f:
        for p in prompts:
            f.write(json.dumps({"source": p, "target": ""}) + "\n")
    common = ["--device", args.device, "--log-level", "warn"]

    def pft_config(name, model, task):
        cfg = {
            "model": {"path": model},
            "tokenizer": {"max_length": args.seq_len},
            "data": {"train": texts if task != "seq2seq" else pairs,
                     "eval": texts if task != "seq2seq" else pairs,
                     "max_train_examples": steps * args.batch_size,
                     "max_eval_examples": shape["eval_examples"]},
            "task": ({"type": "sequence_classification", "labels": ["negative", "positive"]}
                     if task != "seq2seq" else {"type": "seq2seq"}),
            "peft": {"method": "lora", "r": 8, "lora_alpha": 16,
                     "target_modules": (["query", "key", "value", "dense"]
                                        if task != "seq2seq" else ["q", "v"])},
            "train": {"output_dir": os.path.join(args.work, "runs", name), "lr": 1e-4,
                      "batch_size": args.batch_size, "max_steps": steps,
                      "lr_scheduler": "constant", "max_grad_norm": 1.0, "precision": "bf16"},
            "eval": {"batch_size": args.batch_size},
        }
        if task == "seq2seq":
            cfg["prompt"] = {"template": "{source}", "truncate": "source"}
        path = os.path.join(args.work, f"{name}.json")
        with open(path, "w") as f:
            json.dump(cfg, f)
        return path, cfg["train"]["output_dir"]

    def pft_train(name, model, task):
        cfg, run_dir = pft_config(name, model, task)
        shutil.rmtree(run_dir, ignore_errors=True)
        run([args.pft, "train", "--config", cfg, "--set", "data.eval=", *common], "pft train")
        with open(os.path.join(run_dir, "summary.json")) as f:
            return json.load(f)["steady_steps_per_second"]

    def ref(mode, model, data, *extra):
        return last_json(run([args.python, os.path.join(HERE, "gpu_reference.py"), mode,
                              "--model", model, "--data", data, "--device", args.device,
                              "--dtype", "bf16", "--batch-size", str(args.batch_size),
                              "--seq-len", str(args.seq_len), *extra], f"reference {mode}"))

    def pft_eval():
        cfg, _ = pft_config("eval-bert", bert, "sequence_classification")
        out = last_json(run([args.pft, "eval", "--config", cfg, "--json",
                             "--set", "train.precision=bf16", *common], "pft eval"))
        return out["examples_per_second"]

    def pft_generate(batch):
        speed, _, _ = pft_generate_speed(
            args.pft, args.work, t5, prompts, batch, 0, args.max_new_tokens,
            ["--compute-type", "bfloat16"], device=args.device)
        return speed

    cases = {
        "training, BERT-base LoRA": (
            lambda: pft_train("train-bert", bert, "sequence_classification"),
            lambda: ref("train-bert", bert, texts, "--steps", str(steps))["steady_steps_per_second"],
            "steps/s"),
        "training, t5-base LoRA": (
            lambda: pft_train("train-t5", t5, "seq2seq"),
            lambda: ref("train-t5", t5, pairs, "--steps", str(steps))["steady_steps_per_second"],
            "steps/s"),
        "evaluation, BERT-base": (
            pft_eval,
            lambda: ref("eval-bert", bert, texts, "--examples",
                        str(shape["eval_examples"]))["examples_per_second"],
            "examples/s"),
    }
    for batch in (1, args.batch_size):
        cases[f"greedy decoding, t5-base, batch {batch}"] = (
            lambda b=batch: pft_generate(b),
            lambda b=batch: ref("generate-t5", t5, os.path.join(args.work, "prompts.jsonl"),
                                "--batch-size", str(b), "--examples", str(len(prompts)),
                                "--max-new-tokens", str(args.max_new_tokens))["tokens_per_second"],
            "tokens/s")
    results = {name: {"pft": [], "ref": []} for name in cases}
    for rep in range(args.reps):
        for name, (mine, theirs, unit) in cases.items():
            for who in (["pft", "ref"] if rep % 2 == 0 else ["ref", "pft"]):
                results[name][who].append((mine if who == "pft" else theirs)())
            print(f"rep {rep + 1}/{args.reps} {name}: pft {results[name]['pft'][-1]:.2f}, "
                  f"reference {results[name]['ref'][-1]:.2f} {unit}", file=sys.stderr)

    import peft
    import torch
    import transformers
    device = (torch.cuda.get_device_name(0) if args.device.startswith("cuda")
              else f"CPU ({args.device})")
    print(f"Device: {device}; torch {torch.__version__}, transformers "
          f"{transformers.__version__}, peft {peft.__version__}; bf16, batch {args.batch_size}, "
          f"sequence {args.seq_len}; shape {args.shape}; {args.reps} repetitions (median)\n")
    print("| case | unit | pft | transformers + peft | pft / reference |")
    print("| --- | --- | ---: | ---: | ---: |")
    for name, (_, _, unit) in cases.items():
        p = statistics.median(results[name]["pft"])
        r = statistics.median(results[name]["ref"])
        print(f"| {name} | {unit} | {p:.2f} | {r:.2f} | {p / r:.2f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
