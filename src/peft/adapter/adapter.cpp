#include "pft/peft/adapter/adapter.h"

#include <cmath>

#include "pft/peft/targets.h"
#include "pft/util/error.h"

namespace pft::peft {

namespace {

torch::Tensor activate(const torch::Tensor& x, const std::string& name) {
  if (name == "relu") return torch::relu(x);
  if (name == "gelu") return torch::gelu(x);
  if (name == "tanh") return torch::tanh(x);
  return torch::silu(x);  // swish
}

void check_non_linearity(const std::string& name, const std::string& key) {
  if (name != "relu" && name != "gelu" && name != "tanh" && name != "swish") {
    throw Error(ErrorKind::Config, key + ": must be relu, gelu, tanh or swish, got '" + name + "'");
  }
}

// The projections each placement adapts (the family's regular expressions), and whether
// they are attention outputs (AdapterHub's mh_adapter) or feed-forward outputs
// (output_adapter).
struct Placement {
  std::vector<std::string> attention;
  std::vector<std::string> feed_forward;
};

Placement placement_for(const ModelInfo& info, const std::string& placement) {
  Placement p;
  p.feed_forward = info.default_targets(std::string(AdapterEntry::peft_type) + ".feed_forward");
  if (p.feed_forward.empty()) {
    throw Error(ErrorKind::Config,
                "peft.method: bottleneck adapters know no placement for model type '" +
                    info.model_type + "' (the family names no feed-forward output projection)");
  }
  if (placement == "houlsby")
    p.attention = info.default_targets(std::string(AdapterEntry::peft_type) + ".attention");
  return p;
}

std::string parent_of(const std::string& path) {
  const auto dot = path.rfind('.');
  return dot == std::string::npos ? std::string() : path.substr(0, dot);
}

}  // namespace

AdapterExtension::AdapterExtension(model::LinearImpl& layer, std::int64_t bottleneck,
                                   const std::string& act)
    : non_linearity(act) {
  const auto hidden = layer.options.out_features();
  adapter_down = layer.register_module("adapter_down", torch::nn::Linear(hidden, bottleneck));
  adapter_up = layer.register_module("adapter_up", torch::nn::Linear(bottleneck, hidden));
  torch::NoGradGuard no_grad;
  torch::nn::init::normal_(adapter_down->weight, 0.0, 1e-2);
  torch::nn::init::zeros_(adapter_down->bias);
  torch::nn::init::zeros_(adapter_up->weight);
  torch::nn::init::zeros_(adapter_up->bias);
  const auto opts = layer.weight.options();
  adapter_down->to(opts.device(), opts.dtype().toScalarType());
  adapter_up->to(opts.device(), opts.dtype().toScalarType());
}

torch::Tensor AdapterExtension::post(const torch::Tensor& input, const torch::Tensor& output) {
  (void)input;
  return output + adapter_up(activate(adapter_down(output), non_linearity));
}

AdapterOptions adapter_options_from_config(const AdapterConfig& c) {
  AdapterOptions o;
  o.placement = c.adapter_placement;
  o.reduction_factor = c.adapter_reduction_factor;
  o.bottleneck_size = c.adapter_bottleneck_size;
  o.non_linearity = c.adapter_non_linearity;
  return o;
}

std::unique_ptr<PeftMethod> AdapterEntry::from_config(const SharedConfig&, const Config& own) {
  return std::make_unique<AdapterMethod>(adapter_options_from_config(own));
}

std::unique_ptr<PeftMethod> AdapterEntry::from_adapter_config(const nlohmann::json& config,
                                                              const std::string& source) {
  return std::make_unique<AdapterMethod>(adapter_options_from_adapter_config(config, source));
}

AdapterOptions adapter_options_from_adapter_config(const nlohmann::json& j,
                                                   const std::string& source) {
  AdapterOptions o;
  try {
    const bool mh = j.at("mh_adapter").get<bool>();
    const bool out = j.at("output_adapter").get<bool>();
    if (!out)
      throw Error(ErrorKind::Input, source +
                                        ": output_adapter: false is not supported (pft places "
                                        "adapters after the feed-forward output always)");
    o.placement = mh ? "houlsby" : "pfeiffer";
    o.reduction_factor = j.at("reduction_factor").get<double>();
    o.bottleneck_size = j.value("bottleneck_size", std::int64_t{0});
    o.non_linearity = j.at("non_linearity").get<std::string>();
    o.name = j.value("name", std::string("default"));
    o.trained_hidden_size = j.value("hidden_size", std::int64_t{0});
    o.source = source;
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::Input, source + ": adapter settings: " + e.what());
  }
  check_non_linearity(o.non_linearity, source + ": non_linearity");
  return o;
}

void AdapterMethod::attach(torch::nn::Module& model, const ModelInfo& info) {
  check_non_linearity(options_.non_linearity, "peft.adapter_non_linearity");
  if (!(options_.reduction_factor > 0))
    throw Error(ErrorKind::Config, "peft.adapter_reduction_factor: must be > 0");
  const auto placement = placement_for(info, options_.placement);
  hidden_ = info.hidden_size;
  if (options_.trained_hidden_size > 0 && options_.trained_hidden_size != hidden_) {
    throw Error(ErrorKind::Input,
                options_.source + ": hidden_size: the adapter was trained for hidden size " +
                    std::to_string(options_.trained_hidden_size) + ", but the model has " +
                    std::to_string(hidden_) + " (adapter trained for another base model?)");
  }
  if (options_.bottleneck_size > 0) {
    bottleneck_ = options_.bottleneck_size;
  } else {
    bottleneck_ = static_cast<std::int64_t>(
        std::floor(static_cast<double>(hidden_) / options_.reduction_factor));
    if (bottleneck_ < 1) {
      throw Error(ErrorKind::Config,
                  "peft.adapter_reduction_factor: " + std::to_string(options_.reduction_factor) +
                      " leaves no bottleneck for hidden size " + std::to_string(hidden_));
    }
  }
  TargetSpec spec;
  spec.key = "peft.adapter_placement";
  const auto modules = model.named_modules("", false);
  for (const bool attention : {true, false}) {
    for (const auto& regex : attention ? placement.attention : placement.feed_forward) {
      spec.regex = regex;
      for (const auto& path : find_linear_targets(model, spec)) {
        auto* layer = modules[path]->as<model::Linear>();
        if (layer->named_children().contains("adapter_down")) {
          throw Error(ErrorKind::Config, "peft: " + path + " already has an adapter attached");
        }
        auto ext = std::make_shared<AdapterExtension>(*layer, bottleneck_, options_.non_linearity);
        layer->add_extension(ext);
        paths_.push_back(path);
        attention_.push_back(attention);
        extensions_.push_back(std::move(ext));
      }
    }
  }
}

std::vector<std::pair<std::string, torch::Tensor>> AdapterMethod::parameters() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (std::size_t i = 0; i < paths_.size(); ++i) {
    const auto& e = *extensions_[i];
    out.emplace_back(paths_[i] + ".adapter_down.weight", e.adapter_down->weight);
    out.emplace_back(paths_[i] + ".adapter_down.bias", e.adapter_down->bias);
    out.emplace_back(paths_[i] + ".adapter_up.weight", e.adapter_up->weight);
    out.emplace_back(paths_[i] + ".adapter_up.bias", e.adapter_up->bias);
  }
  return out;
}

nlohmann::json AdapterMethod::config_json() const {
  nlohmann::json j;
  j["format"] = "pft";
  j["name"] = options_.name;
  j["architecture"] = "bottleneck";
  j["mh_adapter"] = options_.placement == "houlsby";
  j["output_adapter"] = true;
  j["reduction_factor"] = options_.reduction_factor;
  j["bottleneck_size"] = bottleneck_;
  j["non_linearity"] = options_.non_linearity;
  j["hidden_size"] = hidden_;
  j["original_ln_before"] = false;
  j["residual_before_ln"] = true;
  return j;
}

TensorMap AdapterMethod::state_dict() const {
  TensorMap out;
  for (std::size_t i = 0; i < paths_.size(); ++i) {
    const auto& e = *extensions_[i];
    std::string base = parent_of(paths_[i]);
    base += ".adapters.";
    base += options_.name;
    out[base + ".adapter_down.0.weight"] = e.adapter_down->weight;
    out[base + ".adapter_down.0.bias"] = e.adapter_down->bias;
    out[base + ".adapter_up.weight"] = e.adapter_up->weight;
    out[base + ".adapter_up.bias"] = e.adapter_up->bias;
  }
  return out;
}

}  // namespace pft::peft
