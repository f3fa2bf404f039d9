#pragma once
// LoRA's config keys and registry entry (pft/peft/config.h).

#include "pft/peft/options.h"

namespace pft::peft {

struct LoraConfig {
  std::int64_t r = 8;
  double lora_alpha = 16.0;
  double lora_dropout = 0.0;
  std::string bias = "none";
  bool use_rslora = false;

  template <class V>
  void visit(V&& v) {
    v("r", r, "LoRA rank.", config::rules::at_least(1));
    v("lora_alpha", lora_alpha, "LoRA scaling numerator (scale = lora_alpha / r).",
      config::rules::greater_than(0));
    v("lora_dropout", lora_dropout, "Dropout on the LoRA input.",
      config::rules::between(0, 1, false, true));
    v("bias", bias, "Which biases train with LoRA and are saved with it.",
      config::rules::one_of({"none", "all", "lora_only"}));
    v("use_rslora", use_rslora, "Rank-stabilised LoRA: scale by lora_alpha / sqrt(r).",
      config::rules::none());
  }
  ConfigProblems check(const SharedConfig&) const { return {}; }
};

struct LoraEntry {
  static constexpr const char* name = "lora";
  static constexpr const char* peft_type = "LORA";
  using Config = LoraConfig;
  static std::unique_ptr<PeftMethod> from_config(const SharedConfig& shared, const Config& own);
  static std::unique_ptr<PeftMethod> from_adapter_config(const nlohmann::json& config,
                                                         const std::string& source);
};

}  // namespace pft::peft
