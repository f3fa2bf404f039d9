#pragma once
// P-tuning's config keys and registry entry (pft/peft/config.h).

#include "pft/peft/options.h"

namespace pft::peft {

struct PTuningConfig {
  std::string encoder_reparameterization_type = "MLP";
  std::int64_t encoder_num_layers = 2;
  double encoder_dropout = 0.0;

  template <class V>
  void visit(V&& v) {
    v("encoder_reparameterization_type", encoder_reparameterization_type,
      "P-tuning: the prompt encoder, PEFT's MLP (three linear layers) or LSTM (bidirectional "
      "LSTM then a two-layer MLP).",
      config::rules::one_of({"MLP", "LSTM"}));
    v("encoder_num_layers", encoder_num_layers,
      "P-tuning with LSTM: LSTM layers (PEFT ignores it for MLP).", config::rules::at_least(1));
    v("encoder_dropout", encoder_dropout, "P-tuning with LSTM: dropout between LSTM layers.",
      config::rules::between(0, 1, false, true));
  }
  ConfigProblems check(const SharedConfig&) const { return {}; }
};

struct PTuningEntry {
  static constexpr const char* name = "p_tuning";
  static constexpr const char* peft_type = "P_TUNING";
  using Config = PTuningConfig;
  static std::unique_ptr<PeftMethod> from_config(const SharedConfig& shared, const Config& own);
  static std::unique_ptr<PeftMethod> from_adapter_config(const nlohmann::json& config,
                                                         const std::string& source);
};

}  // namespace pft::peft
