#pragma once
// (IA)^3's config keys and registry entry (pft/peft/config.h).

#include "pft/peft/options.h"

namespace pft::peft {

struct Ia3Config {
  std::vector<std::string> feedforward_modules;

  template <class V>
  void visit(V&& v) {
    v("feedforward_modules", feedforward_modules,
      "IA3: the targets whose input (not output) is scaled, matched as PEFT does (a module path "
      "ending with the name). Empty: the model family's default, as PEFT sets it.",
      config::rules::none());
  }
  ConfigProblems check(const SharedConfig&) const { return {}; }
};

struct Ia3Entry {
  static constexpr const char* name = "ia3";
  static constexpr const char* peft_type = "IA3";
  using Config = Ia3Config;
  static std::unique_ptr<PeftMethod> from_config(const SharedConfig& shared, const Config& own);
  static std::unique_ptr<PeftMethod> from_adapter_config(const nlohmann::json& config,
                                                         const std::string& source);
};

}  // namespace pft::peft
