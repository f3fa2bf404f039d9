#pragma once
// Full fine-tuning as a method, the baseline the parameter-efficient ones are measured
// against: every base-model weight trains. Saved in pft's adapter format with
// "peft_type": "FULL": adapter_model.safetensors holds the whole state dict, each tensor
// as "base_model.model.<path>" (docs/peft.md); `pft export --merge` turns it into a Hugging
// Face checkpoint folder.

#include <functional>

#include "pft/peft/method.h"

namespace pft::peft {

/// Whether `path` is `module` or lies under it ("classifier.weight" under "classifier").
bool is_under(const std::string& path, const std::string& module);

/// A method that trains some of the base model's own tensors in place and adds none
/// (full fine-tuning, BitFit); saved under the tensors' own module paths.
class InPlaceMethod : public PeftMethod {
 public:
  std::vector<std::pair<std::string, torch::Tensor>> parameters() const override { return {}; }
  std::vector<std::pair<std::string, torch::Tensor>> trained_base_tensors(
      torch::nn::Module& model) const override;
  TensorMap state_dict() const override;

 protected:
  /// Collects the parameters of `model` outside info.modules_to_save that `select` accepts.
  void collect(torch::nn::Module& model, const ModelInfo& info,
               const std::function<bool(const std::string&)>& select);
  std::vector<std::pair<std::string, torch::Tensor>> tensors_;
};

class FullMethod : public InPlaceMethod {
 public:
  std::string name() const override { return "full"; }
  std::string peft_type() const override { return "FULL"; }
  void attach(torch::nn::Module& model, const ModelInfo& info) override;
  nlohmann::json config_json() const override;
};

}  // namespace pft::peft
