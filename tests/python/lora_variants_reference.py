"""Reference side of pft's LoRA-variant parity tests, against live transformers and peft.

Usage:
  lora_variants_reference.py make OUT_DIR
      Writes OUT_DIR/model (a tiny random BertForSequenceClassification) and, for each case
      below, OUT_DIR/CASE/adapter (made by PEFT, trainable tensors perturbed after
      get_peft_model so no case passes with an identity adapter), OUT_DIR/CASE/merged.safetensors
      (merge_and_unload()'s weights) and OUT_DIR/CASE/reference.safetensors (a right-padded batch
      and PEFT's logits). Cases: dora, patterns (rank_pattern, alpha_pattern, layers_to_transform,
      layers_pattern, exclude_modules, modules_to_save), pissa, olora_dora_rslora.
  lora_variants_reference.py loraplus OUT_DIR
      Writes OUT_DIR/loraplus/{before,after} (a LoRA adapter before and after three AdamW steps
      of create_loraplus_optimizer, ratio 16, weight decay 0.01, lr 1e-2) and batch.safetensors
      (inputs and labels of the steps).
  lora_variants_reference.py combine OUT_DIR TYPE...
      Writes OUT_DIR/t5 (a tiny random T5ForConditionalGeneration), two LoRA adapters made by
      PEFT (OUT_DIR/a: q, v, r 4, alpha 8; OUT_DIR/b: q, k, o, r 4, alpha 16, rsLoRA off),
      a teacher-forced padded batch OUT_DIR/batch.safetensors, and for each TYPE the adapter
      add_weighted_adapter(["a", "b"], [0.7, -0.4], TYPE, density=0.5) makes (OUT_DIR/TYPE,
      saved by save_pretrained) with the logits of PeftModel.from_pretrained on it
      (OUT_DIR/TYPE/logits.safetensors).
  lora_variants_reference.py merged MODEL_DIR ADAPTER_DIR OUT.safetensors
      PeftModel.from_pretrained + merge_and_unload(); writes the merged state dict.
"""
import json
import os
import sys

import torch
from peft import LoraConfig, PeftModel, get_peft_model
from peft.optimizers import create_loraplus_optimizer
from safetensors.torch import save_file
from transformers import BertConfig, BertForSequenceClassification, T5Config, T5ForConditionalGeneration

CASES = {
    "dora": dict(r=4, lora_alpha=8, use_dora=True, target_modules=["query", "value", "dense"]),
    "patterns": dict(r=4, lora_alpha=8, target_modules=["query", "key", "value", "dense"],
                     rank_pattern={"value": 2, "layer.1.attention.self.query": 6},
                     alpha_pattern={"query": 5, "intermediate.dense": 3},
                     layers_to_transform=[1], layers_pattern="layer",
                     exclude_modules=["attention.output.dense"], modules_to_save=["pooler.dense"]),
    "pissa": dict(r=4, lora_alpha=8, init_lora_weights="pissa", target_modules=["query", "value", "dense"]),
    "olora_dora_rslora": dict(r=3, lora_alpha=6, init_lora_weights="olora", use_dora=True, use_rslora=True,
                              target_modules=["query", "key", "value"]),
}


def tiny_model(out=None):
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=64, hidden_size=16, num_hidden_layers=2, num_attention_heads=4,
                     intermediate_size=32, max_position_embeddings=32, num_labels=3)
    model = BertForSequenceClassification(cfg).eval()
    if out is not None and not os.path.exists(os.path.join(out, "config.json")):
        model.save_pretrained(out)
    return model


def batch():
    gen = torch.Generator().manual_seed(1)
    lengths = [9, 6, 3]
    ids = torch.zeros(len(lengths), max(lengths), dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, n in enumerate(lengths):
        ids[i, :n] = torch.randint(2, 64, (n,), generator=gen)
        mask[i, :n] = 1
    return {"input_ids": ids, "attention_mask": mask}


def logits(model, inputs):
    with torch.no_grad():
        return model(**inputs).logits.contiguous()


def make(out_dir):
    model_dir = os.path.join(out_dir, "model")
    tiny_model(model_dir)
    for case, settings in CASES.items():
        case_dir = os.path.join(out_dir, case)
        model = get_peft_model(tiny_model(), LoraConfig(task_type="SEQ_CLS", lora_dropout=0.0, **settings))
        torch.manual_seed(2)
        with torch.no_grad():
            for name, p in model.named_parameters():
                if p.requires_grad:  # LoRA A/B, magnitudes, modules to save
                    p.add_(torch.randn_like(p) * 0.3)
        model.eval()
        model.save_pretrained(os.path.join(case_dir, "adapter"))
        inputs = batch()
        tensors = dict(inputs)
        tensors["logits"] = logits(model, inputs)
        save_file(tensors, os.path.join(case_dir, "reference.safetensors"))
        merged = model.merge_and_unload()
        save_file({k: v.contiguous() for k, v in merged.state_dict().items()},
                  os.path.join(case_dir, "merged.safetensors"))


def loraplus(out_dir):
    case_dir = os.path.join(out_dir, "loraplus")
    model = get_peft_model(tiny_model(), LoraConfig(task_type="SEQ_CLS", r=4, lora_alpha=8, lora_dropout=0.0))
    torch.manual_seed(3)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.requires_grad:
                p.add_(torch.randn_like(p) * 0.1)
    model.save_pretrained(os.path.join(case_dir, "before"))
    inputs = batch()
    labels = torch.tensor([0, 2, 1])
    optimizer = create_loraplus_optimizer(model, torch.optim.AdamW, lr=1e-2, loraplus_lr_ratio=16,
                                          loraplus_weight_decay=0.01)
    model.eval()  # no dropout: the steps are deterministic
    for _ in range(3):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(**inputs).logits, labels)
        loss.backward()
        optimizer.step()
    model.save_pretrained(os.path.join(case_dir, "after"))
    tensors = dict(inputs)
    tensors["labels"] = labels
    save_file(tensors, os.path.join(case_dir, "batch.safetensors"))
    print(json.dumps({"groups": [len(g["params"]) for g in optimizer.param_groups],
                      "lrs": [g["lr"] for g in optimizer.param_groups]}))


def combine(out_dir, types):
    torch.manual_seed(0)
    cfg = T5Config(vocab_size=48, d_model=16, d_kv=4, num_heads=4, d_ff=32, num_layers=2,
                   num_decoder_layers=2, relative_attention_num_buckets=8, relative_attention_max_distance=16,
                   feed_forward_proj="relu", decoder_start_token_id=0, pad_token_id=0, eos_token_id=1)
    T5ForConditionalGeneration(cfg).save_pretrained(os.path.join(out_dir, "t5"))
    base = lambda: T5ForConditionalGeneration.from_pretrained(os.path.join(out_dir, "t5")).eval()
    for name, settings, seed in (("a", dict(r=4, lora_alpha=8, target_modules=["q", "v"]), 11),
                                 ("b", dict(r=4, lora_alpha=16, target_modules=["q", "k", "o"]), 12)):
        model = get_peft_model(base(), LoraConfig(task_type="SEQ_2_SEQ_LM", lora_dropout=0.0, **settings))
        torch.manual_seed(seed)
        with torch.no_grad():
            for _, p in model.named_parameters():
                if p.requires_grad:
                    p.add_(torch.randn_like(p) * 0.3)
        model.save_pretrained(os.path.join(out_dir, name))
    gen = torch.Generator().manual_seed(1)
    ids = torch.randint(2, 48, (3, 7), generator=gen)
    mask = torch.ones_like(ids)
    mask[1, 5:] = 0
    mask[2, 3:] = 0
    ids = ids * mask
    dec = torch.randint(2, 48, (3, 4), generator=gen)
    dec[:, 0] = 0
    inputs = {"input_ids": ids, "attention_mask": mask, "decoder_input_ids": dec,
              "decoder_attention_mask": torch.ones_like(dec)}
    save_file(inputs, os.path.join(out_dir, "batch.safetensors"))
    for t in types:
        model = PeftModel.from_pretrained(base(), os.path.join(out_dir, "a"), adapter_name="a")
        model.load_adapter(os.path.join(out_dir, "b"), adapter_name="b")
        model.add_weighted_adapter(["a", "b"], [0.7, -0.4], t, combination_type=t, density=0.5)
        model.set_adapter(t)
        model.eval()
        model.save_pretrained(out_dir, selected_adapters=[t])
        # The logits of the saved adapter as PEFT loads it: the in-memory SVD factors are
        # strided views whose products round differently (up to 1e-5 here) from the same
        # values loaded contiguous.
        reloaded = PeftModel.from_pretrained(base(), os.path.join(out_dir, t)).eval()
        save_file({"logits": logits(reloaded, inputs)}, os.path.join(out_dir, t, "logits.safetensors"))


def merged(model_dir, adapter_dir, out_file):
    base = BertForSequenceClassification.from_pretrained(model_dir)
    model = PeftModel.from_pretrained(base, adapter_dir).eval().merge_and_unload()
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, out_file)


def main():
    mode = sys.argv[1]
    if mode == "make":
        make(sys.argv[2])
    elif mode == "loraplus":
        loraplus(sys.argv[2])
    elif mode == "combine":
        combine(sys.argv[2], sys.argv[3:])
    elif mode == "merged":
        merged(*sys.argv[2:5])
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
