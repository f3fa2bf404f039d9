"""transformers + peft generate() with PEFT adapters on a tiny random T5, for the parity tests
of `pft generate --adapter`.

Usage:
  generate_adapter_reference.py make SPIECE_MODEL OUT_DIR
      OUT_DIR/model/          a tiny random T5 (T5's real vocabulary) with spiece.model
      OUT_DIR/prompts.jsonl   prompts ("source")
      OUT_DIR/peft_METHOD/    an adapter made by PEFT with random (non-identity) weights, for
                              METHOD in lora, prefix_tuning, prompt_tuning, ia3
      and, in every adapter folder, expected.json (below)
  generate_adapter_reference.py generate MODEL_DIR PROMPTS ADAPTER_DIR...
      ADAPTER_DIR/expected.json for adapters made elsewhere (by pft)

expected.json: {"greedy": [ids...], "beam": [ids...]} per prompt: the ids generate() returns
after the decoder start token, up to and including EOS (padding removed), with
max_new_tokens=MAX_NEW_TOKENS and no_repeat_ngram_size=NO_REPEAT; beam search with
num_beams=BEAMS. Each prompt is generated alone (no padding). Tokenization: the sentencepiece
library's pieces and </s>, as T5's tokenizers give for ASCII text.
"""

import json
import os
import shutil
import sys

import sentencepiece as spm
import torch
from peft import (IA3Config, LoraConfig, PeftModel, PrefixTuningConfig, PromptTuningConfig,
                  TaskType, get_peft_model)
from transformers import T5Config, T5ForConditionalGeneration

PROMPTS = [
    "translate English to German: The house is wonderful.",
    "summarize: studies have shown that owning a dog is good for you",
    "cola sentence: The course is jumping well.",
    "Hello",
]
MAX_NEW_TOKENS = 8
NO_REPEAT = 1  # a random model repeats one token; forbidding repeats makes outputs differ
BEAMS = 3
EOS = 1


def peft_configs():
    common = {"task_type": TaskType.SEQ_2_SEQ_LM}
    return {
        "lora": LoraConfig(r=4, lora_alpha=8, target_modules=["q", "v"], init_lora_weights=False,
                           **common),
        "ia3": IA3Config(target_modules=["k", "v", "wo"], feedforward_modules=["wo"],
                         init_ia3_weights=False, **common),
        "prefix_tuning": PrefixTuningConfig(num_virtual_tokens=4, **common),
        "prompt_tuning": PromptTuningConfig(num_virtual_tokens=4, **common),
    }


def encode(sp, text):
    return sp.encode(text) + [EOS]


def expected_ids(model, sp, prompts):
    out = {}
    for name, kwargs in (("greedy", {"num_beams": 1}), ("beam", {"num_beams": BEAMS})):
        rows = []
        for text in prompts:
            ids = torch.tensor([encode(sp, text)])
            with torch.no_grad():
                generated = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids),
                                           max_new_tokens=MAX_NEW_TOKENS, do_sample=False,
                                           no_repeat_ngram_size=NO_REPEAT, **kwargs)
            row = generated[0, 1:].tolist()
            if EOS in row:
                row = row[: row.index(EOS) + 1]
            rows.append(row)
        out[name] = rows
    return out


def read_prompts(path):
    return [json.loads(line)["source"] for line in open(path)]


def make(spiece, out):
    torch.manual_seed(3)
    config = T5Config(vocab_size=32128, d_model=16, d_kv=4, num_heads=4, d_ff=32, num_layers=2,
                      num_decoder_layers=2, feed_forward_proj="relu", decoder_start_token_id=0,
                      eos_token_id=1, pad_token_id=0)
    model = T5ForConditionalGeneration(config)
    with torch.no_grad():
        model.shared.weight[1] *= 1.5  # EOS now and then, so lengths vary
    model_dir = os.path.join(out, "model")
    model.save_pretrained(model_dir)
    shutil.copy(spiece, os.path.join(model_dir, "spiece.model"))
    with open(os.path.join(out, "prompts.jsonl"), "w") as f:
        for i, text in enumerate(PROMPTS):
            f.write(json.dumps({"id": i, "source": text}) + "\n")
    sp = spm.SentencePieceProcessor(model_file=spiece)
    for name, peft_config in peft_configs().items():
        torch.manual_seed(7)
        base = T5ForConditionalGeneration.from_pretrained(model_dir).eval()
        peft_model = get_peft_model(base, peft_config).eval()
        adapter = os.path.join(out, "peft_" + name)
        peft_model.save_pretrained(adapter)
        # Generate from the saved adapter, as a user would load it.
        loaded = PeftModel.from_pretrained(T5ForConditionalGeneration.from_pretrained(model_dir),
                                           adapter).eval()
        with open(os.path.join(adapter, "expected.json"), "w") as f:
            json.dump(expected_ids(loaded, sp, PROMPTS), f)


def generate(model_dir, prompts_file, adapters):
    sp = spm.SentencePieceProcessor(model_file=os.path.join(model_dir, "spiece.model"))
    prompts = read_prompts(prompts_file)
    for adapter in adapters:
        loaded = PeftModel.from_pretrained(T5ForConditionalGeneration.from_pretrained(model_dir),
                                           adapter).eval()
        with open(os.path.join(adapter, "expected.json"), "w") as f:
            json.dump(expected_ids(loaded, sp, prompts), f)


def main():
    if sys.argv[1] == "make":
        make(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "generate":
        generate(sys.argv[2], sys.argv[3], sys.argv[4:])
    else:
        sys.exit("usage: generate_adapter_reference.py make|generate ...")


if __name__ == "__main__":
    main()
