#pragma once
// Gradient checkpointing (activation recomputation): run a block without keeping its
// intermediate activations, and recompute them during the backward pass. Memory for
// activations drops from every layer's to one layer's at a time, for about one more forward
// pass of compute. As PyTorch's reentrant torch.utils.checkpoint: the block's own parameters
// receive their gradients from a nested backward, the generator state is restored so that
// dropout draws the same masks, and autocast is replayed as it was during the forward.

#include <torch/torch.h>

#include <functional>
#include <vector>

namespace pft::model {

using CheckpointedFn = std::function<torch::Tensor(const std::vector<torch::Tensor>&)>;

/// Returns fn(inputs) computed without a graph inside `fn`; gradients flow to the defined
/// `inputs` that require them and to every parameter `fn` uses. `fn` must be deterministic
/// given the generator state and must not keep tensors from one call to the next.
torch::Tensor checkpoint(CheckpointedFn fn, const std::vector<torch::Tensor>& inputs);

}  // namespace pft::model
