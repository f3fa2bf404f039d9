#include "pft/peft/registry.h"

#include <algorithm>
#include <filesystem>

#include "pft/util/error.h"
#include "pft/util/strings.h"

namespace fs = std::filesystem;

namespace pft::peft {

namespace {

template <class Entry>
MethodEntry entry_of() {
  MethodEntry e;
  e.name = Entry::name;
  e.peft_type = Entry::peft_type;
  e.from_config = [](const PeftConfig& c) {
    return Entry::from_config(c, c.get<typename Entry::Config>());
  };
  e.from_adapter_config = &Entry::from_adapter_config;
  return e;
}

template <class... Entries>
std::vector<MethodEntry> entries_of(MethodList<Entries...>) {
  return {entry_of<Entries>()...};
}

}  // namespace

std::vector<MethodEntry> method_registry() { return entries_of(Methods{}); }

std::vector<std::string> method_names() { return PeftConfig::method_names(); }

std::unique_ptr<PeftMethod> make_method(const PeftConfig& config) {
  if (config.method == kNoMethod) return nullptr;
  for (const auto& e : method_registry()) {
    if (e.name == config.method) {
      auto method = e.from_config(config);
      method->set_modules_to_save(config.modules_to_save, true, "peft.modules_to_save");
      return method;
    }
  }
  throw Error(ErrorKind::Config, "peft.method: unknown method '" + config.method +
                                     "'; known methods: " + join_alternatives(method_names()));
}

std::unique_ptr<PeftMethod> method_from_adapter(const std::string& adapter_dir) {
  // A run with peft.method none that trained only a template's soft tokens saves just those.
  if (!fs::exists(fs::path(adapter_dir) / "adapter_config.json") &&
      fs::exists(fs::path(adapter_dir) / kTemplateSoftTokensFile)) {
    return nullptr;
  }
  const auto j = read_adapter_config(adapter_dir);
  const std::string type = j["peft_type"];
  const std::string source = (fs::path(adapter_dir) / "adapter_config.json").string();
  std::vector<std::string> known;
  for (const auto& e : method_registry()) {
    if (e.peft_type == type) {
      auto method = e.from_adapter_config(j, source);
      std::vector<std::string> modules;
      if (j.contains("modules_to_save") && !j["modules_to_save"].is_null()) {
        const auto& m = j["modules_to_save"];
        if (!m.is_array() ||
            !std::all_of(m.begin(), m.end(), [](const auto& x) { return x.is_string(); })) {
          throw Error(ErrorKind::Input, source + ": modules_to_save: expected a list of names, got " +
                                            m.dump());
        }
        modules = m.get<std::vector<std::string>>();
      }
      method->set_modules_to_save(std::move(modules), false, source + ": modules_to_save");
      return method;
    }
    known.push_back(e.peft_type);
  }
  throw Error(ErrorKind::Input, source + ": peft_type " + type +
                                    " is not available in this version of pft (available: " +
                                    join(known, ", ") + ")");
}

}  // namespace pft::peft
