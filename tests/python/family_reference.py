"""Random checkpoints of model families, their outputs and PEFT adapters, written by live
transformers/peft for pft's family parity test (tests/parity/family_parity_test.cpp).

Usage:
  family_reference.py make OUT MODEL_TYPE...
      For each MODEL_TYPE and each of its configs (CONFIGS, two or more per family):
      OUT/TYPE-N/HEAD/           save_pretrained of transformers' class for each head of the
                                 family (encoders: masked_lm, sequence_classification,
                                 token_classification; encoder-decoders: seq2seq_lm)
      OUT/TYPE-N/outputs.safetensors
                                 input_ids, attention_mask (a right-padded batch, padding =
                                 the config's pad_token_id; encoder-decoders also
                                 decoder_input_ids, decoder_attention_mask); HEAD.logits for
                                 every head; hidden (the encoder's last hidden state) and
                                 hidden.N (every layer's output, embeddings first)
      For config 0 and each PEFT method (METHODS), on the family's first head (the sequence
      classifier of encoders):
      OUT/TYPE-0/peft_METHOD/adapter/   PEFT's save_pretrained, every trainable tensor
                                 perturbed; OUT/TYPE-0/peft_METHOD/logits.safetensors
  family_reference.py load BASE HEAD INPUTS ADAPTER...
      PeftModel.from_pretrained(HEAD's class from BASE, ADAPTER) logits of INPUTS
      -> ADAPTER/../peft.safetensors["logits"]
"""
import os
import sys

import torch
from peft import IA3Config, LoraConfig, PeftModel, PrefixTuningConfig, PromptTuningConfig, TaskType, get_peft_model
from safetensors.torch import load_file, save_file
from transformers import (AutoConfig, AutoModelForMaskedLM, AutoModelForSeq2SeqLM, AutoModelForSequenceClassification,
                          AutoModelForTokenClassification)

CLASSES = {
    "masked_lm": AutoModelForMaskedLM,
    "sequence_classification": AutoModelForSequenceClassification,
    "token_classification": AutoModelForTokenClassification,
    "seq2seq_lm": AutoModelForSeq2SeqLM,
}
ENCODER_HEADS = ["sequence_classification", "token_classification", "masked_lm"]
SEQ2SEQ_HEADS = ["seq2seq_lm"]
TASK_TYPES = {"sequence_classification": TaskType.SEQ_CLS, "seq2seq_lm": TaskType.SEQ_2_SEQ_LM}

_ROBERTA = [
    dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
         max_position_embeddings=40, type_vocab_size=1, pad_token_id=1),
    dict(vocab_size=120, hidden_size=48, num_hidden_layers=3, num_attention_heads=6, intermediate_size=64,
         max_position_embeddings=30, type_vocab_size=2, pad_token_id=3, hidden_act="gelu_new",
         layer_norm_eps=1e-5, tie_word_embeddings=False, classifier_dropout=0.3),
]

_ELECTRA = [
    dict(vocab_size=99, embedding_size=32, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
         intermediate_size=37, max_position_embeddings=40),
    dict(vocab_size=120, embedding_size=16, hidden_size=48, num_hidden_layers=3, num_attention_heads=6,
         intermediate_size=64, max_position_embeddings=30, pad_token_id=3, hidden_act="gelu_new",
         layer_norm_eps=1e-5, tie_word_embeddings=False, classifier_dropout=0.3),
]

_DISTILBERT = [
    dict(vocab_size=99, dim=32, n_layers=2, n_heads=4, hidden_dim=37, max_position_embeddings=40),
    dict(vocab_size=120, dim=48, n_layers=3, n_heads=6, hidden_dim=64, max_position_embeddings=30, pad_token_id=3,
         activation="gelu_new", tie_word_embeddings=False, seq_classif_dropout=0.3, sinusoidal_pos_embds=True),
]

_MODERNBERT = [
    dict(vocab_size=99, hidden_size=32, intermediate_size=40, num_hidden_layers=3, num_attention_heads=4,
         local_attention=4, global_attn_every_n_layers=2, pad_token_id=0, max_position_embeddings=64),
    dict(vocab_size=120, hidden_size=48, intermediate_size=64, num_hidden_layers=4, num_attention_heads=6,
         local_attention=6, global_attn_every_n_layers=3, pad_token_id=3, max_position_embeddings=64,
         norm_bias=True, attention_bias=True, mlp_bias=True, classifier_bias=True, classifier_pooling="mean",
         hidden_activation="gelu_new", tie_word_embeddings=False, decoder_bias=False, global_rope_theta=1000.0,
         local_rope_theta=500.0),
]

# DeBERTa: v3's layout (log buckets, shared keys, c2p and p2c, no absolute positions, the
# relative embeddings normed); v2-xlarge's (c2p only by its own pos_key_proj, a window of
# relative positions shorter than the batch's sequences, a convolution after the first layer,
# token types, an embedding projection, an untied legacy masked-LM head); and p2c only with
# pos_query_proj, few buckets and the non-legacy masked-LM head.
_DEBERTA_V2 = [
    dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
         max_position_embeddings=40, relative_attention=True, pos_att_type="p2c|c2p", position_buckets=8,
         max_relative_positions=20, norm_rel_ebd="layer_norm", share_att_key=True, position_biased_input=False,
         type_vocab_size=0, pad_token_id=0),
    dict(vocab_size=120, hidden_size=48, num_hidden_layers=3, num_attention_heads=6, intermediate_size=64,
         max_position_embeddings=30, relative_attention=True, pos_att_type=["c2p"], max_relative_positions=6,
         conv_kernel_size=3, conv_act="gelu", type_vocab_size=2, embedding_size=24, hidden_act="gelu_new",
         tie_word_embeddings=False, cls_dropout=0.2, pad_token_id=3, layer_norm_eps=1e-5),
    dict(vocab_size=80, hidden_size=24, num_hidden_layers=2, num_attention_heads=3, intermediate_size=30,
         max_position_embeddings=32, relative_attention=True, pos_att_type=["p2c"], position_buckets=4,
         max_relative_positions=12, conv_kernel_size=3, conv_groups=2, legacy=False, pad_token_id=1),
]

_MT5 = [
    dict(vocab_size=99, d_model=32, d_kv=8, d_ff=48, num_layers=2, num_heads=4, relative_attention_num_buckets=8,
         relative_attention_max_distance=16, feed_forward_proj="gated-gelu", tie_word_embeddings=False,
         decoder_start_token_id=0, eos_token_id=1, pad_token_id=0),
    dict(vocab_size=80, d_model=24, d_kv=6, d_ff=40, num_layers=2, num_decoder_layers=3, num_heads=3,
         relative_attention_num_buckets=6, relative_attention_max_distance=12, feed_forward_proj="gated-silu",
         tie_word_embeddings=True, decoder_start_token_id=0, eos_token_id=1, pad_token_id=0),
]

# UMT5: mT5 with a relative position bias in every block of both stacks (transformers ties
# the output projection to the embeddings and scales by d_model^-0.5, whatever the config says).
_UMT5 = [
    dict(vocab_size=99, d_model=32, d_kv=8, d_ff=48, num_layers=2, num_heads=4, relative_attention_num_buckets=8,
         relative_attention_max_distance=16, feed_forward_proj="gated-gelu", decoder_start_token_id=0,
         eos_token_id=1, pad_token_id=0),
    dict(vocab_size=80, d_model=24, d_kv=6, d_ff=40, num_layers=3, num_decoder_layers=2, num_heads=3,
         relative_attention_num_buckets=6, relative_attention_max_distance=12, feed_forward_proj="relu",
         decoder_start_token_id=0, eos_token_id=1, pad_token_id=0),
]

# model_type -> (heads, configs in transformers' keys); each config switches on different
# features.
CONFIGS = {
    "roberta": (ENCODER_HEADS, _ROBERTA),
    "xlm-roberta": (ENCODER_HEADS, _ROBERTA),
    "electra": (ENCODER_HEADS, _ELECTRA),
    "distilbert": (ENCODER_HEADS, _DISTILBERT),
    "modernbert": (ENCODER_HEADS, _MODERNBERT),
    "deberta-v2": (ENCODER_HEADS, _DEBERTA_V2),
    "mt5": (SEQ2SEQ_HEADS, _MT5),
    "umt5": (SEQ2SEQ_HEADS, _UMT5),
}

# PEFT's own default targets where it has them; where it has none (IA3 on xlm-roberta and
# electra), the targets pft defaults to for that family, given explicitly.
_BERT_IA3 = dict(target_modules=["key", "value", "output.dense"], feedforward_modules=["output.dense"])
IA3_TARGETS = {"xlm-roberta": _BERT_IA3, "electra": _BERT_IA3,
              "distilbert": dict(target_modules=["k_lin", "v_lin", "lin2"], feedforward_modules=["lin2"]),
              "modernbert": dict(target_modules=["Wqkv", "mlp.Wo"], feedforward_modules=["mlp.Wo"]),
              "umt5": dict(target_modules=["k", "v", "wi_1"], feedforward_modules=[])}
# PEFT has no LoRA default for distilbert, modernbert and umt5 either; pft's.
LORA_TARGETS = {"distilbert": dict(target_modules=["q_lin", "v_lin"]), "modernbert": dict(target_modules=["Wqkv"]),
                "umt5": dict(target_modules=["q", "v"])}
# transformers' DistilBERT, ModernBERT and DeBERTa take no cached keys/values: PEFT's prefix
# tuning cannot run on them.
NO_PREFIX = {"distilbert", "modernbert", "deberta-v2"}

def prompt_keys(t, config):
    """PEFT reads token_dim, num_layers and num_attention_heads from hidden_size & co. in the
    config's dict; DistilBERT's keys (dim, n_layers, n_heads) are not there, so they are given."""
    if t != "distilbert":
        return {}
    return dict(token_dim=config.dim, num_layers=config.n_layers, num_attention_heads=config.n_heads)


METHODS = {
    "lora": lambda t, task, c: LoraConfig(task_type=task, r=4, lora_alpha=8, **LORA_TARGETS.get(t, {})),
    "prefix_tuning": lambda t, task, c: PrefixTuningConfig(task_type=task, num_virtual_tokens=5),
    "prompt_tuning": lambda t, task, c: PromptTuningConfig(task_type=task, num_virtual_tokens=5,
                                                           **prompt_keys(t, c)),
    "ia3": lambda t, task, c: IA3Config(task_type=task, **IA3_TARGETS.get(t, {})),
}


def padded(gen, lengths, vocab, pad):
    """Rows of random ids, right-padded with `pad`; no real id is `pad`."""
    ids = torch.full((len(lengths), max(lengths)), pad, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for row, length in enumerate(lengths):
        real = torch.randint(0, vocab, (length,), generator=gen)
        real[real == pad] = (pad + 1) % vocab
        ids[row, :length] = real
        mask[row, :length] = 1
    return ids, mask


def batch(config, seq2seq):
    gen = torch.Generator().manual_seed(7)
    pad = config.pad_token_id if config.pad_token_id is not None else 0
    ids, mask = padded(gen, [9, 5, 2], config.vocab_size, pad)
    out = {"input_ids": ids, "attention_mask": mask}
    if seq2seq:
        dec, dec_mask = padded(gen, [4, 6, 2], config.vocab_size, pad)
        dec[:, 0] = config.decoder_start_token_id
        out.update(decoder_input_ids=dec, decoder_attention_mask=dec_mask)
    return out


def perturb(model, seed):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, p in sorted(model.named_parameters()):
            if p.requires_grad:
                p.add_(torch.randn(p.shape, generator=gen) * 0.5)


def make(out, model_type, heads, index, values):
    folder = os.path.join(out, f"{model_type}-{index}")
    outputs = {}
    inputs = None
    for head in heads:
        torch.manual_seed(index)
        config = AutoConfig.for_model(model_type, **values)
        if head in ("sequence_classification", "token_classification"):
            config.num_labels = 3
        model = CLASSES[head].from_config(config).eval()
        model.save_pretrained(os.path.join(folder, head))
        if inputs is None:
            inputs = batch(config, head == "seq2seq_lm")
            outputs.update(inputs)
        with torch.no_grad():
            outputs[f"{head}.logits"] = model(**inputs).logits
            if head in ("masked_lm", "seq2seq_lm"):
                if head == "seq2seq_lm":
                    states = model.get_encoder()(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"],
                                                 output_hidden_states=True).hidden_states
                else:
                    base = getattr(model, model.base_model_prefix)
                    states = base(**inputs, output_hidden_states=True).hidden_states
                outputs["hidden"] = states[-1].clone()
                for n, h in enumerate(states):
                    outputs[f"hidden.{n}"] = h
    save_file({k: v.contiguous() for k, v in outputs.items()}, os.path.join(folder, "outputs.safetensors"))
    if index != 0:
        return
    head = heads[0]
    base = os.path.join(folder, head)
    for i, (name, method) in enumerate(METHODS.items()):
        if name == "prefix_tuning" and model_type in NO_PREFIX:
            continue
        torch.manual_seed(100 + i)
        model = CLASSES[head].from_pretrained(base)
        model = get_peft_model(model, method(model_type, TASK_TYPES[head], model.config))
        perturb(model, 200 + i)
        model.eval()
        case = os.path.join(folder, f"peft_{name}")
        model.save_pretrained(os.path.join(case, "adapter"))
        with torch.no_grad():
            logits = model(**inputs).logits
        save_file({"logits": logits.contiguous()}, os.path.join(case, "logits.safetensors"))


def load(base, head, inputs_file, adapters):
    names = ["input_ids", "attention_mask"]
    if head == "seq2seq_lm":
        names += ["decoder_input_ids", "decoder_attention_mask"]
    inputs = load_file(inputs_file)
    inputs = {k: inputs[k] for k in names}
    for adapter in adapters:
        model = PeftModel.from_pretrained(CLASSES[head].from_pretrained(base), adapter).eval()
        with torch.no_grad():
            logits = model(**inputs).logits
        save_file({"logits": logits.contiguous()}, os.path.join(os.path.dirname(adapter), "peft.safetensors"))


def main():
    mode = sys.argv[1]
    if mode == "make":
        out = sys.argv[2]
        for model_type in sys.argv[3:]:
            heads, configs = CONFIGS[model_type]
            for index, values in enumerate(configs):
                make(out, model_type, heads, index, values)
    elif mode == "load":
        load(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:])
    else:
        sys.exit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main()
