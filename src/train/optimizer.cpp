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

bool in_loraplus_b_group(const std::string& name, const torch::Tensor& t) {
  return name.find("lora_B") != std::string::npos || t.dim() == 1;
}

std::unique_ptr<torch::optim::AdamW> make_adamw(const torch::nn::Module& module,
                                                const OptimizerOptions& o) {
  const auto group_options = [&](double lr, double wd) {
    auto opts = std::make_unique<torch::optim::AdamWOptions>(lr);
    opts->betas({o.beta1, o.beta2}).eps(o.eps).weight_decay(wd);
    return opts;
  };
  std::vector<torch::optim::OptimizerParamGroup> groups;
  if (o.loraplus_lr_ratio > 0) {
    // PEFT's create_loraplus_optimizer: groupA, groupB, groupB_no_decay (its embedding group
    // holds LoRA on embedding layers, which pft does not target).
    std::vector<torch::Tensor> a, b, b_no_decay;
    for (const auto& p : module.named_parameters()) {
      if (!p.value().requires_grad()) continue;
      if (!in_loraplus_b_group(p.key(), p.value())) {
        a.push_back(p.value());
      } else {
        (exempt_from_weight_decay(p.key()) ? b_no_decay : b).push_back(p.value());
      }
    }
    const double lr_b = o.lr * o.loraplus_lr_ratio;
    groups.emplace_back(a, group_options(o.lr, o.weight_decay));
    groups.emplace_back(b, group_options(lr_b, o.weight_decay));
    groups.emplace_back(b_no_decay, group_options(lr_b, 0.0));
  } else {
    std::vector<torch::Tensor> decay, no_decay;
    for (const auto& p : module.named_parameters()) {
      if (!p.value().requires_grad()) continue;
      (exempt_from_weight_decay(p.key()) ? no_decay : decay).push_back(p.value());
    }
    groups.emplace_back(decay, group_options(o.lr, o.weight_decay));
    groups.emplace_back(no_decay, group_options(o.lr, 0.0));
  }
  auto defaults = torch::optim::AdamWOptions(o.lr);
  defaults.betas({o.beta1, o.beta2}).eps(o.eps).weight_decay(o.weight_decay);
  return std::make_unique<torch::optim::AdamW>(std::move(groups), defaults);
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr, double loraplus_lr_ratio) {
  auto& groups = optimizer.param_groups();
  for (std::size_t i = 0; i < groups.size(); ++i) {
    const bool b_group = loraplus_lr_ratio > 0 && i >= 1;
    static_cast<torch::optim::AdamWOptions&>(groups[i].options())
        .lr(b_group ? lr * loraplus_lr_ratio : lr);
  }
}

}  // namespace pft::train
