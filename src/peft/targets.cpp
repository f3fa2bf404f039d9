#include "pft/peft/targets.h"

#include <algorithm>
#include <regex>
#include <set>

#include "pft/model/linear.h"
#include "pft/util/error.h"
#include "pft/util/strings.h"

namespace pft::peft {

namespace {

bool is_name_or_suffix(const std::string& path, const std::string& name) {
  return path == name ||
         (path.size() > name.size() &&
          path.compare(path.size() - name.size(), name.size(), name) == 0 &&
          path[path.size() - name.size() - 1] == '.');
}

// The layer index of `path` as PEFT's check_target_module_exists finds it; -1 for none.
std::int64_t layer_index(const TargetSpec& spec, const std::string& path) {
  std::smatch m;
  if (spec.layers_pattern.empty()) {
    static const std::regex any_layer(R"(.*?\.[^.]*\.(\d+)\..*)");
    if (std::regex_match(path, m, any_layer)) return std::stoll(m[1].str());
    return -1;
  }
  for (const auto& pattern : spec.layers_pattern) {
    const std::regex re("(?:|.*?\\.)" + pattern + R"(\.(\d+)\..*)");
    if (std::regex_match(path, m, re)) return std::stoll(m[1].str());
  }
  return -1;
}

}  // namespace

bool matches(const TargetSpec& spec, const std::string& path) {
  for (const auto& module : spec.exclude_under) {
    if (is_path_under(path, module)) return false;
  }
  if (!spec.exclude_regex.empty() && std::regex_match(path, std::regex(spec.exclude_regex)))
    return false;
  for (const auto& name : spec.exclude_names) {
    if (is_name_or_suffix(path, name)) return false;
  }
  if (!spec.regex.empty()) return std::regex_match(path, std::regex(spec.regex));
  if (std::find(spec.names.begin(), spec.names.end(), path) != spec.names.end()) return true;
  bool found = false;
  for (const auto& name : spec.names) found = found || is_name_or_suffix(path, name);
  if (!found || spec.layers.empty()) return found;
  const auto index = layer_index(spec, path);
  return index >= 0 && std::find(spec.layers.begin(), spec.layers.end(), index) != spec.layers.end();
}

void read_target_filters(const nlohmann::json& j, const std::string& source, TargetSpec& spec) {
  const auto present = [&](const char* key) { return j.contains(key) && !j[key].is_null(); };
  const auto bad = [&](const char* key, const char* expected) {
    return Error(ErrorKind::Input, source + ": " + key + ": expected " + expected + ", got " +
                                       j.at(key).dump());
  };
  // PEFT takes these keys as one string or a list of strings.
  const auto strings = [&](const char* key) {
    const auto& v = j[key];
    if (v.is_string()) return std::vector<std::string>{v.get<std::string>()};
    if (v.is_array() && std::all_of(v.begin(), v.end(), [](const auto& x) { return x.is_string(); }))
      return v.get<std::vector<std::string>>();
    throw bad(key, "a string or a list of strings");
  };
  if (present("exclude_modules")) {
    // A string is a regular expression over the whole path; a list holds names.
    if (j["exclude_modules"].is_string()) {
      spec.exclude_regex = j["exclude_modules"].get<std::string>();
    } else {
      spec.exclude_names = strings("exclude_modules");
    }
  }
  if (present("layers_to_transform")) {
    const auto& l = j["layers_to_transform"];
    if (l.is_number_integer()) {
      spec.layers = {l.get<std::int64_t>()};
    } else if (l.is_array() && std::all_of(l.begin(), l.end(), [](const auto& x) {
                 return x.is_number_integer();
               })) {
      spec.layers = l.get<std::vector<std::int64_t>>();
    } else {
      throw bad("layers_to_transform", "an integer or a list of integers");
    }
  }
  if (present("layers_pattern")) {
    for (auto& p : strings("layers_pattern")) {
      if (!p.empty()) spec.layers_pattern.push_back(std::move(p));
    }
  }
}

void write_target_filters(const TargetSpec& spec, nlohmann::json& j) {
  if (!spec.exclude_regex.empty()) {
    j["exclude_modules"] = spec.exclude_regex;
  } else if (!spec.exclude_names.empty()) {
    j["exclude_modules"] = spec.exclude_names;
  }
  j["layers_to_transform"] =
      spec.layers.empty() ? nlohmann::json(nullptr) : nlohmann::json(spec.layers);
  if (spec.layers_pattern.empty()) {
    j["layers_pattern"] = nullptr;
  } else if (spec.layers_pattern.size() == 1) {
    j["layers_pattern"] = spec.layers_pattern.front();
  } else {
    j["layers_pattern"] = spec.layers_pattern;
  }
}

TargetSpec target_spec(const SharedConfig& config) {
  TargetSpec spec;
  spec.names = config.target_modules;
  spec.regex = config.target_modules_regex;
  spec.key =
      config.target_modules_regex.empty() ? "peft.target_modules" : "peft.target_modules_regex";
  spec.exclude_names = config.exclude_modules;
  spec.layers = config.layers_to_transform;
  if (!config.layers_pattern.empty()) spec.layers_pattern = {config.layers_pattern};
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
