"""Prompt-learning adapters (prefix tuning, prompt tuning, p-tuning) made and read by live
Hugging Face PEFT, for pft's parity tests.

Usage:
  prompt_learning_reference.py make OUT_DIR VOCAB_TXT
      OUT_DIR/bert/                tiny random BertForSequenceClassification (+ vocab.txt)
      OUT_DIR/t5/                  tiny random T5ForConditionalGeneration
      OUT_DIR/t5_batch.safetensors a padded teacher-forcing batch: input_ids, attention_mask,
                                   decoder_input_ids, decoder_attention_mask
      OUT_DIR/texts.json           the BERT texts
      OUT_DIR/cases.json           the case names per model
      OUT_DIR/{bert,t5}_CASE/adapter/   PEFT's save_pretrained of a model whose prompt encoder
                                   (and classifier) were perturbed with random noise
      OUT_DIR/bert_CASE/logits.json, OUT_DIR/t5_CASE/logits.safetensors   PEFT's outputs
      OUT_DIR/bert_prompt_text/initial.safetensors  the TEXT-initialised prompt (unperturbed)
  prompt_learning_reference.py load-bert BASE ADAPTER...
      PeftModel.from_pretrained(BERT, ADAPTER) logits of TEXTS[:2] -> ADAPTER/hf.json
  prompt_learning_reference.py load-t5 BASE BATCH ADAPTER...
      PeftModel.from_pretrained(T5, ADAPTER) teacher-forced logits of BATCH
      -> ADAPTER/hf.safetensors["logits"]
  prompt_learning_reference.py full-t5 BASE BATCH ADAPTER...
      -> ADAPTER/ref.safetensors["logits"]: logits of pft's `full` prefix placement computed
      with transformers' T5 blocks: encoder
      blocks run with the encoder prefixes as cached past keys/values (bidirectional
      buckets), the decoder with its self-attention prefixes in the cache and its
      cross-attention keys/values prefilled as [prefix | projected encoder output].
"""
import json
import os
import shutil
import sys

import torch
from peft import (PeftModel, PrefixTuningConfig, PromptEncoderConfig, PromptTuningConfig, TaskType,
                  get_peft_model)
from safetensors.torch import load_file, save_file
from transformers import (BertConfig, BertForSequenceClassification, BertTokenizerFast, T5Config,
                          T5ForConditionalGeneration)
from transformers.cache_utils import DynamicCache, EncoderDecoderCache

TEXTS = ["a gorgeous , witty , seductive movie .", "the plot is nothing but boilerplate clichés",
         "fine", "an utterly charming and hilarious film that reminded me of why i love the movies"]
NVT = 5


def cases(task):
    def prefix(**kw):
        return PrefixTuningConfig(task_type=task, num_virtual_tokens=NVT, **kw)

    return {
        "prefix": prefix(),
        "prefix_proj": prefix(prefix_projection=True, encoder_hidden_size=24),
        "prompt": PromptTuningConfig(task_type=task, num_virtual_tokens=NVT),
        "ptuning_mlp": PromptEncoderConfig(task_type=task, num_virtual_tokens=NVT, encoder_hidden_size=20),
        "ptuning_lstm": PromptEncoderConfig(task_type=task, num_virtual_tokens=NVT, encoder_hidden_size=12,
                                            encoder_reparameterization_type="LSTM", encoder_num_layers=2),
    }


def perturb(model, seed):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, p in sorted(model.named_parameters()):
            if p.requires_grad:
                p.add_(torch.randn(p.shape, generator=gen) * 0.5)


def make_cases(out, prefix, task, load, seed, write):
    """For every case: a PEFT model on a fresh base, every trainable tensor perturbed, saved to
    OUT/PREFIX_CASE/adapter; write(model, case_dir) stores its outputs."""
    names = []
    for i, (name, config) in enumerate(cases(task).items()):
        torch.manual_seed(seed + i)
        model = get_peft_model(load(), config)
        perturb(model, seed + 100 + i)
        model.eval()
        case = os.path.join(out, f"{prefix}_{name}")
        model.save_pretrained(os.path.join(case, "adapter"))
        write(model, case)
        names.append(name)
    return names


def make_bert(out, vocab):
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                     intermediate_size=64, max_position_embeddings=128, num_labels=2,
                     id2label={0: "negative", 1: "positive"}, label2id={"negative": 0, "positive": 1})
    base = os.path.join(out, "bert")
    BertForSequenceClassification(cfg).save_pretrained(base)
    shutil.copy(vocab, os.path.join(base, "vocab.txt"))
    tok = BertTokenizerFast(os.path.join(base, "vocab.txt"))
    enc = tok(TEXTS, padding=True, return_tensors="pt")

    def write(model, case):
        with torch.no_grad():
            logits = model(**enc).logits
        with open(os.path.join(case, "logits.json"), "w") as f:
            json.dump({"texts": TEXTS, "logits": logits.tolist()}, f)

    names = make_cases(out, "bert", TaskType.SEQ_CLS, lambda: BertForSequenceClassification.from_pretrained(base),
                       100, write)
    # TEXT initialisation: the prompt as PEFT initialises it (tokenizer from the model folder).
    tok.save_pretrained(base)
    model = BertForSequenceClassification.from_pretrained(base)
    config = PromptTuningConfig(task_type=TaskType.SEQ_CLS, num_virtual_tokens=7, prompt_tuning_init="TEXT",
                                prompt_tuning_init_text="great movie", tokenizer_name_or_path=base)
    model = get_peft_model(model, config)
    case = os.path.join(out, "bert_prompt_text")
    os.makedirs(case, exist_ok=True)
    save_file({"prompt_embeddings": model.get_prompt_embedding_to_save("default").contiguous()},
              os.path.join(case, "initial.safetensors"))
    return names


def t5_model(out):
    torch.manual_seed(1)
    config = T5Config(d_model=32, d_kv=8, num_heads=4, d_ff=48, num_layers=2, num_decoder_layers=2,
                      vocab_size=64, relative_attention_num_buckets=8, relative_attention_max_distance=16,
                      feed_forward_proj="relu", dropout_rate=0.1, decoder_start_token_id=0, eos_token_id=1,
                      pad_token_id=0)
    base = os.path.join(out, "t5")
    T5ForConditionalGeneration(config).save_pretrained(base)
    return base


def t5_batch():
    gen = torch.Generator().manual_seed(5)
    rows, vocab = 3, 64
    ids = torch.zeros(rows, 7, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for r, length in enumerate([7, 4, 2]):
        ids[r, :length - 1] = torch.randint(2, vocab, (length - 1,), generator=gen)
        ids[r, length - 1] = 1
        mask[r, :length] = 1
    dec = torch.zeros(rows, 5, dtype=torch.long)
    dec_mask = torch.zeros_like(dec)
    for r, length in enumerate([5, 3, 4]):
        dec[r, 1:length] = torch.randint(2, vocab, (length - 1,), generator=gen)
        dec_mask[r, :length] = 1
    return {"input_ids": ids, "attention_mask": mask, "decoder_input_ids": dec, "decoder_attention_mask": dec_mask}


def t5_logits(model, batch):
    with torch.no_grad():
        return model(**batch).logits


def make_t5(out):
    base = t5_model(out)
    batch = t5_batch()
    save_file(batch, os.path.join(out, "t5_batch.safetensors"))

    def write(model, case):
        save_file({"logits": t5_logits(model, batch).contiguous()}, os.path.join(case, "logits.safetensors"))

    return make_cases(out, "t5", TaskType.SEQ_2_SEQ_LM, lambda: T5ForConditionalGeneration.from_pretrained(base),
                      300, write)


def load_bert(base, adapters):
    tok = BertTokenizerFast.from_pretrained(base)
    enc = tok(TEXTS[:2], padding=True, return_tensors="pt")
    for adapter in adapters:
        model = PeftModel.from_pretrained(BertForSequenceClassification.from_pretrained(base), adapter).eval()
        with torch.no_grad():
            logits = model(**enc).logits
        with open(os.path.join(adapter, "hf.json"), "w") as f:
            json.dump({"texts": TEXTS[:2], "logits": logits.tolist()}, f)


def load_t5(base, batch_path, adapters):
    batch = load_file(batch_path)
    for adapter in adapters:
        model = PeftModel.from_pretrained(T5ForConditionalGeneration.from_pretrained(base), adapter).eval()
        save_file({"logits": t5_logits(model, batch).contiguous()}, os.path.join(adapter, "hf.safetensors"))


def cache_of(pairs):
    cache = DynamicCache()
    for layer, (key, value) in enumerate(pairs):
        cache.update(key.clone(), value.clone(), layer)
    return cache


def full_t5(base, batch_path, adapter):
    model = T5ForConditionalGeneration.from_pretrained(base).eval()
    c = model.config
    batch = load_file(batch_path)
    prompt = load_file(os.path.join(adapter, "adapter_model.safetensors"))["prompt_embeddings"]
    with open(os.path.join(adapter, "adapter_config.json")) as f:
        assert json.load(f)["prefix_placement"] == "full"
    ids, mask = batch["input_ids"], batch["attention_mask"]
    rows, length = ids.shape
    n = prompt.shape[0]
    entries = prompt.view(n, -1, c.num_heads, c.d_kv).permute(1, 2, 0, 3)  # [E, heads, n, d_kv]

    def pairs(first, layers):
        return [(entries[first + 2 * i].expand(rows, -1, -1, -1), entries[first + 2 * i + 1].expand(rows, -1, -1, -1))
                for i in range(layers)]

    enc = pairs(0, c.num_layers)
    dec = pairs(2 * c.num_layers, c.num_decoder_layers)
    cross = pairs(2 * (c.num_layers + c.num_decoder_layers), c.num_decoder_layers)
    with torch.no_grad():
        encoder = model.encoder
        ext = torch.cat([torch.ones(rows, n, dtype=torch.long), mask], dim=1).bool()
        mask4 = ext[:, None, None, :].expand(rows, 1, length, n + length)
        hidden = encoder.embed_tokens(ids)
        cache = cache_of(enc)
        bias = None
        for block in encoder.block:
            hidden, bias, _ = block(hidden, mask4, bias, past_key_values=cache)
        hidden = encoder.final_layer_norm(hidden)
        cross_pairs = []
        for i, block in enumerate(model.decoder.block):
            att = block.layer[1].EncDecAttention
            k = att.k(hidden).view(rows, -1, c.num_heads, c.d_kv).transpose(1, 2)
            v = att.v(hidden).view(rows, -1, c.num_heads, c.d_kv).transpose(1, 2)
            cross_pairs.append((torch.cat([cross[i][0], k], 2), torch.cat([cross[i][1], v], 2)))
        past = EncoderDecoderCache(cache_of(dec), cache_of(cross_pairs))
        for key in past.is_updated:
            past.is_updated[key] = True
        dec_mask = batch["decoder_attention_mask"]
        logits = model(encoder_outputs=(hidden,), attention_mask=ext.long(),
                       decoder_input_ids=batch["decoder_input_ids"],
                       decoder_attention_mask=torch.cat([torch.ones(rows, n, dtype=torch.long), dec_mask], 1),
                       past_key_values=past, use_cache=True).logits
    save_file({"logits": logits.contiguous()}, os.path.join(adapter, "ref.safetensors"))


def main():
    mode = sys.argv[1]
    if mode == "make":
        out, vocab = sys.argv[2:4]
        os.makedirs(out, exist_ok=True)
        names = {"bert": make_bert(out, vocab), "t5": make_t5(out)}
        with open(os.path.join(out, "cases.json"), "w") as f:
            json.dump(names, f)
        with open(os.path.join(out, "texts.json"), "w") as f:
            json.dump(TEXTS, f)
    elif mode == "load-bert":
        load_bert(sys.argv[2], sys.argv[3:])
    elif mode == "load-t5":
        load_t5(sys.argv[2], sys.argv[3], sys.argv[4:])
    elif mode == "full-t5":
        for adapter in sys.argv[4:]:
            full_t5(sys.argv[2], sys.argv[3], adapter)
    else:
        sys.exit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main()
