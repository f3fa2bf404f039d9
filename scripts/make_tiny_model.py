#!/usr/bin/env python3
"""Writes a small random checkpoint of a model family, with a tokenizer trained on the bundled
SST-2 training sentences, for the example configs of families that no PyPI package ships real
weights of. The weights are random (transformers' initialisation from a fixed seed): such a
model shows that pft trains and evaluates the family end to end, not what a pretrained one
scores.

Usage: make_tiny_model.py MODEL_TYPE OUT_DIR [--data data/sst2/train.jsonl]
  MODEL_TYPE: roberta and modernbert (byte-level BPE tokenizers), xlm-roberta and deberta-v2
  (Unigram/Metaspace), electra and distilbert (WordPiece, lowercased) or mt5
  (Unigram/Metaspace, </s> appended)
  OUT_DIR gets config.json, model.safetensors (the masked-LM class of encoders: a task head
  is added fresh by pft; the conditional-generation class of mt5), tokenizer.json and
  tokenizer_config.json, as save_pretrained writes them. The folder appears whole or not at
  all (written beside it, then renamed).
"""
import argparse
import json
import os
import shutil
import sys

import torch
from tokenizers import (AddedToken, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors,
                        trainers)
from transformers import AutoConfig, AutoModelForMaskedLM, AutoModelForSeq2SeqLM, PreTrainedTokenizerFast

SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]
ROBERTA_TOKENS = dict(bos_token="<s>", eos_token="</s>", sep_token="</s>", cls_token="<s>", unk_token="<unk>",
                      pad_token="<pad>", mask_token="<mask>")
# The BERT-style special tokens (WordPiece tokenizers, and ModernBERT's BPE one).
WORDPIECE_TOKENS = dict(unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]",
                        mask_token="[MASK]")
SIZE = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128)
ENCODER = dict(max_position_embeddings=130, **SIZE)


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
    return tok


def modernbert_tokenizer(data):
    specials = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(sentences(data), trainers.BpeTrainer(
        vocab_size=2000, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False))
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS]:0 $A:0 [SEP]:0", pair="[CLS]:0 $A:0 [SEP]:0 $B:0 [SEP]:0",
        special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))])
    return tok


def unigram_tokenizer(data, specials, unk):
    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    tok.train_from_iterator(sentences(data), trainers.UnigramTrainer(
        vocab_size=2000, special_tokens=specials, unk_token=unk, show_progress=False))
    return tok


def xlmr_tokenizer(data):
    tok = unigram_tokenizer(data, SPECIALS, "<unk>")
    tok.add_special_tokens([AddedToken("<mask>", special=True, lstrip=True, normalized=False)])
    tok.post_processor = processors.TemplateProcessing(
        single="<s>:0 $A:0 </s>:0", pair="<s>:0 $A:0 </s>:0 </s>:0 $B:0 </s>:0",
        special_tokens=[("<s>", tok.token_to_id("<s>")), ("</s>", tok.token_to_id("</s>"))])
    return tok


def deberta_tokenizer(data):
    """DeBERTa-v3's layout: a SentencePiece-style Unigram model (Metaspace), [CLS] A [SEP]."""
    specials = ["[PAD]", "[CLS]", "[SEP]", "[UNK]"]
    tok = unigram_tokenizer(data, specials, "[UNK]")
    tok.add_special_tokens([AddedToken("[MASK]", special=True, normalized=False)])
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS]:0 $A:0 [SEP]:0", pair="[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1",
        special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))])
    return tok


def mt5_tokenizer(data):
    tok = unigram_tokenizer(data, ["<pad>", "</s>", "<unk>"], "<unk>")
    tok.post_processor = processors.TemplateProcessing(
        single="$A:0 </s>:0", pair="$A:0 </s>:0 $B:1 </s>:1", special_tokens=[("</s>", tok.token_to_id("</s>"))])
    return tok


def wordpiece_tokenizer(data):
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    tok.train_from_iterator(sentences(data), trainers.WordPieceTrainer(
        vocab_size=2000, special_tokens=specials, show_progress=False))
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS]:0 $A:0 [SEP]:0", pair="[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1",
        special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))])
    return tok


# model_type -> (tokenizer maker, tokenizer_class, special tokens, model class, config keys)
FAMILIES = {
    "roberta": (bpe_tokenizer, "RobertaTokenizer", ROBERTA_TOKENS, AutoModelForMaskedLM,
                dict(pad_token_id=1, bos_token_id=0, eos_token_id=2, type_vocab_size=1, **ENCODER)),
    "xlm-roberta": (xlmr_tokenizer, "XLMRobertaTokenizer", ROBERTA_TOKENS, AutoModelForMaskedLM,
                    dict(pad_token_id=1, bos_token_id=0, eos_token_id=2, type_vocab_size=1, **ENCODER)),
    "electra": (wordpiece_tokenizer, "ElectraTokenizer", WORDPIECE_TOKENS, AutoModelForMaskedLM, dict(pad_token_id=0, embedding_size=32, type_vocab_size=2, **ENCODER)),
    "distilbert": (wordpiece_tokenizer, "DistilBertTokenizer", WORDPIECE_TOKENS, AutoModelForMaskedLM,
                   dict(pad_token_id=0, dim=64, n_layers=2, n_heads=4, hidden_dim=128, max_position_embeddings=130)),
    "modernbert": (modernbert_tokenizer, "PreTrainedTokenizerFast", WORDPIECE_TOKENS, AutoModelForMaskedLM,
                   dict(pad_token_id=3, bos_token_id=1, eos_token_id=2, cls_token_id=1, sep_token_id=2,
                        hidden_size=64, intermediate_size=128, num_hidden_layers=3, num_attention_heads=4,
                        local_attention=16, global_attn_every_n_layers=3, max_position_embeddings=512)),
    "deberta-v2": (deberta_tokenizer, "DebertaV2Tokenizer", WORDPIECE_TOKENS, AutoModelForMaskedLM,
                   dict(pad_token_id=0, relative_attention=True, pos_att_type="p2c|c2p", position_buckets=256,
                        max_relative_positions=512, norm_rel_ebd="layer_norm", share_att_key=True,
                        position_biased_input=False, type_vocab_size=0, **ENCODER)),
    "mt5": (mt5_tokenizer, "T5Tokenizer", dict(eos_token="</s>", unk_token="<unk>", pad_token="<pad>"),
            AutoModelForSeq2SeqLM,
            dict(d_model=64, d_kv=16, d_ff=128, num_layers=2, num_heads=4, pad_token_id=0, eos_token_id=1,
                 decoder_start_token_id=0, feed_forward_proj="gated-gelu")),
}


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
    make_tokenizer, tokenizer_class, special_tokens, model_class, keys = FAMILIES[args.model_type]
    tok = make_tokenizer(args.data)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, model_max_length=128, **special_tokens)
    torch.manual_seed(0)
    config = AutoConfig.for_model(args.model_type, vocab_size=tok.get_vocab_size(), **keys)
    model_class.from_config(config).save_pretrained(temp)
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
    print(f"wrote {out}: random {args.model_type}, tokenizer of {tok.get_vocab_size()} tokens trained on "
          f"{args.data}")


if __name__ == "__main__":
    main()
