#include "pft/peft/targets.h"

#include <regex>
#include <set>

#include "pft/model/linear.h"
#include "pft/util/error.h"
#include "pft/util/strings.h"

namespace pft::peft {

bool matches(const TargetSpec& spec, const std::string& path) {
  if (!spec.regex.empty()) return std::regex_match(path, std::regex(spec.regex));
  for (const auto& name : spec.names) {
    if (path == name) return true;
    if (path.size() > name.size() &&
        path.compare(path.size() - name.size(), name.size(), name) == 0 &&
        path[path.size() - name.size() - 1] == '.') {
      return true;
    }
  }
  return false;
}

TargetSpec target_spec(const SharedConfig& config) {
  TargetSpec spec;
  spec.names = config.target_modules;
  spec.regex = config.target_modules_regex;
  spec.key =
      config.target_modules_regex.empty() ? "peft.target_modules" : "peft.target_modules_regex";
  return spec;
}

std::vector<std::string> default_targets(const model::ModelInfo& info, const std::string& key) {
  auto targets = info.default_targets(key);
  if (targets.empty()) {
    throw Error(ErrorKind::Config, "peft.target_modules: the " + info.model_type +
                                       " model family has no default targets for " + key +
                                       "; name them");
  }
  return targets;
}

std::vector<std::string> find_linear_targets(torch::nn::Module& root, const TargetSpec& spec) {
  if (!spec.regex.empty()) {
    try {
      std::regex check(spec.regex);
    } catch (const std::regex_error& e) {
      throw Error(ErrorKind::Config, spec.key + ": '" + spec.regex +
                                         "' is not a valid regular expression: " + e.what());
    }
  }
  std::vector<std::string> found;
  std::set<std::string> available;
  for (const auto& item : root.named_modules("", /*include_self=*/false)) {
    if (!item.value()->as<model::Linear>()) continue;
    const std::string& path = item.key();
    // The last two components name a layer well ("attention.output.dense", "self.query").
    const auto parts = split(path, '.');
    available.insert(parts.back());
    if (parts.size() >= 2) {
      std::string last_two = parts[parts.size() - 2];
      last_two += '.';
      last_two += parts.back();
      available.insert(std::move(last_two));
    }
    if (matches(spec, path)) found.push_back(path);
  }
  if (found.empty()) {
    std::string wanted(1, spec.regex.empty() ? '[' : '\'');
    wanted += spec.regex.empty() ? join_alternatives(spec.names) : spec.regex;
    wanted += spec.regex.empty() ? ']' : '\'';
    throw Error(ErrorKind::Config, spec.key + ": " + wanted +
                                       " matches no linear layer of the model; "
                                       "linear layers include: " +
                                       join_alternatives({available.begin(), available.end()}));
  }
  return found;
}

}  // namespace pft::peft
