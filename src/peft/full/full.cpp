#include "pft/peft/full/full.h"

namespace pft::peft {

std::unique_ptr<PeftMethod> FullEntry::from_config(const SharedConfig&, const Config&) {
  return std::make_unique<FullMethod>();
}

std::unique_ptr<PeftMethod> FullEntry::from_adapter_config(const nlohmann::json&,
                                                           const std::string&) {
  return std::make_unique<FullMethod>();
}

void FullMethod::attach(torch::nn::Module& model, const ModelInfo& info) {
  collect(model, info, [](const std::string&) { return true; });
}

nlohmann::json FullMethod::config_json() const {
  nlohmann::json j;
  j["format"] = "pft";
  j["tensor_count"] = tensors_.size();
  return j;
}

}  // namespace pft::peft
