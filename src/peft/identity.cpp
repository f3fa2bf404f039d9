#include "pft/peft/identity.h"

#include <filesystem>

#include "pft/io/checkpoint.h"
#include "pft/util/error.h"
#include "pft/util/fs.h"
#include "pft/util/hash.h"
#include "pft/util/log.h"
#include "pft/util/strings.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace pft::peft {

json model_fingerprint(const std::string& model_dir) {
  json files = json::object();
  for (const auto& path : io::model_files(model_dir)) {
    files[fs::path(path).filename().string()] = file_digest(path);
  }
  return files;
}

json adapter_identity(const std::string& model_dir, const std::vector<std::string>& labels) {
  return {{"base_model_name_or_path", model_dir},
          {"base_model_files", model_fingerprint(model_dir)},
          {"labels", labels}};
}

void check_adapter_identity(const std::string& adapter_dir, const std::string& model_dir,
                            const std::vector<std::string>& labels) {
  const std::string file = (fs::path(adapter_dir) / kAdapterIdentityFile).string();
  std::error_code ec;
  if (!fs::exists(file, ec)) return;
  json recorded;
  try {
    recorded = json::parse(read_file(file));
  } catch (const json::exception& e) {
    throw Error(ErrorKind::Input, file + ": malformed JSON: " + e.what());
  }
  const auto saved_labels = recorded.value("labels", json::array());
  if (!saved_labels.empty() && saved_labels != json(labels)) {
    const auto names = saved_labels.get<std::vector<std::string>>();
    throw Error(ErrorKind::Config,
                "task.labels: the adapter " + adapter_dir + " was trained with the labels " +
                    join_alternatives(names) + " in this order, the config has " +
                    (labels.empty() ? std::string("none") : join_alternatives(labels)) +
                    "; its predictions would be read as the wrong labels",
                "set task.labels to " + saved_labels.dump());
  }
  const auto saved_files = recorded.value("base_model_files", json::object());
  if (!saved_files.empty() && saved_files != model_fingerprint(model_dir)) {
    log::warn(
        "{}: the adapter was trained on another base model ({}, whose weights or tokenizer "
        "files differ from those of {}); its results will not be what they were in training",
        adapter_dir, recorded.value("base_model_name_or_path", std::string("?")), model_dir);
  }
}

}  // namespace pft::peft
