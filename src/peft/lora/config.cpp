// LoraConfig's checks, kept free of LibTorch (the config layer and its fuzzers use them).

#include <regex>

#include "pft/peft/lora/config.h"
#include "pft/peft/lora/pattern.h"
#include "pft/util/strings.h"

namespace pft::peft {

std::string lora_pattern_problem(const std::string& key) {
  try {
    std::regex check("(.*\\.)?(" + key + ")");
  } catch (const std::regex_error& e) {
    return "'" + key + "' is not a valid regular expression: " + e.what();
  }
  return {};
}

int lora_pissa_niter(const std::string& init) {
  const std::string prefix = "pissa_niter_";
  if (init.rfind(prefix, 0) != 0) return -1;
  const auto digits = init.substr(prefix.size());
  if (digits.empty() || digits.size() > 4 ||
      digits.find_first_not_of("0123456789") != std::string::npos) {
    return -1;
  }
  return std::stoi(digits);
}

std::string lora_init_problem(const std::string& init) {
  if (init == "default" || init == "gaussian" || init == "pissa" || init == "olora" ||
      lora_pissa_niter(init) >= 0) {
    return {};
  }
  std::string message =
      "expected default, gaussian, pissa, pissa_niter_N (N a number of iterations, at most "
      "9999) or olora, got \"" + init + "\"";
  const auto guess = closest_match(init, {"default", "gaussian", "pissa", "olora"});
  if (!guess.empty()) message += " (did you mean \"" + guess + "\"?)";
  return message;
}

ConfigProblems LoraConfig::check(const SharedConfig& shared) const {
  ConfigProblems problems;
  if (auto bad = lora_init_problem(init_lora_weights); !bad.empty()) {
    problems.emplace_back("peft.init_lora_weights", bad);
  } else if (use_dora && lora_pissa_niter(init_lora_weights) >= 0) {
    problems.emplace_back("peft.init_lora_weights",
                          init_lora_weights +
                              " saves the adapter converted to a plain LoRA of twice the rank, "
                              "which cannot carry DoRA's magnitudes; use pissa with use_dora");
  }
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
