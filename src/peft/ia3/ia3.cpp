#include "pft/peft/ia3/ia3.h"

#include <regex>

#include "pft/util/error.h"

namespace pft::peft {

Ia3Extension::Ia3Extension(model::LinearImpl& layer, bool feedforward_)
    : feedforward(feedforward_) {
  const auto in = layer.options.in_features(), out = layer.options.out_features();
  ia3_l =
      layer.register_parameter("ia3_l", torch::ones(feedforward ? std::vector<std::int64_t>{1, in}
                                                                : std::vector<std::int64_t>{out, 1},
                                                    layer.weight.options()));
}

torch::Tensor Ia3Extension::pre(const torch::Tensor& input) {
  if (merged || !feedforward) return input;
  return (input.to(ia3_l.scalar_type()) * ia3_l.flatten()).to(input.scalar_type());
}

torch::Tensor Ia3Extension::post(const torch::Tensor& input, const torch::Tensor& output) {
  (void)input;
  if (merged || feedforward) return output;
  return (output * ia3_l.flatten()).to(output.scalar_type());
}

namespace {

void read_names_or_regex(const nlohmann::json& value, std::vector<std::string>& names,
                         std::string& regex) {
  if (value.is_string()) {
    regex = value.get<std::string>();
  } else {
    names = value.get<std::vector<std::string>>();
  }
}

}  // namespace

Ia3Options ia3_options_from_config(const SharedConfig& shared, const Ia3Config& c) {
  Ia3Options o;
  o.targets = target_spec(shared);
  o.feedforward = c.feedforward_modules;
  o.feedforward_set = !c.feedforward_modules.empty();
  return o;
}

std::unique_ptr<PeftMethod> Ia3Entry::from_config(const SharedConfig& shared, const Config& own) {
  return std::make_unique<Ia3Method>(ia3_options_from_config(shared, own));
}

std::unique_ptr<PeftMethod> Ia3Entry::from_adapter_config(const nlohmann::json& config,
                                                          const std::string& source) {
  return std::make_unique<Ia3Method>(ia3_options_from_adapter_config(config, source));
}

Ia3Options ia3_options_from_adapter_config(const nlohmann::json& j, const std::string& source) {
  Ia3Options o;
  try {
    read_names_or_regex(j.at("target_modules"), o.targets.names, o.targets.regex);
    if (j.contains("feedforward_modules") && !j["feedforward_modules"].is_null()) {
      read_names_or_regex(j["feedforward_modules"], o.feedforward, o.feedforward_regex);
      o.feedforward_set = true;
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::Input, source + ": IA3 settings: " + e.what());
  }
  if (j.value("fan_in_fan_out", false)) {
    throw Error(ErrorKind::Input,
                source + ": fan_in_fan_out: only nn.Linear-style layers (false) are supported");
  }
  read_target_filters(j, source, o.targets);
  o.targets.key = source + ": target_modules";
  return o;
}

bool Ia3Method::is_feedforward(const std::string& path) const {
  // PEFT's _check_target_module_feedforward: full-match regex, or a plain string suffix.
  if (!options_.feedforward_regex.empty())
    return std::regex_match(path, std::regex(options_.feedforward_regex));
  for (const auto& name : options_.feedforward) {
    if (path.size() >= name.size() &&
        path.compare(path.size() - name.size(), name.size(), name) == 0)
      return true;
  }
  return false;
}

void Ia3Method::attach(torch::nn::Module& model, const ModelInfo& info) {
  if (options_.targets.names.empty() && options_.targets.regex.empty()) {
    options_.targets.names = default_targets(info, peft_type());
  }
  options_.targets.exclude_under = info.modules_to_save;
  if (!options_.feedforward_set)
    options_.feedforward = info.default_targets(std::string(Ia3Entry::peft_type) + ".feedforward");
  if (!options_.feedforward_regex.empty()) {
    try {
      std::regex check(options_.feedforward_regex);
    } catch (const std::regex_error& e) {
      throw Error(ErrorKind::Config, "peft.feedforward_modules: not a valid regular expression: " +
                                         std::string(e.what()));
    }
  }
  paths_ = find_linear_targets(model, options_.targets);
  const auto modules = model.named_modules("", false);
  for (const auto& path : paths_) {
    auto* layer = modules[path]->as<model::Linear>();
    if (layer->named_parameters(false).contains("ia3_l")) {
      throw Error(ErrorKind::Config, "peft: " + path + " already has an IA3 vector attached");
    }
    auto ext = std::make_shared<Ia3Extension>(*layer, is_feedforward(path));
    layer->add_extension(ext);
    layers_.push_back(layer);
    extensions_.push_back(std::move(ext));
  }
}

std::vector<std::pair<std::string, torch::Tensor>> Ia3Method::parameters() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (std::size_t i = 0; i < paths_.size(); ++i)
    out.emplace_back(paths_[i] + ".ia3_l", extensions_[i]->ia3_l);
  return out;
}

nlohmann::json Ia3Method::config_json() const {
  nlohmann::json j;
  if (options_.targets.regex.empty()) {
    j["target_modules"] = options_.targets.names;
  } else {
    j["target_modules"] = options_.targets.regex;
  }
  if (options_.feedforward_regex.empty()) {
    j["feedforward_modules"] = options_.feedforward;
  } else {
    j["feedforward_modules"] = options_.feedforward_regex;
  }
  j["fan_in_fan_out"] = false;
  j["init_ia3_weights"] = true;
  return j;
}

double Ia3Method::merge() {
  torch::NoGradGuard no_grad;
  double largest = 0;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    auto& ext = *extensions_[i];
    if (ext.merged) continue;
    auto& layer = *layers_[i];
    const auto l = ext.ia3_l.to(torch::kFloat32);
    const auto w = layer.weight.to(torch::kFloat32);
    const auto merged = (w * l).to(layer.weight.scalar_type());
    largest = std::max(largest, (merged.to(torch::kFloat32) - w).abs().max().item<double>());
    layer.weight.copy_(merged);
    if (!ext.feedforward && layer.bias.defined()) {
      const auto b = layer.bias.to(torch::kFloat32);
      const auto mb = (b * l.reshape(b.sizes())).to(layer.bias.scalar_type());
      largest = std::max(largest, (mb.to(torch::kFloat32) - b).abs().max().item<double>());
      layer.bias.copy_(mb);
    }
    ext.merged = true;
  }
  return largest;
}

void Ia3Method::unmerge() {
  // PEFT divides by l + 1e-8; dividing by l exactly keeps a round trip as close as fp32 allows.
  torch::NoGradGuard no_grad;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    auto& ext = *extensions_[i];
    if (!ext.merged) continue;
    auto& layer = *layers_[i];
    const auto l = ext.ia3_l.to(torch::kFloat32);
    layer.weight.copy_((layer.weight.to(torch::kFloat32) / l).to(layer.weight.scalar_type()));
    if (!ext.feedforward && layer.bias.defined()) {
      layer.bias.copy_((layer.bias.to(torch::kFloat32) / l.reshape(layer.bias.sizes()))
                           .to(layer.bias.scalar_type()));
    }
    ext.merged = false;
  }
}

}  // namespace pft::peft
