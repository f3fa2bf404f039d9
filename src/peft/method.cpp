#include "pft/peft/method.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>

#include "pft/io/safetensors.h"
#include "pft/util/error.h"
#include "pft/util/fs.h"
#include "pft/util/log.h"
#include "pft/util/strings.h"

namespace fs = std::filesystem;

namespace pft::peft {

namespace {
constexpr const char* kPrefix = "base_model.model.";
// Prompt learning: PEFT keeps the transformers model itself as base_model.
constexpr const char* kPromptLearningPrefix = "base_model.";

std::string method_tensor_prefix(const PeftMethod& m) {
  return m.is_prompt_learning() ? "" : kPrefix;
}
std::string module_tensor_prefix(const PeftMethod& m) {
  return m.is_prompt_learning() ? kPromptLearningPrefix : kPrefix;
}
}  // namespace

TensorMap PeftMethod::state_dict() const {
  TensorMap out;
  for (const auto& [name, t] : parameters()) out[name] = t;
  return out;
}

void PeftMethod::load_state_dict(const TensorMap& tensors, const std::string& source) {
  const auto own = state_dict();
  // Check everything before copying anything. A tensor the method does not have would be a
  // setting pft did not apply (a module to save, another variant): refused, never dropped.
  for (const auto& [name, t] : tensors) {
    if (own.count(name) == 0) {
      throw Error(ErrorKind::Input, source + ": tensor '" + name +
                                        "' is not a tensor of this " + peft_type() +
                                        " adapter on this model (another base model, or a "
                                        "setting of adapter_config.json that does not match?)");
    }
  }
  for (const auto& [name, t] : own) {
    const auto it = tensors.find(name);
    if (it == tensors.end()) {
      throw Error(ErrorKind::Input, source + ": tensor '" + name +
                                        "' is missing (the adapter may "
                                        "have been trained for another base model or config)");
    }
    if (it->second.sizes() != t.sizes()) {
      throw Error(ErrorKind::Input, source + ": tensor '" + name + "' has shape " +
                                        c10::str(it->second.sizes()) + ", the model expects " +
                                        c10::str(t.sizes()) +
                                        " (adapter trained for another base model?)");
    }
  }
  torch::NoGradGuard no_grad;
  for (const auto& [name, t] : own) {
    auto target = t;
    target.copy_(tensors.at(name).to(t.device(), t.scalar_type()));
  }
}

std::vector<std::pair<std::string, torch::Tensor>> AdaptedModel::trainable() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& p : model->named_parameters()) {
    if (p.value().requires_grad()) out.emplace_back(p.key(), p.value());
  }
  return out;
}

namespace {

// PEFT's _set_trainable: every module whose path ends with a name (a plain string suffix).
void add_modules_to_save(torch::nn::Module& model, const PeftMethod& method,
                         std::vector<std::string>& paths) {
  const auto modules = model.named_modules("", /*include_self=*/false);
  for (const auto& name : method.modules_to_save()) {
    bool found = false;
    for (const auto& item : modules) {
      const std::string& path = item.key();
      if (path.size() < name.size() ||
          path.compare(path.size() - name.size(), name.size(), name) != 0)
        continue;
      found = true;
      const bool covered = std::any_of(paths.begin(), paths.end(), [&](const std::string& p) {
        return is_path_under(path, p);
      });
      if (!covered) paths.push_back(path);
    }
    if (!found && method.modules_to_save_required()) {
      std::set<std::string> last;
      for (const auto& item : modules) {
        const auto parts = split(item.key(), '.');
        if (!parts.empty() && !std::isdigit(static_cast<unsigned char>(parts.back()[0])))
          last.insert(parts.back());
      }
      throw Error(ErrorKind::Config, method.modules_to_save_key() + ": '" + name +
                                         "' matches no module of the model; module names "
                                         "include: " +
                                         join_alternatives({last.begin(), last.end()}));
    }
  }
}

}  // namespace

AdaptedModel attach_method(std::shared_ptr<torch::nn::Module> model,
                           std::unique_ptr<PeftMethod> method, ModelInfo info) {
  AdaptedModel a;
  a.model = std::move(model);
  a.method = std::move(method);
  a.info = std::move(info);
  if (a.method) {
    add_modules_to_save(*a.model, *a.method, a.info.modules_to_save);
    a.method->attach(*a.model, a.info);
  }
  std::set<std::string> train;
  if (a.method) {
    for (const auto& [name, t] : a.method->parameters()) train.insert(name);
    for (const auto& [name, t] : a.method->trained_base_tensors(*a.model)) train.insert(name);
  }
  for (auto& p : a.model->named_parameters()) {
    bool on = train.count(p.key()) != 0;
    for (const auto& m : a.info.modules_to_save) on = on || is_path_under(p.key(), m);
    if (!a.method) on = false;  // "none": evaluation only
    p.value().requires_grad_(on);
    a.total_count += p.value().numel();
    if (on) a.trainable_count += p.value().numel();
  }
  log::info("trainable params: {} || all params: {} || trainable%: {:.4f}", a.trainable_count,
            a.total_count,
            a.total_count > 0 ? 100.0 * static_cast<double>(a.trainable_count) /
                                    static_cast<double>(a.total_count)
                              : 0.0);
  return a;
}

void add_template_soft_tokens(AdaptedModel& a, const torch::Tensor& table, bool trainable) {
  a.model->register_parameter(kTemplateSoftTokens, table, trainable);
  a.total_count += table.numel();
  if (trainable) a.trainable_count += table.numel();
  log::info("template soft tokens: {} x {}{} || trainable params: {} || all params: {}",
            table.size(0), table.size(1), trainable ? "" : " (frozen)", a.trainable_count,
            a.total_count);
}

namespace {

/// The model's template soft tokens, undefined when it has none.
torch::Tensor soft_tokens_of(const AdaptedModel& a) {
  const auto params = a.model->named_parameters(/*recurse=*/false);
  const auto* t = params.find(kTemplateSoftTokens);
  return t == nullptr ? torch::Tensor() : *t;
}

}  // namespace

nlohmann::json read_adapter_config(const std::string& dir) {
  const std::string path = (fs::path(dir) / "adapter_config.json").string();
  if (!fs::exists(path)) {
    throw Error(ErrorKind::Input, dir + ": not an adapter folder (no adapter_config.json)");
  }
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::Input, path + ": malformed JSON: " + e.what());
  }
  if (!doc.is_object() || !doc.contains("peft_type") || !doc["peft_type"].is_string()) {
    throw Error(ErrorKind::Input, path + ": peft_type: missing (expected e.g. \"LORA\")");
  }
  return doc;
}

void save_adapter(const AdaptedModel& a, const std::string& dir) {
  const auto soft = soft_tokens_of(a);
  if (!a.method && !soft.defined()) {
    throw Error(ErrorKind::Runtime, "save_adapter: peft.method is none: nothing to save");
  }
  if (soft.defined()) {
    fs::create_directories(dir);
    io::save_safetensors((fs::path(dir) / kTemplateSoftTokensFile).string(),
                         {{kTemplateSoftTokens, soft.detach().cpu().contiguous()}},
                         {{"format", "pt"}});
  }
  if (!a.method) return;
  std::map<std::string, torch::Tensor> tensors;
  const std::string method_prefix = method_tensor_prefix(*a.method);
  const std::string module_prefix = module_tensor_prefix(*a.method);
  for (const auto& [name, t] : a.method->state_dict())
    tensors[method_prefix + name] = t.detach().cpu().contiguous();
  for (const auto& p : a.model->named_parameters()) {
    for (const auto& m : a.info.modules_to_save) {
      if (is_path_under(p.key(), m))
        tensors[module_prefix + p.key()] = p.value().detach().cpu().contiguous();
    }
  }
  nlohmann::ordered_json config;
  config["peft_type"] = a.method->peft_type();
  config["task_type"] = a.info.task_type;
  config["base_model_name_or_path"] = a.info.base_model_name_or_path;
  config["inference_mode"] = true;
  config["revision"] = nullptr;
  config["modules_to_save"] = a.info.modules_to_save.empty()
                                  ? nlohmann::json(nullptr)
                                  : nlohmann::json(a.info.modules_to_save);
  const nlohmann::json method_config = a.method->config_json();
  for (const auto& [k, v] : method_config.items()) config[k] = v;
  fs::create_directories(dir);
  io::save_safetensors((fs::path(dir) / "adapter_model.safetensors").string(), tensors,
                       {{"format", "pt"}});
  write_file_atomic((fs::path(dir) / "adapter_config.json").string(), config.dump(2) + "\n");
}

void load_adapter(AdaptedModel& a, const std::string& dir) {
  if (auto soft = soft_tokens_of(a); soft.defined()) {
    const std::string file = (fs::path(dir) / kTemplateSoftTokensFile).string();
    if (!fs::exists(file)) {
      throw Error(ErrorKind::Input,
                  file +
                      ": missing; the template's {soft} slots need the soft "
                      "tokens trained with it (saved in the run's adapter folder)");
    }
    const auto content = io::read_safetensors(file);
    const auto it = content.tensors.find(kTemplateSoftTokens);
    if (it == content.tensors.end()) {
      throw Error(ErrorKind::Input, file + ": no tensor '" + kTemplateSoftTokens + "'");
    }
    if (it->second.sizes() != soft.sizes()) {
      throw Error(ErrorKind::Input, file + ": tensor '" + kTemplateSoftTokens + "' has shape " +
                                        c10::str(it->second.sizes()) + ", the template needs " +
                                        c10::str(soft.sizes()) +
                                        " (soft tokens of another template or model?)");
    }
    torch::NoGradGuard no_grad;
    soft.copy_(it->second.to(soft.device(), soft.scalar_type()));
    if (!a.method && !fs::exists(fs::path(dir) / "adapter_config.json")) return;
  }
  const auto config = read_adapter_config(dir);
  const std::string file = (fs::path(dir) / "adapter_model.safetensors").string();
  if (!a.method)
    throw Error(ErrorKind::Config, dir + ": an adapter needs a model with a PEFT method attached");
  if (config["peft_type"] != a.method->peft_type()) {
    throw Error(ErrorKind::Input, dir + "/adapter_config.json: peft_type is " +
                                      config["peft_type"].dump() + " but the method is " +
                                      a.method->peft_type());
  }
  const auto content = io::read_safetensors(file);
  TensorMap method_tensors;
  std::map<std::string, torch::Tensor> saved_modules;
  const auto params = a.model->named_parameters();
  const std::string method_prefix = method_tensor_prefix(*a.method);
  const std::string module_prefix = module_tensor_prefix(*a.method);
  for (const auto& [name, t] : content.tensors) {
    if (name.rfind(module_prefix, 0) == 0) {
      std::string key = name.substr(module_prefix.size());
      bool is_saved_module = false;
      for (const auto& m : a.info.modules_to_save)
        is_saved_module = is_saved_module || is_path_under(key, m);
      if (is_saved_module) {
        saved_modules[key] = t;
        continue;
      }
    }
    if (name.rfind(method_prefix, 0) != 0) {
      throw Error(ErrorKind::Input,
                  file + ": tensor '" + name + "' lacks PEFT's '" + method_prefix + "' prefix");
    }
    method_tensors[name.substr(method_prefix.size())] = t;
  }
  for (const auto& [key, t] : saved_modules) {
    const auto* p = params.find(key);
    if (p == nullptr)
      throw Error(ErrorKind::Input,
                  file + ": tensor '" + key + "' matches no parameter of the model");
    if (p->sizes() != t.sizes()) {
      throw Error(ErrorKind::Input, file + ": tensor '" + key + "' has shape " +
                                        c10::str(t.sizes()) + ", the model expects " +
                                        c10::str(p->sizes()) +
                                        " (adapter trained for another base model or label set?)");
    }
  }
  a.method->load_state_dict(method_tensors, file);
  torch::NoGradGuard no_grad;
  for (const auto& [key, t] : saved_modules) {
    auto p = params[key];
    p.copy_(t.to(p.device(), p.scalar_type()));
  }
}

}  // namespace pft::peft
