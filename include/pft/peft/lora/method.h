#pragma once
// LoRA behind the PeftMethod interface: PEFT's adapter_config.json keys and state-dict names.

#include "pft/peft/lora/config.h"
#include "pft/peft/lora/lora.h"
#include "pft/peft/method.h"

namespace pft::peft {

LoraOptions lora_options_from_config(const SharedConfig& shared, const LoraConfig& config);
/// From a PEFT adapter_config.json (target_modules as a list or a regex string).
LoraOptions lora_options_from_adapter_config(const nlohmann::json& config,
                                             const std::string& source);

class LoraMethod : public PeftMethod {
 public:
  explicit LoraMethod(LoraOptions options) : options_(std::move(options)) {}
  std::string name() const override { return LoraEntry::name; }
  std::string peft_type() const override { return LoraEntry::peft_type; }
  void attach(torch::nn::Module& model, const ModelInfo& info) override;
  std::vector<std::pair<std::string, torch::Tensor>> parameters() const override;
  std::vector<std::pair<std::string, torch::Tensor>> trained_base_tensors(
      torch::nn::Module& model) const override;
  nlohmann::json config_json() const override;
  TensorMap state_dict() const override;
  void load_state_dict(const TensorMap& tensors, const std::string& source) override;
  bool can_merge() const override { return true; }
  double merge() override { return lora_->merge(); }
  void unmerge() override { lora_->unmerge(); }

  const Lora& lora() const { return *lora_; }

 private:
  // PEFT's name of a saved bias: a targeted layer's bias lives under its base_layer.
  std::string peft_bias_name(const std::string& path) const;

  LoraOptions options_;
  std::unique_ptr<Lora> lora_;
  std::vector<std::pair<std::string, torch::Tensor>> biases_;
};

}  // namespace pft::peft
