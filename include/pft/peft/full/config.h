#pragma once
// Full fine-tuning's registry entry (pft/peft/config.h); it has no keys of its own.

#include "pft/peft/options.h"

namespace pft::peft {

struct FullConfig {
  template <class V>
  void visit(V&&) {}
  ConfigProblems check(const SharedConfig&) const { return {}; }
};

struct FullEntry {
  static constexpr const char* name = "full";
  static constexpr const char* peft_type = "FULL";
  using Config = FullConfig;
  static std::unique_ptr<PeftMethod> from_config(const SharedConfig& shared, const Config& own);
  static std::unique_ptr<PeftMethod> from_adapter_config(const nlohmann::json& config,
                                                         const std::string& source);
};

}  // namespace pft::peft
