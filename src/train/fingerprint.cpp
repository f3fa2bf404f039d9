#include "pft/train/fingerprint.h"

#include <filesystem>

#include "pft/peft/identity.h"
#include "pft/util/hash.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace pft::train {
namespace {

json file_digest_or_null(const std::string& path) {
  std::error_code ec;
  return path.empty() || !fs::is_regular_file(path, ec) ? json(nullptr) : json(file_digest(path));
}

std::string shown(const json& value) {
  std::string text = value.dump();
  return text.size() > 80 ? text.substr(0, 77) + "..." : text;
}

}  // namespace

json run_fingerprint(const config::RunConfig& config) {
  json resolved = config::to_json(config);
  resolved["train"].erase("output_dir");  // a run directory may move
  json files = json::object();
  files["data.train"] = file_digest_or_null(config.data.train);
  files["data.eval"] = file_digest_or_null(config.data.eval);
  files["prompt.demos"] = file_digest_or_null(config.prompt.demos);
  json doc = {{"config", resolved},
              {"model.path", peft::model_fingerprint(config.model.path)},
              {"files", files}};
  if (config.tokenizer.path != config.model.path) {
    doc["tokenizer.path"] = peft::model_fingerprint(config.tokenizer.path);
  }
  return doc;
}

std::vector<std::string> fingerprint_differences(const json& recorded, const json& current) {
  std::vector<std::string> out;
  const auto config_then = recorded.value("config", json::object());
  const auto config_now = current.value("config", json::object());
  for (const auto& [section, keys] : config_now.items()) {
    for (const auto& [key, now] : keys.items()) {
      const json then = config_then.contains(section) && config_then[section].contains(key)
                            ? config_then[section][key]
                            : json();
      if (then != now) {
        out.push_back(section + "." + key + ": " + shown(then) + " when the run started, now " +
                      shown(now));
      }
    }
  }
  for (const char* folder : {"model.path", "tokenizer.path"}) {
    const auto then = recorded.value(folder, json::object());
    const auto now = current.value(folder, json::object());
    if (then == now) continue;
    std::string files;
    for (const auto& [name, digest] : now.items()) {
      if (!then.contains(name) || then[name] != digest) files += (files.empty() ? "" : ", ") + name;
    }
    for (const auto& [name, digest] : then.items()) {
      if (!now.contains(name)) files += (files.empty() ? "" : ", ") + name + " (gone)";
    }
    out.push_back(std::string(folder) +
                  ": the folder's files differ from those the run started with (" + files + ")");
  }
  const auto files_then = recorded.value("files", json::object());
  const auto files_now = current.value("files", json::object());
  for (const auto& [key, now] : files_now.items()) {
    const json then = files_then.value(key, json());
    if (then != now) {
      out.push_back(key +
                    ": the file's content differs from the one the run started with (size:digest " +
                    shown(then) + " then, " + shown(now) + " now)");
    }
  }
  return out;
}

}  // namespace pft::train
