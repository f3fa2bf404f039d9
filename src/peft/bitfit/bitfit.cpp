#include "pft/peft/bitfit/bitfit.h"

#include "pft/util/error.h"

namespace pft::peft {

std::unique_ptr<PeftMethod> BitFitEntry::from_config(const SharedConfig&, const Config&) {
  return std::make_unique<BitFitMethod>();
}

std::unique_ptr<PeftMethod> BitFitEntry::from_adapter_config(const nlohmann::json&,
                                                             const std::string&) {
  return std::make_unique<BitFitMethod>();
}

void BitFitMethod::attach(torch::nn::Module& model, const ModelInfo& info) {
  collect(model, info, [](const std::string& key) {
    return key == "bias" || (key.size() > 5 && key.compare(key.size() - 5, 5, ".bias") == 0);
  });
  if (tensors_.empty()) {
    std::string message = "peft.method: bitfit trains the model's bias parameters, but this ";
    message += info.model_type;
    message += " model has none outside the new head (T5, mT5 and ModernBERT's default config "
               "have no biases); choose another method, e.g. lora or ia3";
    throw Error(ErrorKind::Config, message);
  }
}

nlohmann::json BitFitMethod::config_json() const {
  nlohmann::json j;
  j["format"] = "pft";
  j["bias_count"] = tensors_.size();
  return j;
}

}  // namespace pft::peft
