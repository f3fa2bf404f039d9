#pragma once
// Making PEFT methods from the registry (pft/peft/config.h): by config name from a run
// config, or by peft_type from a saved adapter folder.

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "pft/peft/config.h"
#include "pft/peft/method.h"

namespace pft::peft {

/// One method of the registry, with its factories.
struct MethodEntry {
  std::string name;       // config name ("lora")
  std::string peft_type;  // adapter_config.json's ("LORA")
  std::function<std::unique_ptr<PeftMethod>(const PeftConfig&)> from_config;
  std::function<std::unique_ptr<PeftMethod>(const nlohmann::json&, const std::string&)>
      from_adapter_config;
};

/// Every method of `Methods`, in registry order.
std::vector<MethodEntry> method_registry();

/// The method the config names (nullptr for "none"). An unknown name is a pft::Error
/// (Config) listing the known ones.
std::unique_ptr<PeftMethod> make_method(const PeftConfig& config);

/// The method an adapter folder was saved with, built from its adapter_config.json (not yet
/// attached or loaded); nullptr for a folder that holds only a template's soft tokens. An
/// unknown peft_type is a pft::Error (Input) naming the file and listing the known ones.
std::unique_ptr<PeftMethod> method_from_adapter(const std::string& adapter_dir);

/// "none" and the config names of the registry, in order.
std::vector<std::string> method_names();

}  // namespace pft::peft
