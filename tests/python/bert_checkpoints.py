"""One tiny random BertModel (fixed seed) saved every way a Hugging Face folder holds weights.

    bert_checkpoints.py OUT

OUT/single/     save_pretrained: config.json + model.safetensors
OUT/sharded/    save_pretrained(max_shard_size="20KB"): model.safetensors.index.json + shards
OUT/bin/        pytorch_model.bin as transformers 4 wrote it with safe_serialization=False:
                torch.save of a plain dict of contiguous tensors (transformers 5 no longer
                writes .bin files)
OUT/bin-sharded/ pytorch_model-0000k-of-0000n.bin + pytorch_model.bin.index.json, as
                transformers 4 wrote them
OUT/bin-ordered/ torch.save(model.state_dict()): an OrderedDict with _metadata, as very old
                transformers wrote it (LibTorch's unpickler cannot read this variant)
OUT/legacy/     model.safetensors with LayerNorm.gamma/beta names and a "bert." prefix, as
                old TensorFlow-converted checkpoints had
OUT/reference.safetensors  model.state_dict() (the values every folder must give)
"""

import json
import os
import sys

import torch
from safetensors.torch import save_file
from transformers import BertConfig, BertModel


def main(out):
    config = BertConfig(vocab_size=99, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=4, intermediate_size=37,
                        max_position_embeddings=64, type_vocab_size=2)
    torch.manual_seed(0)
    model = BertModel(config).eval()
    state = {k: v.contiguous() for k, v in model.state_dict().items()}

    model.save_pretrained(f"{out}/single")
    model.save_pretrained(f"{out}/sharded", max_shard_size="20KB")

    os.makedirs(f"{out}/bin", exist_ok=True)
    config.save_pretrained(f"{out}/bin")
    torch.save(dict(state), f"{out}/bin/pytorch_model.bin")
    os.makedirs(f"{out}/bin-ordered", exist_ok=True)
    torch.save(model.state_dict(), f"{out}/bin-ordered/pytorch_model.bin")

    # Shards of at most ~20 KB each, named and indexed as transformers 4 did.
    shards, current, size = [], {}, 0
    for name, tensor in state.items():
        nbytes = tensor.numel() * tensor.element_size()
        if current and size + nbytes > 20_000:
            shards.append(current)
            current, size = {}, 0
        current[name] = tensor
        size += nbytes
    shards.append(current)
    os.makedirs(f"{out}/bin-sharded", exist_ok=True)
    config.save_pretrained(f"{out}/bin-sharded")
    weight_map = {}
    for i, shard in enumerate(shards):
        file = f"pytorch_model-{i + 1:05d}-of-{len(shards):05d}.bin"
        torch.save(shard, f"{out}/bin-sharded/{file}")
        weight_map.update({name: file for name in shard})
    with open(f"{out}/bin-sharded/pytorch_model.bin.index.json", "w") as f:
        json.dump({"metadata": {"total_size": sum(t.numel() * t.element_size()
                                                  for t in state.values())},
                   "weight_map": weight_map}, f, indent=2)

    legacy = {}
    for name, tensor in state.items():
        name = name.replace("LayerNorm.weight", "LayerNorm.gamma")
        name = name.replace("LayerNorm.bias", "LayerNorm.beta")
        legacy["bert." + name] = tensor
    legacy["cls.predictions.bias"] = torch.zeros(config.vocab_size)
    os.makedirs(f"{out}/legacy", exist_ok=True)
    config.save_pretrained(f"{out}/legacy")
    save_file(legacy, f"{out}/legacy/model.safetensors", metadata={"format": "pt"})

    save_file(state, f"{out}/reference.safetensors", metadata={"format": "pt"})
    print(json.dumps({"tensors": len(state), "bin_shards": len(shards),
                      "safetensors_shards": len([f for f in os.listdir(f"{out}/sharded")
                                                 if f.endswith(".safetensors")])}))


if __name__ == "__main__":
    main(sys.argv[1])
