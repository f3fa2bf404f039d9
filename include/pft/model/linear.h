#pragma once
// pft::model::Linear: a drop-in for torch::nn::Linear (same parameters, same state-dict names
// `weight` and `bias`) with one extension point for parameter-efficient methods.
//
// LibTorch modules call their children through C++ members, so swapping a registered child
// with replace_module() would not change what forward() calls. Instead every projection of
// pft's models is this Linear, and a PEFT method attaches a LinearExtension to the ones it
// targets (found by walking named_modules()), registering its own parameters as children of
// the Linear under PEFT's names (`query.lora_A.weight`, ...). The model code never learns
// which methods exist.
//
//   forward(x) = post_k(...post_1(x, linear(pre_k(...pre_1(x)), weight, bias)))
//
// Under autocast a layer with extensions casts its (transformed) input once, and the product
// and the extensions share that copy: post() sees x in the autocast dtype unless a pre()
// changed it.
//
// A layer's inference compute type (float32 by default) lets its few-row products under
// inference mode (decoding) read a bfloat16 or int8 copy of the weight (ReducedWeight,
// pft/model/project.h); a model switches it on for its decoding products with
// set_inference_compute_type(module, type). Training and every other product are unchanged.

#include <torch/torch.h>

#include <memory>

#include <string>
#include <vector>
#include "pft/model/project.h"

namespace pft::model {

/// What a method adds to one linear layer. Both transforms default to identity.
class LinearExtension {
 public:
  virtual ~LinearExtension() = default;
  /// Name for messages and to find/remove the extension ("lora", "ia3", ...).
  virtual std::string name() const = 0;
  /// Transforms the input before the matrix product (IA3 on feed-forward inputs).
  virtual torch::Tensor pre(const torch::Tensor& input) { return input; }
  /// Transforms the output; `input` is the layer's original input (LoRA adds B·A·x to y),
  /// already cast under autocast.
  virtual torch::Tensor post(const torch::Tensor& input, const torch::Tensor& output) {
    (void)input;
    return output;
  }
};

class LinearImpl : public torch::nn::Cloneable<LinearImpl> {
 public:
  LinearImpl(std::int64_t in_features, std::int64_t out_features)
      : LinearImpl(torch::nn::LinearOptions(in_features, out_features)) {}
  explicit LinearImpl(const torch::nn::LinearOptions& options);

  void reset() override;
  void reset_parameters();
  torch::Tensor forward(const torch::Tensor& input);
  void pretty_print(std::ostream& stream) const override;

  /// Attaches `extension`, applied after those already attached.
  void add_extension(std::shared_ptr<LinearExtension> extension);
  /// Detaches every extension called `name`; returns how many were removed.
  std::size_t remove_extensions(const std::string& name);
  const std::vector<std::shared_ptr<LinearExtension>>& extensions() const { return extensions_; }

  /// The weight's type in few-row products under inference mode (ReducedWeight).
  void set_inference_compute_type(ComputeType type) { reduced_.set_type(type); }
  ComputeType inference_compute_type() const { return reduced_.type(); }
  /// The reduced copy of the weight (for tests and inspection).
  const ReducedWeight& reduced_weight() const { return reduced_; }

  torch::nn::LinearOptions options;
  torch::Tensor weight;  // [out_features, in_features]
  torch::Tensor bias;    // [out_features], undefined without bias

 private:
  /// The weight and bias as the product takes them: under autocast, a frozen float32 tensor is
  /// replaced by its copy in the autocast dtype, made once and kept until the tensor changes
  /// (autocast itself keeps copies only of tensors that require gradients, and would cast a
  /// frozen weight again on every forward pass).
  torch::Tensor operand(const torch::Tensor& t, std::size_t slot);

  struct CastCopy {
    torch::Tensor copy;
    const void* source = nullptr;  // the float32 tensor's data, and its version when cast
    std::int64_t version = 0;
  };
  CastCopy cast_[2];  // weight, bias
  ReducedWeight reduced_;
  std::vector<std::shared_ptr<LinearExtension>> extensions_;
};

TORCH_MODULE(Linear);

/// Sets the inference compute type of every Linear in `module` (itself included); returns how
/// many there are. A model calls it on the part that decodes (T5: the decoder stack).
std::size_t set_inference_compute_type(torch::nn::Module& module, ComputeType type);

}  // namespace pft::model
