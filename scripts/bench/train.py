"""Training and evaluation speed of pft against transformers + peft, interleaved in one run.

Run through scripts/bench/train.sh. For every model, method and precision, each repetition
starts one `pft train` process and one Python process (scripts/bench/train_reference.py: a
plain transformers + peft loop with torch.optim.AdamW), alternating which goes first, on the
same thread count, data, batch size, sequence length and dtype. Both report the same
measures (steady steps/s after 3 warm-up steps, start-up to the first step from the process's
start, peak RSS); the table gives medians and pft/reference ratios.

Data: SST-2 training sentences joined into texts longer than the sequence length, so every
input is exactly --seq-len tokens after truncation on both sides (no padding). Models:
all-MiniLM-L6-v2 (the real checkpoint the set-up installs), a random BERT-base-shaped model
(768 hidden, 12 layers, 12 heads, 3072 intermediate, bert-base-uncased vocabulary) and a random
ModernBERT-base-shaped one (ModernBertConfig's defaults: 768 hidden, 22 layers, 12 heads, 1152
intermediate, a local window of 128 with a global layer every 3, with the tokenizer of the
set-up's tiny ModernBERT) that transformers writes here, or any model folder. LoRA targets
every linear layer of the encoder, by each family's names (LORA_TARGETS).

The machine's ceiling: scripts/bench/gemm (LibTorch matrix products, fp32 and bf16) gives the
best GFLOP/s of a set of GEMM shapes; the FLOPs of a training step are counted from the model
shape (matrix products of the encoder: forward, input gradients, and weight gradients of the
weights that train), and each case reports the fraction of the ceiling it reaches.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys

from benchutil import cpu_name

HERE = os.path.dirname(os.path.abspath(__file__))

METHODS = {
    "lora": {"method": "lora", "r": 8, "lora_alpha": 16},
    "dora": {"method": "lora", "r": 8, "lora_alpha": 16, "use_dora": True},
    "prefix_tuning": {"method": "prefix_tuning", "num_virtual_tokens": 20},
    "prompt_tuning": {"method": "prompt_tuning", "num_virtual_tokens": 20},
    "adapter": {"method": "adapter", "adapter_placement": "houlsby"},
    "full": {"method": "full"},
}


# LoRA on every linear layer of the encoder (and the head's dense), by model_type.
LORA_TARGETS = {
    "bert": ["query", "key", "value", "dense"],
    "roberta": ["query", "key", "value", "dense"],
    "modernbert": ["Wqkv", "Wo", "Wi", "dense"],
    "deberta-v2": ["query_proj", "key_proj", "value_proj", "dense"],
}


def model_type(path):
    with open(os.path.join(path, "config.json")) as f:
        return json.load(f).get("model_type", "bert")


def run_json(cmd, what):
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{what} failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-4000:]}")
    return proc


def make_texts(data_dir, path, count, min_words):
    """JSONL of `count` texts of at least `min_words` words, each a run of SST-2 training
    sentences of one label."""
    by_label = {}
    with open(os.path.join(data_dir, "sst2/train.jsonl")) as f:
        for line in f:
            row = json.loads(line)
            by_label.setdefault(row["label"], []).append(row["text"])
    labels = sorted(by_label)
    cursor = {label: 0 for label in labels}
    with open(path, "w") as out:
        for i in range(count):
            label = labels[i % len(labels)]
            words = []
            while len(words) < min_words:
                sentences = by_label[label]
                words += sentences[cursor[label] % len(sentences)].split()
                cursor[label] += 1
            out.write(json.dumps({"text": " ".join(words), "label": label}) + "\n")


def make_bert_base(work, data_dir):
    path = os.path.join(work, "bert-base-random")
    if os.path.exists(os.path.join(path, "model.safetensors")):
        return path
    import torch
    from transformers import BertConfig, BertModel
    torch.manual_seed(0)
    BertModel(BertConfig()).save_pretrained(path)
    shutil.copy(os.path.join(data_dir, "tokenizers/bert-base-uncased/vocab.txt"), path)
    with open(os.path.join(path, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": True, "tokenizer_class": "BertTokenizer"}, f)
    return path


def make_modernbert_base(work, tokenizer_dir):
    path = os.path.join(work, "modernbert-base-random")
    if os.path.exists(os.path.join(path, "model.safetensors")):
        return path
    if not os.path.exists(os.path.join(tokenizer_dir, "tokenizer.json")):
        sys.exit(f"{tokenizer_dir}: no tokenizer.json; run scripts/setup.sh (it writes the tiny ModernBERT)")
    import torch
    from transformers import ModernBertConfig, ModernBertModel
    torch.manual_seed(0)
    ModernBertModel(ModernBertConfig(pad_token_id=3, bos_token_id=1, eos_token_id=2, cls_token_id=1,
                                     sep_token_id=2)).save_pretrained(path)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(tokenizer_dir, name), path)
    return path


def make_deberta_v3_base(work, tokenizer_dir):
    """A random model of microsoft/deberta-v3-base's shape and attention settings (768 hidden,
    12 layers, c2p and p2c over 256 log buckets, shared keys, no absolute positions; 128,100
    tokens), with the tokenizer of the set-up's tiny DeBERTa."""
    path = os.path.join(work, "deberta-v3-base-random")
    if os.path.exists(os.path.join(path, "model.safetensors")):
        return path
    if not os.path.exists(os.path.join(tokenizer_dir, "tokenizer.json")):
        sys.exit(f"{tokenizer_dir}: no tokenizer.json; run scripts/setup.sh (it writes the tiny DeBERTa)")
    import torch
    from transformers import DebertaV2Config, DebertaV2Model
    torch.manual_seed(0)
    DebertaV2Model(DebertaV2Config(
        vocab_size=128100, hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
        max_position_embeddings=512, relative_attention=True, pos_att_type="p2c|c2p", position_buckets=256,
        max_relative_positions=512, norm_rel_ebd="layer_norm", share_att_key=True, position_biased_input=False,
        type_vocab_size=0, pad_token_id=0)).save_pretrained(path)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(tokenizer_dir, name), path)
    return path


def model_shape(path):
    with open(os.path.join(path, "config.json")) as f:
        c = json.load(f)
    # ModernBERT's feed-forward is gated: Wi makes 2 x intermediate, Wo takes intermediate.
    gated = c.get("model_type") == "modernbert"
    return c["hidden_size"], c["num_hidden_layers"], c["intermediate_size"], gated


def step_flops(path, method, batch, seq, virtual):
    """Matrix-product FLOPs of one training step of the encoder (2 per multiply-add):
    forward, input gradients everywhere (every method here needs them down to the first
    layer), weight gradients of trained weights. Attention: QK^T and PV forward, twice that
    backward. Small terms (LoRA, adapter, classifier, embeddings) are left out."""
    h, layers, ffn, gated = model_shape(path)
    q_len = seq + (virtual if method == "prompt_tuning" else 0)
    k_len = q_len + (virtual if method == "prefix_tuning" else 0)
    linear = 2 * batch * q_len * (4 * h * h + (3 if gated else 2) * h * ffn)
    attention = 2 * 2 * batch * q_len * k_len * h
    weight_grads = linear if method == "full" else 0
    return layers * (2 * linear + 3 * attention + weight_grads)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pft", required=True)
    parser.add_argument("--gemm", required=True, help="the pft_bench_gemm binary")
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--data", required=True, help="the shared data folder")
    parser.add_argument("--minilm", required=True, help="all-MiniLM-L6-v2 folder")
    parser.add_argument("--work", required=True)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--models", default="minilm,bert-base")
    parser.add_argument("--methods", default="lora,prefix_tuning,prompt_tuning,adapter,full")
    parser.add_argument("--precisions", default="fp32",
                        help="comma-separated: fp32, bf16 (the same dtype on both sides), or "
                             "default (each side's default: pft's train.precision auto, the "
                             "reference's fp32)")
    parser.add_argument("--default-methods", default="",
                        help="comma-separated methods also run with each side's default "
                             "precision (as --precisions default), e.g. lora")
    parser.add_argument("--steps", default="minilm=13,bert-base=8,modernbert-base=6,deberta-v3-base=6",
                        help="steps per run per model (3 of them warm-up)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--eval-examples", type=int, default=256)
    parser.add_argument("--no-eval", action="store_true")
    parser.add_argument("--gemm-seconds", type=float, default=1.0,
                        help="time per GEMM shape and dtype of the ceiling measurement")
    parser.add_argument("--json", help="also write the raw measurements here")
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)

    steps = dict(item.split("=") for item in args.steps.split(","))
    models = {}
    for name in args.models.split(","):
        if name == "minilm":
            models[name] = args.minilm
        elif name == "bert-base":
            models[name] = make_bert_base(args.work, args.data)
        elif name == "modernbert-base":
            models[name] = make_modernbert_base(
                args.work, os.path.join(os.path.dirname(args.minilm.rstrip("/")), "tiny-modernbert"))
        elif name == "deberta-v3-base":
            models[name] = make_deberta_v3_base(
                args.work, os.path.join(os.path.dirname(args.minilm.rstrip("/")), "tiny-deberta-v2"))
        elif os.path.isdir(name):
            models[os.path.basename(name.rstrip("/"))] = name
        else:
            sys.exit(f"--models: unknown model '{name}' (minilm, bert-base, modernbert-base, deberta-v3-base "
                     "or a folder)")
    count = max(int(steps.get(m, 13)) for m in models) * args.batch_size
    texts = os.path.join(args.work, "texts.jsonl")
    make_texts(args.data, texts, max(count, args.eval_examples), min_words=args.seq_len * 2)

    gemm = json.loads(run_json([args.gemm, "--threads", str(args.threads), "--seconds",
                                str(args.gemm_seconds)], "gemm").stdout)

    def lora_targets(model):
        kind = model_type(models[model])
        if kind not in LORA_TARGETS:
            sys.exit(f"{models[model]}: no LoRA targets for model_type {kind} (LORA_TARGETS)")
        return LORA_TARGETS[kind]

    def peft_section(model, method):
        section = dict(METHODS.get(method, {"method": "none"}))
        if method in ("lora", "dora"):
            section["target_modules"] = lora_targets(model)
        return section

    def pft_config(model, method, precision, run_dir, n_steps):
        cfg = {
            "model": {"path": models[model]},
            "tokenizer": {"max_length": args.seq_len},
            "data": {"train": texts, "eval": texts,
                     "max_train_examples": n_steps * args.batch_size,
                     "max_eval_examples": args.eval_examples},
            "task": {"type": "sequence_classification", "labels": ["negative", "positive"]},
            "peft": peft_section(model, method),
            "train": {"output_dir": run_dir, "lr": 1e-4, "batch_size": args.batch_size,
                      "max_steps": n_steps, "lr_scheduler": "constant", "max_grad_norm": 1.0,
                      "precision": "auto" if precision == "default" else precision},
            "eval": {"batch_size": 32},
        }
        path = os.path.join(args.work, f"{model}-{method}-{precision}.json")
        with open(path, "w") as f:
            json.dump(cfg, f)
        return path

    def run_pft_train(model, method, precision):
        n = int(steps.get(model, 13))
        run_dir = os.path.join(args.work, "runs", f"{model}-{method}-{precision}")
        shutil.rmtree(run_dir, ignore_errors=True)
        cfg = pft_config(model, method, precision, run_dir, n)
        # No evaluation inside the timed run: data.eval is dropped for training.
        run_json([args.pft, "train", "--config", cfg, "--set", "data.eval=", "--device", "cpu",
                  "--threads", str(args.threads), "--log-level", "warn"], "pft train")
        with open(os.path.join(run_dir, "summary.json")) as f:
            s = json.load(f)
        return {"steps_per_second": s["steady_steps_per_second"],
                "startup": s["seconds_to_first_step"], "rss": s["peak_rss_bytes"],
                "trainable": s["trainable_parameters"], "precision": s["precision"]}

    def run_ref_train(model, method, precision):
        n = int(steps.get(model, 13))
        proc = run_json([args.python, os.path.join(HERE, "train_reference.py"), "--model",
                         models[model], "--data", texts, "--method", method, "--steps", str(n),
                         "--batch-size", str(args.batch_size), "--seq-len", str(args.seq_len),
                         "--threads", str(args.threads),
                         "--precision", "fp32" if precision == "default" else precision]
                        + (["--lora-targets", ",".join(lora_targets(model))] if method in ("lora", "dora") else []),
                        "reference")
        s = json.loads(proc.stdout.strip().splitlines()[-1])
        return {"steps_per_second": s["steady_steps_per_second"],
                "startup": s["seconds_to_first_step"], "rss": s["peak_rss_bytes"],
                "trainable": s["trainable_parameters"]}

    def run_pft_eval(model, precision):
        cfg = pft_config(model, "none", precision, os.path.join(args.work, "runs", "eval"), 1)
        proc = run_json([args.pft, "eval", "--config", cfg, "--json", "--device", "cpu",
                         "--threads", str(args.threads), "--log-level", "warn"], "pft eval")
        s = json.loads(proc.stdout.strip().splitlines()[-1])
        return {"examples_per_second": s["examples_per_second"]}

    def run_ref_eval(model, precision):
        proc = run_json([args.python, os.path.join(HERE, "train_reference.py"), "--model",
                         models[model], "--data", texts, "--method", "eval",
                         "--examples", str(args.eval_examples), "--batch-size", "32",
                         "--seq-len", str(args.seq_len), "--threads", str(args.threads),
                         "--precision", "fp32" if precision == "default" else precision],
                        "reference eval")
        s = json.loads(proc.stdout.strip().splitlines()[-1])
        return {"examples_per_second": s["examples_per_second"]}

    cases = [(m, meth, p) for m in models for p in args.precisions.split(",")
             for meth in args.methods.split(",") if meth]
    cases += [(m, meth, "default") for m in models for meth in args.default_methods.split(",")
              if meth and (m, meth, "default") not in cases]
    if not args.no_eval:
        cases += [(m, "eval", p) for m in models for p in args.precisions.split(",")]
    results = {f"{m}/{meth}/{p}": {"pft": [], "ref": []} for m, meth, p in cases}
    for rep in range(args.reps):
        for m, meth, p in cases:
            key = f"{m}/{meth}/{p}"
            order = ["pft", "ref"] if rep % 2 == 0 else ["ref", "pft"]
            for who in order:
                if meth == "eval":
                    r = (run_pft_eval if who == "pft" else run_ref_eval)(m, p)
                else:
                    r = (run_pft_train if who == "pft" else run_ref_train)(m, meth, p)
                results[key][who].append(r)
            last = {w: results[key][w][-1] for w in ("pft", "ref")}
            rate = "examples_per_second" if meth == "eval" else "steps_per_second"
            print(f"rep {rep + 1}/{args.reps} {key:28s} pft {last['pft'][rate]:8.3f}  "
                  f"reference {last['ref'][rate]:8.3f} {rate}", file=sys.stderr)

    def med(key, who, field):
        return statistics.median(r[field] for r in results[key][who])

    import torch
    import transformers
    import peft
    print(f"CPU: {cpu_name()}; threads: {args.threads}; torch {torch.__version__}, "
          f"transformers {transformers.__version__}, peft {peft.__version__}; batch "
          f"{args.batch_size}, sequence length {args.seq_len}; {args.reps} repetitions "
          f"(median)\n")
    print(f"GEMM ceiling (LibTorch, {args.threads} threads): fp32 {gemm['fp32']:.1f} GFLOP/s, "
          f"bf16 {gemm['bf16']:.1f} GFLOP/s\n")
    print("| model | method | dtype | pft tokens/s | reference tokens/s | pft / reference | "
          "pft GFLOP/s (share of ceiling) | start-up s, pft / reference | peak RSS MB, pft / "
          "reference | trainable, pft / reference |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    tokens_per_step = args.batch_size * args.seq_len
    for m, meth, p in cases:
        if meth == "eval":
            continue
        key = f"{m}/{meth}/{p}"
        ps, rs = med(key, "pft", "steps_per_second"), med(key, "ref", "steps_per_second")
        gflops = step_flops(models[m], meth, args.batch_size, args.seq_len, 20) * ps / 1e9
        share = gflops / gemm[results[key]["pft"][0]["precision"]]
        tp = {w: results[key][w][0]["trainable"] for w in ("pft", "ref")}
        dtype = p if p != "default" else f"default (pft {results[key]['pft'][0]['precision']}, reference fp32)"
        print(f"| {m} | {meth} | {dtype} | {ps * tokens_per_step:.0f} | {rs * tokens_per_step:.0f} | "
              f"{ps / rs:.2f} | {gflops:.1f} ({share:.0%}) | "
              f"{med(key, 'pft', 'startup'):.2f} / {med(key, 'ref', 'startup'):.2f} | "
              f"{med(key, 'pft', 'rss') / 2**20:.0f} / {med(key, 'ref', 'rss') / 2**20:.0f} | "
              f"{tp['pft']:,} / {tp['ref']:,} |")
    evals = [c for c in cases if c[1] == "eval"]
    if evals:
        print("\n| model | evaluation, dtype | pft examples/s | reference examples/s | "
              "pft / reference |")
        print("| --- | --- | ---: | ---: | ---: |")
        for m, meth, p in evals:
            key = f"{m}/{meth}/{p}"
            pe = med(key, "pft", "examples_per_second")
            re_ = med(key, "ref", "examples_per_second")
            print(f"| {m} | {p}, batch 32 | {pe:.1f} | {re_:.1f} | {pe / re_:.2f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"gemm": gemm, "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
