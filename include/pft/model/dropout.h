#pragma once
// Dropout on the CPU with masks from a counter-based hash instead of a stream of Bernoulli
// draws. Each call takes one 64-bit key from the default CPU generator; element i is kept when
// hash(key, i) clears the threshold. Nothing is stored for the backward pass: it rebuilds the
// same mask from the key. One pass over the data in each direction, vectorised and spread
// over the intra-op threads, where torch::dropout fills a noise tensor element by element,
// multiplies by it and keeps it until the backward pass.
//
// Seeded runs stay reproducible: the keys come from the generator whose state is seeded and
// saved in checkpoints, and gradient checkpointing, which restores that state before it
// recomputes a block, draws the same masks. The masks differ from torch::dropout's for the
// same seed. CUDA tensors take torch::dropout.

#include <torch/torch.h>

#include <cstdint>

namespace pft::model {

/// In training: zeros each element with probability p and scales the rest by 1/(1-p);
/// otherwise (or p == 0) returns x. p must be in [0, 1].
torch::Tensor dropout(const torch::Tensor& x, double p, bool training);

/// The mask function itself, for tests: x with element i (in row-major order) zeroed when
/// hash(key, i) falls under p's threshold and the rest scaled by 1/(1-p). No autograd.
torch::Tensor hashed_dropout_kernel(const torch::Tensor& x, double p, std::uint64_t key);

/// softmax(scores) followed by dropout with probability p, as one autograd node that keeps
/// only the softmax output for the backward pass (the mask is rebuilt from its key).
torch::Tensor softmax_dropout(const torch::Tensor& scores, double p, bool training);

/// The most negative finite value of a floating dtype: what masked attention scores are set
/// to (transformers' finfo(dtype).min), finite so that a fully masked row gives no NaN.
double masked_score(torch::Dtype dtype);

/// Scaled dot-product attention. In training with attention dropout on the CPU: scores,
/// softmax and hashed dropout, then the weighted sum (PyTorch's math path, with the faster
/// dropout); otherwise at::scaled_dot_product_attention. `mask`: boolean (true attends) or
/// additive float, broadcast to [batch, heads, q_len, k_len], or undefined.
torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& mask, double dropout_p, double scale);

}  // namespace pft::model
