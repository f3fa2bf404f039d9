#pragma once
// Prefix tuning's config keys and registry entry (pft/peft/config.h).

#include "pft/peft/options.h"

namespace pft::peft {

struct PrefixTuningConfig {
  bool prefix_projection = false;
  std::string prefix_placement = "peft_compatible";

  template <class V>
  void visit(V&& v) {
    v("prefix_projection", prefix_projection,
      "Prefix tuning: reparameterize the prefix through PEFT's two-layer MLP (Embedding -> "
      "Linear -> Tanh -> Linear); needs encoder_hidden_size.",
      config::rules::none());
    v("prefix_placement", prefix_placement,
      "Prefix tuning on encoder-decoders: peft_compatible (exactly what Hugging Face PEFT does: "
      "decoder self-attention only; exported in PEFT's format) or full (encoder self-attention, "
      "decoder self-attention and cross-attention, as the prefix-tuning paper; pft's own "
      "format). Encoders: both are the same.",
      config::rules::one_of({"peft_compatible", "full"}));
  }
  ConfigProblems check(const SharedConfig& shared) const {
    if (prefix_projection && shared.encoder_hidden_size <= 0) {
      return {{"peft.encoder_hidden_size", "required (> 0) when peft.prefix_projection is true"}};
    }
    return {};
  }
};

struct PrefixTuningEntry {
  static constexpr const char* name = "prefix_tuning";
  static constexpr const char* peft_type = "PREFIX_TUNING";
  using Config = PrefixTuningConfig;
  static std::unique_ptr<PeftMethod> from_config(const SharedConfig& shared, const Config& own);
  static std::unique_ptr<PeftMethod> from_adapter_config(const nlohmann::json& config,
                                                         const std::string& source);
};

}  // namespace pft::peft
