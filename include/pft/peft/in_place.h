#pragma once
// A method that trains some of the base model's own tensors in place and adds none (full
// fine-tuning, BitFit); saved under the tensors' own module paths.

#include <functional>

#include "pft/peft/method.h"

namespace pft::peft {

class InPlaceMethod : public PeftMethod {
 public:
  std::vector<std::pair<std::string, torch::Tensor>> parameters() const override { return {}; }
  std::vector<std::pair<std::string, torch::Tensor>> trained_base_tensors(
      torch::nn::Module& model) const override;
  TensorMap state_dict() const override;
  bool trains_base_weights() const override { return true; }

 protected:
  /// Collects the parameters of `model` outside info.modules_to_save that `select` accepts.
  void collect(torch::nn::Module& model, const ModelInfo& info,
               const std::function<bool(const std::string&)>& select);
  std::vector<std::pair<std::string, torch::Tensor>> tensors_;
};

}  // namespace pft::peft
