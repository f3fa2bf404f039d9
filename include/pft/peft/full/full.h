#pragma once
// Full fine-tuning as a method, the baseline the parameter-efficient ones are measured
// against: every base-model weight trains. Saved in pft's adapter format with
// "peft_type": "FULL": adapter_model.safetensors holds the whole state dict, each tensor
// as "base_model.model.<path>" (docs/peft.md); `pft export --merge` turns it into a Hugging
// Face checkpoint folder.

#include "pft/peft/full/config.h"
#include "pft/peft/in_place.h"

namespace pft::peft {

class FullMethod : public InPlaceMethod {
 public:
  std::string name() const override { return FullEntry::name; }
  std::string peft_type() const override { return FullEntry::peft_type; }
  void attach(torch::nn::Module& model, const ModelInfo& info) override;
  nlohmann::json config_json() const override;
};

}  // namespace pft::peft
