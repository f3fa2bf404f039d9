#pragma once
// The two narrow hook points every model exposes to PEFT methods (ARCHITECTURE.md):
// `embed(input_ids)` (prompt tuning prepends virtual-token embeddings to its result) and
// per-layer key/value prefixes passed to `forward` (prefix tuning).

#include <torch/torch.h>

#include <vector>

namespace pft::model {

/// Key and value prefixes of one attention layer, each [batch, heads, prefix_len, head_dim].
/// Undefined tensors mean "no prefix for this layer".
struct LayerPrefix {
  torch::Tensor key;
  torch::Tensor value;
};

/// One entry per layer of a stack (encoder, or decoder self-attention). The attention mask
/// is extended by the model to cover the prefix positions (always attended).
struct LayerPrefixes {
  std::vector<LayerPrefix> layers;
};

}  // namespace pft::model
