#include "pft/train/optimizer.h"

namespace pft::train {

bool exempt_from_weight_decay(const std::string& name) {
  const auto ends_with = [&](const std::string& suffix) {
    return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return ends_with("bias") || name.find("LayerNorm") != std::string::npos ||
         name.find("layer_norm") != std::string::npos;
}

std::vector<std::string> trainable_parameter_names(const torch::nn::Module& module) {
  std::vector<std::string> names;
  for (const auto& p : module.named_parameters()) {
    if (p.value().requires_grad()) names.push_back(p.key());
  }
  return names;
}

std::unique_ptr<torch::optim::AdamW> make_adamw(const torch::nn::Module& module,
                                                const OptimizerOptions& o) {
  std::vector<torch::Tensor> decay, no_decay;
  for (const auto& p : module.named_parameters()) {
    if (!p.value().requires_grad()) continue;
    (exempt_from_weight_decay(p.key()) ? no_decay : decay).push_back(p.value());
  }
  const auto group_options = [&](double wd) {
    auto opts = std::make_unique<torch::optim::AdamWOptions>(o.lr);
    opts->betas({o.beta1, o.beta2}).eps(o.eps).weight_decay(wd);
    return opts;
  };
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, group_options(o.weight_decay));
  groups.emplace_back(no_decay, group_options(0.0));
  auto defaults = torch::optim::AdamWOptions(o.lr);
  defaults.betas({o.beta1, o.beta2}).eps(o.eps).weight_decay(o.weight_decay);
  return std::make_unique<torch::optim::AdamW>(std::move(groups), defaults);
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) {
    static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
  }
}

}  // namespace pft::train
