#include "pft/peft/lora/method.h"

#include "pft/util/error.h"

namespace pft::peft {

LoraOptions lora_options_from_config(const SharedConfig& shared, const LoraConfig& c) {
  LoraOptions o;
  o.r = c.r;
  o.alpha = c.lora_alpha;
  o.dropout = c.lora_dropout;
  o.use_rslora = c.use_rslora;
  o.bias = c.bias;
  o.targets = target_spec(shared);
  return o;
}

std::unique_ptr<PeftMethod> LoraEntry::from_config(const SharedConfig& shared, const Config& own) {
  return std::make_unique<LoraMethod>(lora_options_from_config(shared, own));
}

std::unique_ptr<PeftMethod> LoraEntry::from_adapter_config(const nlohmann::json& config,
                                                           const std::string& source) {
  return std::make_unique<LoraMethod>(lora_options_from_adapter_config(config, source));
}

LoraOptions lora_options_from_adapter_config(const nlohmann::json& j, const std::string& source) {
  LoraOptions o;
  try {
    o.r = j.value("r", 8);
    o.alpha = j.value("lora_alpha", 8.0);
    o.dropout = j.value("lora_dropout", 0.0);
    o.use_rslora = j.value("use_rslora", false);
    o.bias = j.value("bias", std::string("none"));
    const auto& t = j.at("target_modules");
    if (t.is_string()) {
      o.targets.regex = t.get<std::string>();
    } else {
      o.targets.names = t.get<std::vector<std::string>>();
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::Input, source + ": LoRA settings: " + e.what());
  }
  if (j.value("use_dora", false))
    throw Error(ErrorKind::Input, source + ": use_dora: DoRA is not supported");
  if (j.value("fan_in_fan_out", false)) {
    throw Error(ErrorKind::Input,
                source + ": fan_in_fan_out: only nn.Linear-style layers (false) are supported");
  }
  o.targets.key = source + ": target_modules";
  return o;
}

void LoraMethod::attach(torch::nn::Module& model, const ModelInfo& info) {
  if (options_.targets.names.empty() && options_.targets.regex.empty()) {
    options_.targets.names = default_targets(info, peft_type());
  }
  lora_ = std::make_unique<Lora>(model, options_);
  biases_ = lora_->trainable_biases(model);
}

std::vector<std::pair<std::string, torch::Tensor>> LoraMethod::parameters() const {
  return lora_->parameters();
}

std::vector<std::pair<std::string, torch::Tensor>> LoraMethod::trained_base_tensors(
    torch::nn::Module&) const {
  return biases_;
}

nlohmann::json LoraMethod::config_json() const {
  nlohmann::json j;
  j["r"] = options_.r;
  j["lora_alpha"] = options_.alpha;
  j["lora_dropout"] = options_.dropout;
  if (options_.targets.regex.empty()) {
    j["target_modules"] = options_.targets.names;
  } else {
    j["target_modules"] = options_.targets.regex;
  }
  j["bias"] = options_.bias;
  j["use_rslora"] = options_.use_rslora;
  j["fan_in_fan_out"] = false;
  j["init_lora_weights"] = true;
  j["layers_to_transform"] = nullptr;
  j["layers_pattern"] = nullptr;
  j["rank_pattern"] = nlohmann::json::object();
  j["alpha_pattern"] = nlohmann::json::object();
  return j;
}

std::string LoraMethod::peft_bias_name(const std::string& bias_path) const {
  const std::string layer = bias_path.substr(0, bias_path.size() - std::string(".bias").size());
  const auto& targets = lora_->target_paths();
  if (std::find(targets.begin(), targets.end(), layer) != targets.end())
    return layer + ".base_layer.bias";
  return bias_path;
}

TensorMap LoraMethod::state_dict() const {
  TensorMap out;
  for (const auto& [name, t] : lora_->parameters()) out[name] = t;
  for (const auto& [name, t] : biases_) out[peft_bias_name(name)] = t;
  return out;
}

void LoraMethod::load_state_dict(const TensorMap& tensors, const std::string& source) {
  PeftMethod::load_state_dict(tensors, source);
}

}  // namespace pft::peft
