#include "pft/peft/registry.h"

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
    if (e.name == config.method) return e.from_config(config);
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
    if (e.peft_type == type) return e.from_adapter_config(j, source);
    known.push_back(e.peft_type);
  }
  throw Error(ErrorKind::Input, source + ": peft_type " + type +
                                    " is not available in this version of pft (available: " +
                                    join(known, ", ") + ")");
}

}  // namespace pft::peft
