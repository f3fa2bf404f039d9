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
// The same kernel takes a weight in a reduced compute type (ReducedWeight): bfloat16, or int8
// with one float32 scale per output channel (weight-only quantization). Decoding reads every
// weight of the decoder once per token, so a copy in 2 or 1 bytes per element instead of 4 is
// read 2 or 4 times faster; the activations and the sums stay float32, and each weight
// element is widened to float32 exactly as stored before it is multiplied.
//
// The rule autocast applies to the operands of a product is here too (autocast_dtype_for,
// autocast_operand), for code that casts an operand once for several products.

#include <torch/torch.h>

#include <optional>
#include <string>
#include <vector>

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

/// How the few-row kernel stores a weight: as it is (float32), in bfloat16, or in int8 with a
/// float32 scale per output channel.
enum class ComputeType { Float32, BFloat16, Int8 };

/// "float32", "bfloat16" or "int8".
std::string compute_type_name(ComputeType type);

/// Resolves a `generate.compute_type` value for decoding on `device`: "float32", "bfloat16",
/// "int8", or "auto", which is int8 on a CPU (decoding a token there is bound by the bytes of
/// weight read, and int8 reads a quarter of float32's) and float32 on other devices (the
/// reduced kernels are CPU kernels). Anything else is a pft::Error (Config).
ComputeType resolve_compute_type(const std::string& name, const torch::Device& device);

/// A float32 [out, in] weight's copy in a reduced compute type, for the few-row kernel, with
/// the type it is used in. The copy is made on the first product that uses it and remade only
/// when the weight changes (in place, or replaced by another tensor) or the type does, so a
/// decoding run quantizes each weight once. It is used only where project() would run the
/// few-row kernel (inference mode, no autocast, at most kMaxFewRows rows, float32 CPU
/// tensors), and for bfloat16 on a CUDA device under inference mode without autocast (cuBLAS's
/// bf16 product, any number of rows; int8 has no CUDA kernel and stays float32 there); every
/// other product, training included, takes the float32 weight as before.
class ReducedWeight {
 public:
  ComputeType type() const { return type_; }
  /// Float32 turns the copy off (it is kept, for a later switch back).
  void set_type(ComputeType type) { type_ = type; }

  /// project(x, weight, bias), through the copy of `weight` when type() is reduced and the
  /// few-row kernel applies.
  torch::Tensor project(const torch::Tensor& x, const torch::Tensor& weight,
                        const torch::Tensor& bias = {});

  /// The copy as last made: [out, in] bfloat16 or int8 (undefined before the first use).
  const torch::Tensor& data() const { return data_; }
  /// int8 only: [out] float32, weight[r] ≈ data[r] * scale[r] (scale = max |weight[r]| / 127).
  const torch::Tensor& scale() const { return scale_; }

 private:
  void refresh(const torch::Tensor& weight);

  ComputeType type_ = ComputeType::Float32;
  torch::Tensor data_, scale_;
  ComputeType made_ = ComputeType::Float32;  // the type data_ holds
  const void* source_ = nullptr;             // the weight's data and version when made
  std::int64_t version_ = -1;
  std::vector<std::int64_t> sizes_;
};

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
