#pragma once
// How models call their Linear layers so that module surgery takes effect.
//
// PEFT methods such as LoRA or IA3 swap a model's Linear child for a wrapper with
// `Module::replace_module(name, wrapper)`. That updates the module's registry, not the typed
// member (`query`, `dense`, ...) a model keeps for convenience, so the models never call
// those members directly: they call forward_linear(*this, "query", x), which looks the child
// up by name at every call and runs whatever is registered there now.

#include <torch/torch.h>

#include <string>

namespace pft::model {

/// What module surgery may register in place of a torch::nn::Linear: a torch::nn::Module
/// that also derives from this interface (e.g. a LoRA layer holding the original Linear).
class LinearReplacement {
 public:
  virtual ~LinearReplacement() = default;
  /// [..., in_features] -> [..., out_features]
  virtual torch::Tensor forward(const torch::Tensor& input) = 0;
};

/// The same computation as PyTorch's torch.nn.functional.linear (at::linear), which for
/// inputs of more than two dimensions differs in the last bits from LibTorch's
/// torch::nn::functional::linear (matmul, then a separate bias add).
torch::Tensor linear(const torch::nn::LinearImpl& layer, const torch::Tensor& input);

/// Runs `parent`'s child registered as `name`: a torch::nn::Linear through linear() above,
/// or a LinearReplacement through its forward. Anything else registered there is a
/// pft::Error (Runtime) naming the child.
torch::Tensor forward_linear(const torch::nn::Module& parent, const std::string& name,
                             const torch::Tensor& input);

}  // namespace pft::model
