// LoraConfig's checks, kept free of LibTorch (the config layer and its fuzzers use them).

#include <regex>

#include "pft/peft/lora/config.h"
#include "pft/peft/lora/pattern.h"

namespace pft::peft {

std::string lora_pattern_problem(const std::string& key) {
  try {
    std::regex check("(.*\\.)?(" + key + ")");
  } catch (const std::regex_error& e) {
    return "'" + key + "' is not a valid regular expression: " + e.what();
  }
  return {};
}

ConfigProblems LoraConfig::check(const SharedConfig& shared) const {
  ConfigProblems problems;
  for (const auto& [key, value] : rank_pattern) {
    if (auto bad = lora_pattern_problem(key); !bad.empty())
      problems.emplace_back("peft.rank_pattern", bad);
  }
  for (const auto& [key, value] : alpha_pattern) {
    if (auto bad = lora_pattern_problem(key); !bad.empty())
      problems.emplace_back("peft.alpha_pattern", bad);
  }
  if (!shared.layers_to_transform.empty() && !shared.target_modules_regex.empty()) {
    problems.emplace_back("peft.layers_to_transform",
                          "applies to target_modules given as names; with "
                          "peft.target_modules_regex put the layers into the expression");
  }
  if (!shared.layers_pattern.empty() && shared.layers_to_transform.empty()) {
    problems.emplace_back("peft.layers_pattern", "needs peft.layers_to_transform");
  }
  return problems;
}

}  // namespace pft::peft
