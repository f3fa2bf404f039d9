#pragma once
// Which modules a method wraps, matched the way Hugging Face PEFT matches target_modules:
// a regular expression that must match the whole module path, or a list of names each
// matching a path exactly or as its last dotted components ("query" matches
// "bert.encoder.layer.0.attention.self.query", "output.dense" matches "...attention.output.dense").

#include <torch/torch.h>

#include <string>
#include <vector>

#include "pft/model/family.h"
#include "pft/peft/options.h"

namespace pft::peft {

struct TargetSpec {
  std::vector<std::string> names;  // exact paths or dotted suffixes
  std::string regex;               // full-match regex (used instead of names when set)
  /// Config key that set the targets, named in errors ("peft.target_modules").
  std::string key = "peft.target_modules";
};

bool matches(const TargetSpec& spec, const std::string& path);

/// The targets of peft.target_modules / peft.target_modules_regex (empty: the default).
TargetSpec target_spec(const SharedConfig& config);

/// The model family's default targets of `key` (a peft_type, or "PEFT_TYPE.kind"); none is
/// a pft::Error (Config) naming peft.target_modules and the model type.
std::vector<std::string> default_targets(const model::ModelInfo& info, const std::string& key);

/// Paths of the pft::model::Linear modules of `root` that the spec selects, in module order.
/// Matching nothing is a pft::Error (Config) that names the key and lists the linear layers
/// that exist (their last components, deduplicated), so a typo is easy to fix.
std::vector<std::string> find_linear_targets(torch::nn::Module& root, const TargetSpec& spec);

}  // namespace pft::peft
