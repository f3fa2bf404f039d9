#pragma once
// Which modules a method wraps, matched the way Hugging Face PEFT matches target_modules:
// a regular expression that must match the whole module path, or a list of names each
// matching a path exactly or as its last dotted components ("query" matches
// "bert.encoder.layer.0.attention.self.query", "output.dense" matches "...attention.output.dense").

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "pft/model/family.h"
#include "pft/peft/options.h"

namespace pft::peft {

struct TargetSpec {
  std::vector<std::string> names;  // exact paths or dotted suffixes
  std::string regex;               // full-match regex (used instead of names when set)
  /// Left alone even when matched: exact paths or dotted suffixes, or one full-match regex.
  std::vector<std::string> exclude_names;
  std::string exclude_regex;
  /// Module paths whose whole subtree is left alone (modules_to_save, as PEFT excludes them).
  std::vector<std::string> exclude_under;
  /// With names (not regex): only paths inside these layer indices, found after one of
  /// layers_pattern ("layer" in "encoder.layer.3.attention") or, without a pattern, after
  /// the first "<name>.<number>." of the path; an exact path in names is always taken.
  std::vector<std::int64_t> layers;
  std::vector<std::string> layers_pattern;
  /// Config key that set the targets, named in errors ("peft.target_modules").
  std::string key = "peft.target_modules";
};

bool matches(const TargetSpec& spec, const std::string& path);

/// PEFT's adapter_config.json keys that narrow the targets (exclude_modules,
/// layers_to_transform as a list or one integer, layers_pattern as a string or list), read
/// into `spec`; errors name `source` and the key.
void read_target_filters(const nlohmann::json& config, const std::string& source,
                         TargetSpec& spec);
/// The same keys as PEFT writes them (layers_* null when unused; exclude_modules, newer than
/// the rest, only when set).
void write_target_filters(const TargetSpec& spec, nlohmann::json& config);

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
