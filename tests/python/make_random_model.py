"""Random checkpoints of a model family written by transformers, for the registry tests.

Usage: make_random_model.py CONFIG_JSON OUT_DIR HEAD [HEAD ...]

CONFIG_JSON is a config.json (model_type included: a family's example config). For each HEAD
(pft's head names: sequence_classification, token_classification, masked_lm, seq2seq_lm),
writes OUT_DIR/HEAD/ with config.json and model.safetensors of transformers' model class for
that head, initialised by transformers from a fixed seed (classification heads with 3 labels).
"""

import json
import os
import sys

import torch
from transformers import (AutoConfig, AutoModelForMaskedLM, AutoModelForSeq2SeqLM,
                          AutoModelForSequenceClassification, AutoModelForTokenClassification)

CLASSES = {
    "sequence_classification": AutoModelForSequenceClassification,
    "token_classification": AutoModelForTokenClassification,
    "masked_lm": AutoModelForMaskedLM,
    "seq2seq_lm": AutoModelForSeq2SeqLM,
}


def main():
    config_file, out_dir, heads = sys.argv[1], sys.argv[2], sys.argv[3:]
    values = json.load(open(config_file))
    model_type = values.pop("model_type")
    for head in heads:
        torch.manual_seed(0)
        config = AutoConfig.for_model(model_type, **values)
        if head in ("sequence_classification", "token_classification"):
            config.num_labels = 3
        model = CLASSES[head].from_config(config)
        model.save_pretrained(os.path.join(out_dir, head))


if __name__ == "__main__":
    main()
