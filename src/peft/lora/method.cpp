#include "pft/peft/lora/method.h"

#include <cmath>
#include <filesystem>
#include <regex>

#include "pft/peft/lora/pattern.h"
#include "pft/util/error.h"
#include "pft/util/fs.h"

namespace pft::peft {

LoraOptions lora_options_from_config(const SharedConfig& shared, const LoraConfig& c) {
  LoraOptions o;
  o.r = c.r;
  o.alpha = c.lora_alpha;
  o.dropout = c.lora_dropout;
  o.use_rslora = c.use_rslora;
  o.bias = c.bias;
  o.use_dora = c.use_dora;
  o.init = c.init_lora_weights;
  o.rank_pattern.assign(c.rank_pattern.begin(), c.rank_pattern.end());
  o.alpha_pattern.assign(c.alpha_pattern.begin(), c.alpha_pattern.end());
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
  const auto flag = [&](const char* key) {
    if (!j.contains(key) || j[key].is_null()) return false;
    if (!j[key].is_boolean())
      throw Error(ErrorKind::Input, source + ": " + key + ": expected true or false, got " +
                                        j[key].dump());
    return j[key].get<bool>();
  };
  o.use_dora = flag("use_dora");
  if (flag("fan_in_fan_out")) {
    throw Error(ErrorKind::Input,
                source + ": fan_in_fan_out: only nn.Linear-style layers (false) are supported");
  }
  if (flag("lora_bias")) {
    throw Error(ErrorKind::Input, source + ": lora_bias: a bias on lora_B is not supported");
  }
  // Settings that change what the adapter computes and that pft does not implement: refused
  // by name rather than loaded into a different function.
  for (const char* key : {"layer_replication", "target_parameters", "trainable_token_indices",
                          "alora_invocation_tokens", "use_bdlora", "arrow_config"}) {
    if (j.contains(key) && !j[key].is_null() &&
        !(j[key].is_object() && j[key].empty()) && !(j[key].is_array() && j[key].empty())) {
      throw Error(ErrorKind::Input, source + ": " + key + ": not supported by pft (got " +
                                        j[key].dump() + ")");
    }
  }
  for (const char* key : {"use_qalora", "use_kasa"}) {
    if (flag(key)) throw Error(ErrorKind::Input, source + ": " + key + ": not supported by pft");
  }
  if (j.contains("init_lora_weights") && !j["init_lora_weights"].is_null()) {
    const auto& init = j["init_lora_weights"];
    if (init.is_boolean()) {
      // false (no initialisation at all) only matters before the weights are loaded.
      o.init = "default";
    } else if (init.is_string() &&
               (init == "gaussian" || init == "pissa" || init == "olora")) {
      o.init = init.get<std::string>();
    } else if (init.is_string() && init.get<std::string>().rfind("pissa_niter_", 0) == 0) {
      throw Error(ErrorKind::Input,
                  source + ": init_lora_weights: " + init.dump() +
                      ": the residual weights of a randomized-SVD PiSSA adapter are random, so "
                      "no program can rebuild them on load; convert it in PEFT "
                      "(save_pretrained with path_initial_model_for_weight_conversion, as pft "
                      "saves its own) or use \"pissa\"");
    } else {
      throw Error(ErrorKind::Input, source + ": init_lora_weights: " + init.dump() +
                                        " is not supported (expected true, false, \"gaussian\", "
                                        "\"pissa\" or \"olora\")");
    }
  }
  // rank_pattern and alpha_pattern in the file's order: PEFT takes the first key that matches.
  nlohmann::ordered_json ordered;
  try {
    if (std::filesystem::exists(source)) ordered = nlohmann::ordered_json::parse(read_file(source));
  } catch (const std::exception&) {
    ordered = nullptr;
  }
  const auto pattern = [&](const char* key, auto& out) {
    if (!j.contains(key) || j[key].is_null()) return;
    if (!j[key].is_object())
      throw Error(ErrorKind::Input, source + ": " + key + ": expected an object, got " +
                                        j[key].dump());
    const auto items = ordered.is_object() && ordered.contains(key) && ordered[key].is_object()
                           ? ordered[key]
                           : nlohmann::ordered_json::parse(j[key].dump());
    using Value = typename std::decay_t<decltype(out)>::value_type::second_type;
    for (const auto& [name, value] : items.items()) {
      if (!value.is_number())
        throw Error(ErrorKind::Input, source + ": " + key + "." + name +
                                          ": expected a number, got " + value.dump());
      if (auto bad = lora_pattern_problem(name); !bad.empty())
        throw Error(ErrorKind::Input, source + ": " + key + ": " + bad);
      out.emplace_back(name, value.template get<Value>());
    }
  };
  pattern("rank_pattern", o.rank_pattern);
  pattern("alpha_pattern", o.alpha_pattern);
  read_target_filters(j, source, o.targets);
  o.targets.key = source + ": target_modules";
  return o;
}

void LoraMethod::attach(torch::nn::Module& model, const ModelInfo& info) {
  if (options_.targets.names.empty() && options_.targets.regex.empty()) {
    options_.targets.names = default_targets(info, peft_type());
  }
  options_.targets.exclude_under = info.modules_to_save;
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
  // pissa_niter_N is saved converted (Lora::saved_parameters): rank 2r, alpha scaled so that
  // alpha / r (rsLoRA: alpha / sqrt(r)) is unchanged, initialised as plain LoRA; as PEFT's
  // save_pretrained(path_initial_model_for_weight_conversion=...) writes it.
  const bool converted = lora_pissa_niter(options_.init) >= 0;
  const double alpha_factor = !converted ? 1.0 : options_.use_rslora ? std::sqrt(2.0) : 2.0;
  const std::int64_t rank_factor = converted ? 2 : 1;
  j["r"] = options_.r * rank_factor;
  j["lora_alpha"] = options_.alpha * alpha_factor;
  j["lora_dropout"] = options_.dropout;
  if (options_.targets.regex.empty()) {
    j["target_modules"] = options_.targets.names;
  } else {
    j["target_modules"] = options_.targets.regex;
  }
  j["bias"] = options_.bias;
  j["use_rslora"] = options_.use_rslora;
  j["fan_in_fan_out"] = false;
  // Keys newer than the rest are written only when used, so older PEFT versions still read
  // plain adapters.
  if (options_.use_dora) j["use_dora"] = true;
  if (options_.init == "default" || converted) {
    j["init_lora_weights"] = true;
  } else {
    j["init_lora_weights"] = options_.init;
  }
  write_target_filters(options_.targets, j);
  j["rank_pattern"] = nlohmann::json::object();
  for (const auto& [key, value] : options_.rank_pattern)
    j["rank_pattern"][key] = value * rank_factor;
  j["alpha_pattern"] = nlohmann::json::object();
  for (const auto& [key, value] : options_.alpha_pattern)
    j["alpha_pattern"][key] = value * alpha_factor;
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
  for (const auto& [name, t] : lora_->saved_parameters()) out[name] = t;
  for (const auto& [name, t] : biases_) out[peft_bias_name(name)] = t;
  return out;
}

void LoraMethod::load_state_dict(const TensorMap& tensors, const std::string& source) {
  PeftMethod::load_state_dict(tensors, source);
}

}  // namespace pft::peft
