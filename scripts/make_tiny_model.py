#!/usr/bin/env python3
"""Writes a small random checkpoint of a model family, with a tokenizer trained on the bundled
SST-2 training sentences, for the example configs of families that no PyPI package ships real
weights of. The weights are random (transformers' initialisation from a fixed seed): such a
model shows that pft trains and evaluates the family end to end, not what a pretrained one
scores.

Usage: make_tiny_model.py MODEL_TYPE OUT_DIR [--data data/sst2/train.jsonl]
  MODEL_TYPE: roberta (byte-level BPE tokenizer) or xlm-roberta (Unigram/Metaspace tokenizer)
  OUT_DIR gets config.json, model.safetensors (the masked-LM class: a task head is added
  fresh by pft), tokenizer.json and tokenizer_config.json, as save_pretrained writes them.
  The folder appears whole or not at all (written beside it, then renamed).
"""
import argparse
import json
import os
import shutil
import sys

import torch
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import AutoConfig, AutoModelForMaskedLM, PreTrainedTokenizerFast

SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]
SIZE = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128)


def sentences(path):
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            try:
                yield json.loads(line)["text"]
            except (ValueError, KeyError) as e:
                sys.exit(f"{path}:{number}: expected a JSON object with a \"text\" field ({e})")


def bpe_tokenizer(data):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(sentences(data), trainers.BpeTrainer(
        vocab_size=2000, special_tokens=SPECIALS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False))
    tok.add_special_tokens([AddedToken("<mask>", special=True, lstrip=True, normalized=False)])
    tok.post_processor = processors.RobertaProcessing(("</s>", tok.token_to_id("</s>")),
                                                      ("<s>", tok.token_to_id("<s>")))
    return tok, "RobertaTokenizer"


def unigram_tokenizer(data):
    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    tok.train_from_iterator(sentences(data), trainers.UnigramTrainer(
        vocab_size=2000, special_tokens=SPECIALS, unk_token="<unk>", show_progress=False))
    tok.add_special_tokens([AddedToken("<mask>", special=True, lstrip=True, normalized=False)])
    tok.post_processor = processors.TemplateProcessing(
        single="<s>:0 $A:0 </s>:0", pair="<s>:0 $A:0 </s>:0 </s>:0 $B:0 </s>:0",
        special_tokens=[("<s>", tok.token_to_id("<s>")), ("</s>", tok.token_to_id("</s>"))])
    return tok, "XLMRobertaTokenizer"


FAMILIES = {"roberta": bpe_tokenizer, "xlm-roberta": unigram_tokenizer}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_type", choices=sorted(FAMILIES))
    parser.add_argument("out_dir")
    parser.add_argument("--data", default=os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "data",
                                                                        "sst2", "train.jsonl")))
    args = parser.parse_args()
    out = os.path.normpath(args.out_dir)
    temp = f"{out}.tmp-{os.getpid()}"
    shutil.rmtree(temp, ignore_errors=True)
    tok, tokenizer_class = FAMILIES[args.model_type](args.data)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", sep_token="</s>",
                                   cls_token="<s>", unk_token="<unk>", pad_token="<pad>", mask_token="<mask>",
                                   model_max_length=128)
    torch.manual_seed(0)
    config = AutoConfig.for_model(args.model_type, vocab_size=tok.get_vocab_size(), pad_token_id=1,
                                  bos_token_id=0, eos_token_id=2, max_position_embeddings=130,
                                  type_vocab_size=1, **SIZE)
    AutoModelForMaskedLM.from_config(config).save_pretrained(temp)
    fast.save_pretrained(temp)
    with open(os.path.join(temp, "tokenizer_config.json"), encoding="utf-8") as f:
        tokenizer_config = json.load(f)
    tokenizer_config["tokenizer_class"] = tokenizer_class
    with open(os.path.join(temp, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer_config, f, indent=2)
    if os.path.exists(out):
        shutil.rmtree(out)
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    os.rename(temp, out)
    print(f"wrote {out}: random {args.model_type} ({SIZE['num_hidden_layers']} layers, hidden "
          f"{SIZE['hidden_size']}), tokenizer of {tok.get_vocab_size()} tokens trained on {args.data}")


if __name__ == "__main__":
    main()
