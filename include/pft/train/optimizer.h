#pragma once
// AdamW over the trainable parameters, in two groups as transformers' Trainer builds them:
// weight decay on weights, none on biases and normalisation weights.

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

namespace pft::train {

struct OptimizerOptions {
  double lr = 5e-5;
  double weight_decay = 0.0;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  /// LoRA+ (0: off): the groups of PEFT's create_loraplus_optimizer, B at lr * ratio.
  double loraplus_lr_ratio = 0.0;
};

/// LoRA+'s B group, as PEFT's create_loraplus_optimizer assigns it: a name containing
/// "lora_B" or a one-dimensional tensor.
bool in_loraplus_b_group(const std::string& name, const torch::Tensor& t);

/// True for parameters that get no weight decay: biases and the weights of LayerNorm /
/// T5's layer_norm (any name containing "LayerNorm", "layer_norm" or ending in "bias").
bool exempt_from_weight_decay(const std::string& name);

/// Names of the parameters of `module` that require gradients, in registration order.
std::vector<std::string> trainable_parameter_names(const torch::nn::Module& module);

/// AdamW with group 0 = decayed weights, group 1 = exempt parameters (weight_decay 0).
/// With LoRA+: group 0 = everything outside the B group (weight decay on all of it, as PEFT's
/// groupA), group 1 = B decayed, group 2 = B exempt, groups 1 and 2 at lr * ratio.
/// Only parameters with requires_grad are included, so frozen weights get no state.
std::unique_ptr<torch::optim::AdamW> make_adamw(const torch::nn::Module& module,
                                                const OptimizerOptions& options);

/// Sets the learning rate of every group (LoRA+'s B groups to lr * ratio).
void set_learning_rate(torch::optim::Optimizer& optimizer, double lr,
                       double loraplus_lr_ratio = 0.0);

}  // namespace pft::train
