#pragma once
// Prompt tuning's config keys and registry entry (pft/peft/config.h).

#include "pft/peft/options.h"

namespace pft::peft {

struct PromptTuningConfig {
  std::string prompt_tuning_init = "RANDOM";
  std::string prompt_tuning_init_text;

  template <class V>
  void visit(V&& v) {
    v("prompt_tuning_init", prompt_tuning_init,
      "Prompt tuning: initial virtual-token embeddings, PEFT's names: RANDOM (normal), TEXT "
      "(word embeddings of prompt_tuning_init_text) or SAMPLE_VOCAB (random vocabulary rows).",
      config::rules::one_of({"RANDOM", "TEXT", "SAMPLE_VOCAB"}));
    v("prompt_tuning_init_text", prompt_tuning_init_text,
      "Prompt tuning with TEXT init: the text, tokenized with the run's tokenizer (special "
      "tokens included, as PEFT does) and repeated or cut to the virtual tokens.",
      config::rules::none());
  }
  ConfigProblems check(const SharedConfig&) const {
    if (prompt_tuning_init == "TEXT" && prompt_tuning_init_text.empty()) {
      return {{"peft.prompt_tuning_init_text", "required when peft.prompt_tuning_init is TEXT"}};
    }
    return {};
  }
};

struct PromptTuningEntry {
  static constexpr const char* name = "prompt_tuning";
  static constexpr const char* peft_type = "PROMPT_TUNING";
  using Config = PromptTuningConfig;
  static std::unique_ptr<PeftMethod> from_config(const SharedConfig& shared, const Config& own);
  static std::unique_ptr<PeftMethod> from_adapter_config(const nlohmann::json& config,
                                                         const std::string& source);
};

}  // namespace pft::peft
