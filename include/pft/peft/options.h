#pragma once
// Config keys that several PEFT methods share (one key, one meaning), and what every method's
// registry entry declares. Plain data: see pft/peft/config.h.

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "pft/config/rule.h"

namespace pft::peft {

class PeftMethod;

/// Problems of a method's keys that no single key's rule sees, as (key, message) pairs.
using ConfigProblems = std::vector<std::pair<std::string, std::string>>;

/// The `peft` keys that more than one method reads.
struct SharedConfig {
  std::vector<std::string> target_modules;
  std::string target_modules_regex;
  std::vector<std::string> exclude_modules;
  std::vector<std::int64_t> layers_to_transform;
  std::string layers_pattern;
  std::vector<std::string> modules_to_save;
  std::int64_t num_virtual_tokens = 20;
  std::int64_t encoder_hidden_size = 0;

  template <class V>
  void visit(V&& v) {
    v("target_modules", target_modules,
      "Module names (exact, suffix or regex, as PEFT matches them) that LoRA/IA3 wrap. Empty: "
      "the model family's default, as Hugging Face PEFT sets it (docs/models.md).",
      config::rules::none());
    v("target_modules_regex", target_modules_regex,
      "A regular expression that must match a module's whole path (PEFT's string form of "
      "target_modules); used instead of target_modules when set.",
      config::rules::none());
    v("exclude_modules", exclude_modules,
      "Module names (exact or suffix, as target_modules) that LoRA/IA3 leave alone even when "
      "the targets match them.",
      config::rules::none());
    v("layers_to_transform", layers_to_transform,
      "Only the targets inside these layer indices (the number after layers_pattern in the "
      "module path, e.g. encoder.layer.3.attention.self.query is layer 3); empty: every layer. "
      "Applies to target_modules given as names, as in PEFT.",
      config::rules::none());
    v("layers_pattern", layers_pattern,
      "The path component before the layer index that layers_to_transform counts (`layer`, "
      "`block`, `layers`); empty: the first `<name>.<number>.` of the path.",
      config::rules::none());
    v("modules_to_save", modules_to_save,
      "Further modules trained in full and saved with the adapter, beside the task head (a "
      "module whose path ends with the name, as PEFT matches them, e.g. `pooler.dense`).",
      config::rules::none());
    v("num_virtual_tokens", num_virtual_tokens,
      "Virtual tokens of prompt tuning, p-tuning and prefix tuning.", config::rules::at_least(1));
    v("encoder_hidden_size", encoder_hidden_size,
      "Hidden size of the prefix-tuning MLP (required with prefix_projection) and of the "
      "p-tuning prompt encoder (0: the model's hidden size, as PEFT defaults it).",
      config::rules::at_least(0));
  }
};

/// What each method's registry entry declares (see pft/peft/config.h), e.g.
///   struct LoraEntry {
///     static constexpr const char* name = "lora";       // the config name
///     static constexpr const char* peft_type = "LORA";  // adapter_config.json's peft_type
///     using Config = LoraConfig;                        // its own keys
///     static std::unique_ptr<PeftMethod> from_config(const SharedConfig&, const Config&);
///     static std::unique_ptr<PeftMethod> from_adapter_config(const nlohmann::json&,
///                                                            const std::string& source);
///   };
/// from_adapter_config builds the method a saved adapter was made with (for evaluation,
/// generation and export); errors name `source` (the adapter_config.json) and the key.

}  // namespace pft::peft
