"""Reference learning-rate schedules (transformers) and AdamW steps (torch.optim.AdamW).

Usage: optim_reference.py INPUT.json OUTPUT.json
INPUT holds w [4, 3] (decayed), b [3] (bias), and their gradients for 5 steps.
"""
import json
import sys

import torch
from transformers import (get_constant_schedule_with_warmup, get_cosine_schedule_with_warmup,
                          get_linear_schedule_with_warmup)


def schedule(kind, warmup, total):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=1.0)
    make = {"constant": lambda: get_constant_schedule_with_warmup(opt, warmup),
            "linear": lambda: get_linear_schedule_with_warmup(opt, warmup, total),
            "cosine": lambda: get_cosine_schedule_with_warmup(opt, warmup, total)}[kind]
    sched = make()
    values = []
    for _ in range(total + 3):
        values.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return values


def main():
    out = {"schedules": {}}
    for kind in ("constant", "linear", "cosine"):
        for warmup, total in ((0, 10), (3, 10), (5, 37)):
            out["schedules"][f"{kind}/{warmup}/{total}"] = schedule(kind, warmup, total)
    with open(sys.argv[1]) as f:
        t = json.load(f)
    w = torch.nn.Parameter(torch.tensor(t["w"], dtype=torch.float32).reshape(4, 3))
    b = torch.nn.Parameter(torch.tensor(t["b"], dtype=torch.float32))
    opt = torch.optim.AdamW([{"params": [w], "weight_decay": 0.1},
                             {"params": [b], "weight_decay": 0.0}],
                            lr=1e-2, betas=(0.9, 0.999), eps=1e-8, foreach=False)
    for step in range(5):
        w.grad = torch.tensor(t["g_w"][step], dtype=torch.float32).reshape(4, 3)
        b.grad = torch.tensor(t["g_b"][step], dtype=torch.float32)
        opt.step()
    out["w"] = w.detach().flatten().tolist()
    out["b"] = b.detach().flatten().tolist()
    with open(sys.argv[2], "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
