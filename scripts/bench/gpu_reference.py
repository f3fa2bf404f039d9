"""The Python side of scripts/bench/gpu.py: transformers + peft as a user would run them on one
device, measured the way pft measures itself. One process runs one case and prints one JSON
object:

- train-bert: AutoModelForSequenceClassification + peft LoRA (r 8, alpha 16, dropout 0, query,
  key, value, dense), train-t5: T5ForConditionalGeneration + peft LoRA (q, v); a plain loop
  (forward, loss, backward, clip to norm 1, torch.optim.AdamW) under autocast in --dtype;
  steady_steps_per_second over the steps after 3 warm-up steps (the device synchronized at
  both ends);
- eval-bert: a no-grad loop over the examples in batches, arg-max of the logits;
  examples_per_second;
- generate-t5: model.generate() greedy, --max-new-tokens, batches of --batch-size after one
  warm-up batch; tokens_per_second counts each row's tokens up to and including EOS.

Inputs are JSONL written by gpu.py: {"text", "label"} (BERT) or {"source", "target"} (T5),
tokenized here before the first step and truncated to --seq-len (targets to --target-len).
"""

import argparse
import json
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["train-bert", "eval-bert", "train-t5", "generate-t5"])
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--dtype", choices=["bf16", "fp32"], default="bf16")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seq-len", type=int, default=256)
    parser.add_argument("--target-len", type=int, default=64)
    parser.add_argument("--examples", type=int, default=256)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()

    import peft
    import torch
    from transformers import (AutoModelForSequenceClassification, AutoTokenizer,
                              T5ForConditionalGeneration)

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = torch.device(args.device)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.dtype == "bf16")
    with open(args.data) as f:
        rows = [json.loads(line) for line in f]
    out = {"mode": args.mode}

    if args.mode in ("train-bert", "eval-bert"):
        tokenizer = AutoTokenizer.from_pretrained(args.model)
        labels = sorted({r["label"] for r in rows})
        enc = tokenizer([r["text"] for r in rows], truncation=True, max_length=args.seq_len,
                        padding="longest", return_tensors="pt")
        ids, mask = enc["input_ids"].to(device), enc["attention_mask"].to(device)
        y = torch.tensor([labels.index(r["label"]) for r in rows], device=device)
        model = AutoModelForSequenceClassification.from_pretrained(args.model, num_labels=2)
        if args.mode == "eval-bert":
            model = model.to(device).eval()
            n = min(args.examples, len(rows))
            with torch.no_grad(), autocast:
                model(input_ids=ids[:args.batch_size], attention_mask=mask[:args.batch_size])
                sync()
                start = time.perf_counter()
                for s in range(0, n, args.batch_size):
                    model(input_ids=ids[s:min(n, s + args.batch_size)],
                          attention_mask=mask[s:min(n, s + args.batch_size)]).logits.argmax(-1)
                sync()
            seconds = time.perf_counter() - start
            out.update(examples=n, examples_per_second=n / seconds)
            print(json.dumps(out))
            return
        config = peft.LoraConfig(task_type=peft.TaskType.SEQ_CLS, r=8, lora_alpha=16,
                                 lora_dropout=0.0,
                                 target_modules=["query", "key", "value", "dense"])
        model = peft.get_peft_model(model, config).to(device)

        def batch(pick):
            return dict(input_ids=ids[pick], attention_mask=mask[pick], labels=y[pick])
    else:
        from sentencepiece import SentencePieceProcessor
        sp = SentencePieceProcessor(model_file=f"{args.model}/spiece.model")
        model = T5ForConditionalGeneration.from_pretrained(args.model)

        def pad(seqs):
            """Right-padded ids and their attention mask."""
            width = max(len(s) for s in seqs)
            ids = torch.tensor([s + [0] * (width - len(s)) for s in seqs], device=device)
            mask = torch.tensor([[1] * len(s) + [0] * (width - len(s)) for s in seqs],
                                device=device)
            return ids, mask

        sources = [sp.encode(r["source"])[:args.seq_len - 1] + [1] for r in rows]
        if args.mode == "generate-t5":
            model = model.to(device).eval()
            n = min(args.examples, len(rows))

            def run(chunk):
                ids, mask = pad(chunk)
                with torch.no_grad(), autocast:
                    result = model.generate(input_ids=ids, attention_mask=mask, num_beams=1,
                                            do_sample=False, max_new_tokens=args.max_new_tokens)
                tokens = 0
                for row in result.tolist():
                    for t in row[1:]:
                        tokens += 1
                        if t == 1:
                            break
                return tokens

            run(sources[:args.batch_size])
            sync()
            start = time.perf_counter()
            tokens = sum(run(sources[s:min(n, s + args.batch_size)])
                         for s in range(0, n, args.batch_size))
            sync()
            seconds = time.perf_counter() - start
            out.update(examples=n, tokens=tokens, tokens_per_second=tokens / seconds)
            print(json.dumps(out))
            return
        targets = [sp.encode(r["target"])[:args.target_len - 1] + [1] for r in rows]
        config = peft.LoraConfig(task_type=peft.TaskType.SEQ_2_SEQ_LM, r=8, lora_alpha=16,
                                 lora_dropout=0.0, target_modules=["q", "v"])
        model = peft.get_peft_model(model, config).to(device)

        def batch(pick):
            ids, mask = pad([sources[i] for i in pick.tolist()])
            labels, _ = pad([targets[i] for i in pick.tolist()])
            labels = labels.masked_fill(labels == 0, -100)
            return dict(input_ids=ids, attention_mask=mask, labels=labels)

    model.train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=1e-4, weight_decay=0.0)
    order = torch.randperm(len(rows), generator=torch.Generator().manual_seed(0))
    warm, warm_at = 3, None
    for step in range(args.steps):
        pick = order[(step * args.batch_size) % len(rows):][:args.batch_size]
        if len(pick) < args.batch_size:
            pick = order[:args.batch_size]
        with autocast:
            loss = model(**batch(pick)).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if step + 1 == warm:
            sync()
            warm_at = time.perf_counter()
    sync()
    end = time.perf_counter()
    out.update(steady_steps_per_second=(args.steps - warm) / (end - warm_at),
               final_loss=loss.item(),
               trainable_parameters=sum(p.numel() for p in trainable))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
