"""Reference side of pft's PEFT-method parity tests, against live transformers and peft.

Usage:
  peft_methods_reference.py make OUT_DIR CASE...
      CASE is MODEL:METHOD with MODEL bert (BertForSequenceClassification) or t5
      (T5ForConditionalGeneration) and METHOD lora or ia3. Writes, in OUT_DIR/CASE with ':'
      replaced by '_':
        model/                    a tiny random checkpoint (one per MODEL, shared by its cases)
        adapter/                  a PEFT adapter with non-zero weights (perturbed after
                                  get_peft_model, so the test cannot pass with an identity adapter)
        reference.safetensors     a right-padded batch (input_ids, attention_mask; for t5 also
                                  decoder_input_ids, decoder_attention_mask) and PEFT's logits
  peft_methods_reference.py load MODEL_DIR ADAPTER_DIR INPUTS.safetensors OUT.safetensors [...]
      (one or more groups of four) Loads a pft-saved adapter with PeftModel.from_pretrained and writes the logits of the
      batch in INPUTS as `logits`. The base model class follows the adapter's task_type:
      T5ForConditionalGeneration for t5 checkpoints, BertForTokenClassification for TOKEN_CLS
      (its label count from the saved classifier), else BertForSequenceClassification.
  peft_methods_reference.py export EXPORTED_DIR CHECK.json [EXPORTED_DIR CHECK.json ...]
      Loads each `pft export --merge` folder with transformers, runs the check inputs written
      by `pft export --check-file` and prints a line {"max_abs_diff": ..., "max_abs_diff_merged":
      ...} against pft's unmerged and merged logits, one per folder.
"""
import json
import os
import sys

import torch
from peft import IA3Config, LoraConfig, PeftModel, get_peft_model
from safetensors.torch import load_file, save_file
from transformers import (AutoModelForMaskedLM, AutoModelForSeq2SeqLM, AutoModelForSequenceClassification,
                          AutoModelForTokenClassification, BertConfig, BertForSequenceClassification,
                          BertForTokenClassification, T5Config, T5ForConditionalGeneration)


def tiny_model(kind, out):
    torch.manual_seed(0)
    if kind == "bert":
        cfg = BertConfig(vocab_size=64, hidden_size=16, num_hidden_layers=2, num_attention_heads=4,
                         intermediate_size=32, max_position_embeddings=32, num_labels=3)
        model = BertForSequenceClassification(cfg)
    else:
        cfg = T5Config(vocab_size=48, d_model=16, d_kv=4, num_heads=4, d_ff=32, num_layers=2,
                       num_decoder_layers=2, relative_attention_num_buckets=8,
                       relative_attention_max_distance=16, feed_forward_proj="relu",
                       decoder_start_token_id=0, pad_token_id=0, eos_token_id=1)
        model = T5ForConditionalGeneration(cfg)
    model.eval()
    if not os.path.exists(os.path.join(out, "config.json")):
        model.save_pretrained(out)
    return model


def batch(kind):
    gen = torch.Generator().manual_seed(1)
    vocab = 64 if kind == "bert" else 48

    def padded(lengths, first):
        ids = torch.zeros(len(lengths), max(lengths), dtype=torch.long)
        mask = torch.zeros_like(ids)
        for i, n in enumerate(lengths):
            ids[i, :n] = torch.randint(first, vocab, (n,), generator=gen)
            mask[i, :n] = 1
        return ids, mask

    ids, mask = padded([9, 6, 3], 2)
    out = {"input_ids": ids, "attention_mask": mask}
    if kind == "t5":
        dec, dmask = padded([5, 3, 2], 2)
        dec[:, 0] = 0  # decoder_start_token_id
        out.update(decoder_input_ids=dec, decoder_attention_mask=dmask)
    return out


def logits(model, inputs):
    with torch.no_grad():
        return model(**inputs).logits.contiguous()


def make(out_dir, cases):
    for case in cases:
        kind, method = case.split(":")
        case_dir = os.path.join(out_dir, case.replace(":", "_"))
        model_dir = os.path.join(out_dir, kind + "_model")
        base = tiny_model(kind, model_dir)
        task = "SEQ_CLS" if kind == "bert" else "SEQ_2_SEQ_LM"
        if method == "lora":
            config = LoraConfig(task_type=task, r=4, lora_alpha=8, lora_dropout=0.0)
        else:
            config = IA3Config(task_type=task)
        model = get_peft_model(base, config)
        torch.manual_seed(2)
        with torch.no_grad():
            for name, p in model.named_parameters():
                if p.requires_grad:  # LoRA A/B, IA3 vectors, the new classifier
                    p.add_(torch.randn_like(p) * 0.3)
        model.eval()
        model.save_pretrained(os.path.join(case_dir, "adapter"))
        inputs = batch(kind)
        tensors = dict(inputs)
        tensors["logits"] = logits(model, inputs)
        save_file(tensors, os.path.join(case_dir, "reference.safetensors"))


def load(model_dir, adapter_dir, inputs_file, out_file):
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    task = json.load(open(os.path.join(adapter_dir, "adapter_config.json")))["task_type"]
    if cfg["model_type"] == "t5":
        base = T5ForConditionalGeneration.from_pretrained(model_dir)
    elif task == "TOKEN_CLS":
        saved = load_file(os.path.join(adapter_dir, "adapter_model.safetensors"))
        labels = saved["base_model.model.classifier.weight"].shape[0]
        base = BertForTokenClassification.from_pretrained(model_dir, num_labels=labels)
    else:
        base = BertForSequenceClassification.from_pretrained(model_dir)
    model = PeftModel.from_pretrained(base, adapter_dir).eval()
    inputs = load_file(inputs_file)
    save_file({"logits": logits(model, inputs)}, out_file)


def export(exported_dir, check_file):
    check = json.load(open(check_file))
    # The exported head, as pft names it (pft/model/family.h).
    auto_class = {"seq2seq_lm": AutoModelForSeq2SeqLM, "sequence_classification": AutoModelForSequenceClassification,
                  "token_classification": AutoModelForTokenClassification, "masked_lm": AutoModelForMaskedLM}
    model = auto_class[check["head"]].from_pretrained(exported_dir).eval()
    if check["head"] == "seq2seq_lm":
        names = ["input_ids", "attention_mask", "decoder_input_ids", "decoder_attention_mask"]
    else:
        names = ["input_ids", "attention_mask"]
    inputs = {n: torch.tensor(check[n], dtype=torch.long) for n in names}
    got = logits(model, inputs)
    want = torch.tensor(check["unmerged_logits"], dtype=torch.float32)
    merged = torch.tensor(check["merged_logits"], dtype=torch.float32)
    print(json.dumps({"max_abs_diff": (got - want).abs().max().item(),
                      "max_abs_diff_merged": (got - merged).abs().max().item(), "shape": list(got.shape)}))


def main():
    mode = sys.argv[1]
    if mode == "make":
        make(sys.argv[2], sys.argv[3:])
    elif mode == "load":
        groups = sys.argv[2:]
        for i in range(0, len(groups) - 3, 4):
            load(*groups[i:i + 4])
    elif mode == "export":
        pairs = sys.argv[2:]
        for i in range(0, len(pairs) - 1, 2):
            export(pairs[i], pairs[i + 1])
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
