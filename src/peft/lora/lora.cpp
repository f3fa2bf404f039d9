#include "pft/peft/lora/lora.h"

#include <ATen/autocast_mode.h>

#include <cmath>

#include "pft/model/dropout.h"
#include "pft/util/error.h"

namespace pft::peft {

LoraExtension::LoraExtension(model::LinearImpl& layer, const LoraOptions& o) {
  const auto in = layer.options.in_features(), out = layer.options.out_features();
  lora_A = layer.register_module("lora_A",
                                 torch::nn::Linear(torch::nn::LinearOptions(in, o.r).bias(false)));
  lora_B = layer.register_module("lora_B",
                                 torch::nn::Linear(torch::nn::LinearOptions(o.r, out).bias(false)));
  dropout = torch::nn::Dropout(o.dropout);
  // PEFT's init: A Kaiming-uniform (a = sqrt(5)), B zero.
  torch::NoGradGuard no_grad;
  torch::nn::init::kaiming_uniform_(lora_A->weight, std::sqrt(5));
  torch::nn::init::zeros_(lora_B->weight);
  const auto opts = layer.weight.options();
  lora_A->to(opts.device(), opts.dtype().toScalarType());
  lora_B->to(opts.device(), opts.dtype().toScalarType());
  scaling = o.use_rslora ? o.alpha / std::sqrt(static_cast<double>(o.r))
                         : o.alpha / static_cast<double>(o.r);
}

torch::Tensor LoraExtension::post(const torch::Tensor& input, const torch::Tensor& output) {
  if (merged) return output;
  const bool train = lora_A->is_training();
  // Under autocast the input comes cast already (Linear casts it once for its product and
  // its extensions); a cast to lora_A's float32 weight would only add copies.
  const bool autocast = at::autocast::is_autocast_enabled(input.device().type());
  auto x = autocast ? input : input.to(lora_A->weight.scalar_type());
  x = model::dropout(x, dropout->options.p(), train);
  const auto h = lora_A(x);
  if (!autocast && output.scalar_type() != h.scalar_type()) {
    return output + lora_B(h).to(output.scalar_type()) * scaling;
  }
  // output + scaling * h B^T as one product that accumulates into a copy of the output:
  // no separate passes to scale and to add.
  const auto rows = output.reshape({-1, output.size(-1)});
  return torch::addmm(rows, h.reshape({-1, h.size(-1)}), lora_B->weight.t(), /*beta=*/1,
                      /*alpha=*/scaling)
      .view(output.sizes());
}

torch::Tensor LoraExtension::delta_weight() const {
  return torch::matmul(lora_B->weight.to(torch::kFloat32), lora_A->weight.to(torch::kFloat32)) *
         scaling;
}

Lora::Lora(torch::nn::Module& model, LoraOptions options) : options_(std::move(options)) {
  if (options_.r < 1)
    throw Error(ErrorKind::Config, "peft.r: must be >= 1, got " + std::to_string(options_.r));
  if (!(options_.alpha > 0)) throw Error(ErrorKind::Config, "peft.lora_alpha: must be > 0");
  if (options_.bias != "none" && options_.bias != "all" && options_.bias != "lora_only") {
    throw Error(ErrorKind::Config,
                "peft.bias: must be none, all or lora_only, got \"" + options_.bias + "\"");
  }
  paths_ = find_linear_targets(model, options_.targets);
  const auto modules = model.named_modules("", false);
  for (const auto& path : paths_) {
    auto* layer = modules[path]->as<model::Linear>();
    if (layer->named_children().contains("lora_A")) {
      throw Error(ErrorKind::Config, "peft: " + path + " already has a LoRA update attached");
    }
    auto ext = std::make_shared<LoraExtension>(*layer, options_);
    layer->add_extension(ext);
    layers_.push_back(layer);
    extensions_.push_back(std::move(ext));
  }
}

std::vector<std::pair<std::string, torch::Tensor>> Lora::parameters() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (std::size_t i = 0; i < paths_.size(); ++i) {
    out.emplace_back(paths_[i] + ".lora_A.weight", extensions_[i]->lora_A->weight);
    out.emplace_back(paths_[i] + ".lora_B.weight", extensions_[i]->lora_B->weight);
  }
  return out;
}

std::vector<std::pair<std::string, torch::Tensor>> Lora::trainable_biases(
    torch::nn::Module& model) const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  if (options_.bias == "lora_only") {
    for (std::size_t i = 0; i < paths_.size(); ++i) {
      if (layers_[i]->bias.defined()) out.emplace_back(paths_[i] + ".bias", layers_[i]->bias);
    }
  } else if (options_.bias == "all") {
    for (const auto& p : model.named_parameters()) {
      const auto& key = p.key();
      if (key.size() >= 5 && key.compare(key.size() - 5, 5, ".bias") == 0 &&
          key.find("lora_") == std::string::npos) {
        out.emplace_back(key, p.value());
      }
    }
  }
  return out;
}

double Lora::merge() {
  torch::NoGradGuard no_grad;
  double largest = 0;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    auto& ext = *extensions_[i];
    if (ext.merged) continue;
    const auto delta = ext.delta_weight();
    auto& w = layers_[i]->weight;
    const auto merged = w.to(torch::kFloat32) + delta.to(w.device());
    const auto change =
        (merged.to(w.scalar_type()).to(torch::kFloat32) - w.to(torch::kFloat32)).abs().max();
    largest = std::max(largest, change.item<double>());
    w.copy_(merged.to(w.scalar_type()));
    ext.merged = true;
  }
  return largest;
}

void Lora::unmerge() {
  torch::NoGradGuard no_grad;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    auto& ext = *extensions_[i];
    if (!ext.merged) continue;
    auto& w = layers_[i]->weight;
    w.copy_((w.to(torch::kFloat32) - ext.delta_weight().to(w.device())).to(w.scalar_type()));
    ext.merged = false;
  }
}

bool Lora::merged() const { return !extensions_.empty() && extensions_.front()->merged; }

}  // namespace pft::peft
