"""The Python side of scripts/bench/train.py: what a user of transformers + peft would run.

One process trains one case (a plain loop: forward, loss, backward, clip by global norm,
torch.optim.AdamW step) or evaluates (a no-grad loop over the data), then prints one JSON
object measured the way pft's summary.json measures itself:

- seconds_to_first_step: from the process's start as the kernel records it (/proc), so
  interpreter start and imports count, to the start of the first step;
- steady_steps_per_second: steps after the first 3, over the time from the end of step 3 to
  the end of the last step;
- peak_rss_bytes: VmHWM of the process.

Inputs: the harness's JSONL of {"text", "label"}, tokenized in the process with the model's
fast tokenizer (truncated to --seq-len) before the first step, as pft tokenizes its data.
Bottleneck adapters: peft has none, and AdapterHub's `adapters` library pins an older
transformers, so the Houlsby adapter here is a few lines of PyTorch with pft's function
(adapter on the output of attention.output.dense and output.dense, down -> relu -> up plus
the residual, bottleneck = hidden / 16).
"""

import argparse
import json
import os
import sys
import time


def seconds_since_process_start():
    with open("/proc/self/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    with open("/proc/uptime") as f:
        uptime = float(f.read().split()[0])
    return uptime - int(rest[19]) / os.sysconf("SC_CLK_TCK")


def peak_rss_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", required=True, help="JSONL of text and label")
    parser.add_argument("--method", required=True,
                        choices=["lora", "dora", "prefix_tuning", "prompt_tuning", "adapter",
                                 "full", "eval"])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--examples", type=int, default=0,
                        help="evaluation: the first N examples (0: steps x batch size)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--virtual-tokens", type=int, default=20)
    parser.add_argument("--lora-targets", default="query,key,value,dense")
    args = parser.parse_args()

    import torch
    import transformers  # noqa: F401
    from transformers import AutoModelForSequenceClassification

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    from transformers import AutoTokenizer
    count = args.examples or args.steps * args.batch_size
    rows = []
    with open(args.data) as f:
        for line in f:
            rows.append(json.loads(line))
            if len(rows) == count:
                break
    labels = sorted({r["label"] for r in rows})
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    enc = tokenizer([r["text"] for r in rows], truncation=True, max_length=args.seq_len,
                    padding="longest", return_tensors="pt")
    ids, mask = enc["input_ids"], enc["attention_mask"]
    y = torch.tensor([labels.index(r["label"]) for r in rows])

    model = AutoModelForSequenceClassification.from_pretrained(args.model, num_labels=2)
    if args.method in ("lora", "dora", "prefix_tuning", "prompt_tuning"):
        import peft
        if args.method in ("lora", "dora"):
            config = peft.LoraConfig(task_type=peft.TaskType.SEQ_CLS, r=8, lora_alpha=16,
                                     lora_dropout=0.0, use_dora=args.method == "dora",
                                     target_modules=args.lora_targets.split(","))
        elif args.method == "prefix_tuning":
            config = peft.PrefixTuningConfig(task_type=peft.TaskType.SEQ_CLS,
                                             num_virtual_tokens=args.virtual_tokens)
        else:
            config = peft.PromptTuningConfig(task_type=peft.TaskType.SEQ_CLS,
                                             num_virtual_tokens=args.virtual_tokens)
        model = peft.get_peft_model(model, config)
    elif args.method == "adapter":
        hidden = model.config.hidden_size

        class Adapted(torch.nn.Module):
            def __init__(self, dense):
                super().__init__()
                self.dense = dense
                self.down = torch.nn.Linear(hidden, hidden // 16)
                self.up = torch.nn.Linear(hidden // 16, hidden)
                torch.nn.init.normal_(self.down.weight, std=0.01)
                torch.nn.init.zeros_(self.down.bias)
                torch.nn.init.zeros_(self.up.weight)
                torch.nn.init.zeros_(self.up.bias)

            def forward(self, x):
                h = self.dense(x)
                return h + self.up(torch.relu(self.down(h)))

        for p in model.parameters():
            p.requires_grad_(False)
        for layer in model.base_model.encoder.layer:
            layer.attention.output.dense = Adapted(layer.attention.output.dense)
            layer.output.dense = Adapted(layer.output.dense)
        for name, p in model.named_parameters():
            if ".down." in name or ".up." in name or name.startswith("classifier"):
                p.requires_grad_(True)
    elif args.method == "eval":
        for p in model.parameters():
            p.requires_grad_(False)

    autocast = (torch.autocast("cpu", dtype=torch.bfloat16) if args.precision == "bf16"
                else torch.autocast("cpu", enabled=False))
    out = {"method": args.method}
    if args.method == "eval":
        model.eval()
        start = time.perf_counter()
        with torch.no_grad(), autocast:
            for s in range(0, len(rows), args.batch_size):
                model(input_ids=ids[s:s + args.batch_size],
                      attention_mask=mask[s:s + args.batch_size]).logits.argmax(-1)
        seconds = time.perf_counter() - start
        out.update(examples=len(rows), seconds=seconds, examples_per_second=len(rows) / seconds,
                   peak_rss_bytes=peak_rss_bytes())
        print(json.dumps(out))
        return

    model.train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=args.lr, weight_decay=0.0)
    warm = 3
    order = torch.randperm(len(rows), generator=torch.Generator().manual_seed(0))
    to_first_step = None
    warm_at = None
    losses = []
    for step in range(args.steps):
        if to_first_step is None:
            to_first_step = seconds_since_process_start()
        pick = order[(step * args.batch_size) % len(rows):][:args.batch_size]
        if len(pick) < args.batch_size:
            pick = order[:args.batch_size]
        with autocast:
            loss = model(input_ids=ids[pick], attention_mask=mask[pick], labels=y[pick]).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.item())
        if step + 1 == warm:
            warm_at = time.perf_counter()
    end = time.perf_counter()
    if args.steps <= warm:
        sys.exit("--steps must be more than the 3 warm-up steps")
    out.update(seconds_to_first_step=to_first_step,
               steady_steps_per_second=(args.steps - warm) / (end - warm_at),
               peak_rss_bytes=peak_rss_bytes(),
               trainable_parameters=sum(p.numel() for p in trainable),
               first_loss=losses[0], final_loss=losses[-1])
    print(json.dumps(out))


if __name__ == "__main__":
    main()
