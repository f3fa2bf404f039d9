#pragma once
// BitFit's registry entry (pft/peft/config.h); it has no keys of its own.

#include "pft/peft/options.h"

namespace pft::peft {

struct BitFitConfig {
  template <class V>
  void visit(V&&) {}
  ConfigProblems check(const SharedConfig&) const { return {}; }
};

struct BitFitEntry {
  static constexpr const char* name = "bitfit";
  static constexpr const char* peft_type = "BITFIT";
  using Config = BitFitConfig;
  static std::unique_ptr<PeftMethod> from_config(const SharedConfig& shared, const Config& own);
  static std::unique_ptr<PeftMethod> from_adapter_config(const nlohmann::json& config,
                                                         const std::string& source);
};

}  // namespace pft::peft
