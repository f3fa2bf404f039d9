#pragma once
// BitFit (Ben Zaken et al. 2022): only the base model's bias parameters train (plus the new
// task head, modules_to_save). pft's own adapter format, since PEFT has no BitFit:
// adapter_config.json with "peft_type": "BITFIT", and adapter_model.safetensors with every
// trained bias under its module path, "base_model.model.<path>.bias" (docs/peft.md).

#include "pft/peft/bitfit/config.h"
#include "pft/peft/in_place.h"

namespace pft::peft {

class BitFitMethod : public InPlaceMethod {
 public:
  std::string name() const override { return BitFitEntry::name; }
  std::string peft_type() const override { return BitFitEntry::peft_type; }
  /// Collects every bias outside modules_to_save; a model without biases (T5) is a
  /// pft::Error (Config) naming peft.method.
  void attach(torch::nn::Module& model, const ModelInfo& info) override;
  nlohmann::json config_json() const override;
};

}  // namespace pft::peft
