#pragma once
// Bottleneck adapters' config keys and registry entry (pft/peft/config.h).

#include "pft/peft/options.h"

namespace pft::peft {

struct AdapterConfig {
  std::string adapter_placement = "houlsby";
  double adapter_reduction_factor = 16.0;
  std::int64_t adapter_bottleneck_size = 0;
  std::string adapter_non_linearity = "relu";

  template <class V>
  void visit(V&& v) {
    v("adapter_placement", adapter_placement,
      "Bottleneck adapters: `houlsby` (after the attention output and the feed-forward output "
      "projections) or `pfeiffer` (after the feed-forward output projection only).",
      config::rules::one_of({"houlsby", "pfeiffer"}));
    v("adapter_reduction_factor", adapter_reduction_factor,
      "Bottleneck adapters: bottleneck size = hidden size / this factor.",
      config::rules::greater_than(0));
    v("adapter_bottleneck_size", adapter_bottleneck_size,
      "Bottleneck adapters: the bottleneck size itself (0: from adapter_reduction_factor).",
      config::rules::at_least(0));
    v("adapter_non_linearity", adapter_non_linearity,
      "Bottleneck adapters: activation between the down and up projections.",
      config::rules::one_of({"relu", "gelu", "tanh", "swish"}));
  }
  ConfigProblems check(const SharedConfig&) const { return {}; }
};

struct AdapterEntry {
  static constexpr const char* name = "adapter";
  static constexpr const char* peft_type = "BOTTLENECK_ADAPTER";
  using Config = AdapterConfig;
  static std::unique_ptr<PeftMethod> from_config(const SharedConfig& shared, const Config& own);
  static std::unique_ptr<PeftMethod> from_adapter_config(const nlohmann::json& config,
                                                         const std::string& source);
};

}  // namespace pft::peft
