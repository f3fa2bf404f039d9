#pragma once
// pft::model::project: y = x·weightᵀ + bias, what at::linear computes, with a kernel of its
// own for inference on few rows.
//
// Decoding one token at a time multiplies 1-64 rows by every weight matrix of the decoder and
// by the output embedding. LibTorch's CPU BLAS (MKL) is slow at that shape: for one row it
// takes a matrix-vector path that reads the [out, in] weight at a third of the memory
// bandwidth, and for 2-64 rows it copies (packs) the whole weight before every product, which
// costs as much as the product. The kernel here reads each weight row once, straight from
// memory, and dots it with all input rows (blocks of 16 vector accumulators, AVX-512 or AVX2
// picked at run time), the output columns split over the intra-op threads.
//
// It is used only under c10::InferenceMode (generation), for float32 CPU tensors, without
// autocast, and for at most kMaxFewRows rows; every other call is at::linear. Training, and
// the no-grad passes that gradient checkpointing recomputes, therefore see the same bits as
// before. Each output element sums in the same order whatever the number of rows and
// threads, so a row's result does not depend on what it is batched with.
//
// The rule autocast applies to the operands of a product is here too (autocast_dtype_for,
// autocast_operand), for code that casts an operand once for several products.

#include <torch/torch.h>

#include <optional>

namespace pft::model {

/// The most rows (product of the input's leading dimensions) the few-row kernel takes.
inline constexpr std::int64_t kMaxFewRows = 64;

/// True when project(x, weight, bias) runs the few-row kernel.
bool uses_few_row_kernel(const torch::Tensor& x, const torch::Tensor& weight,
                         const torch::Tensor& bias);

/// at::linear(x, weight, bias) (bias may be undefined), through the few-row kernel where
/// uses_few_row_kernel() says so.
torch::Tensor project(const torch::Tensor& x, const torch::Tensor& weight,
                      const torch::Tensor& bias = {});

/// The dtype autocast casts `x` to for a matrix product: the autocast dtype of x's device when
/// autocast is on there and x is float32; nullopt otherwise.
std::optional<at::ScalarType> autocast_dtype_for(const torch::Tensor& x);

/// `x` as autocast would hand it to a matrix product: cast to autocast_dtype_for(x) if there
/// is one, else x itself. Model code applies it once to an activation that feeds several
/// products (query, key and value; their LoRA A), which autocast would otherwise cast once
/// per product, and whose gradients would each be cast back to float32 before being summed;
/// after it they are summed in the autocast dtype and cast back once.
torch::Tensor autocast_operand(const torch::Tensor& x);

}  // namespace pft::model
