#pragma once
// LoRA (Hu et al. 2021) as Hugging Face PEFT implements it: for each targeted linear layer
// y = W x + b + (alpha / r) * B A dropout(x), A [r, in] Kaiming-uniform, B [out, r] zero, so
// training starts from the base model's function. use_rslora scales by alpha / sqrt(r).
// Merging folds (alpha / r) B A into W (in fp32) and unmerging takes it out again.

#include <torch/torch.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "pft/model/linear.h"
#include "pft/peft/targets.h"

namespace pft::peft {

struct LoraOptions {
  std::int64_t r = 8;
  double alpha = 16.0;
  double dropout = 0.0;
  bool use_rslora = false;
  std::string bias = "none";  // none | all | lora_only: which biases train and are saved
  bool use_dora = false;
  /// default | gaussian | pissa | pissa_niter_N | olora (PEFT's init_lora_weights; "default"
  /// is its `true`).
  std::string init = "default";
  /// Per-module rank and alpha: (regex, value) in the order PEFT's dict has them; the first
  /// key K with the module path matching "(.*\.)?(K)" wins, as PEFT's get_pattern_key.
  std::vector<std::pair<std::string, std::int64_t>> rank_pattern;
  std::vector<std::pair<std::string, double>> alpha_pattern;
  TargetSpec targets;
};

/// The rank and alpha of the module at `path` under the options' patterns.
std::pair<std::int64_t, double> lora_rank_and_alpha(const LoraOptions& options,
                                                    const std::string& path);

/// The LoRA update of one linear layer; its A and B are registered under the layer as
/// `lora_A` and `lora_B` (PEFT's names).
class LoraExtension : public model::LinearExtension {
 public:
  /// Adds lora_A [r, in] and lora_B [out, r] to `layer` and initialises them (PiSSA and
  /// OLoRA also replace the layer's weight by the residual); with DoRA, also the magnitude
  /// vector `lora_magnitude_vector` [out] = the row norms of the (residual) weight.
  LoraExtension(model::LinearImpl& layer, const LoraOptions& options, std::int64_t r,
                double alpha);
  std::string name() const override { return "lora"; }
  torch::Tensor post(const torch::Tensor& input, const torch::Tensor& output) override;

  torch::nn::Linear lora_A{nullptr};
  torch::nn::Linear lora_B{nullptr};
  torch::nn::Dropout dropout{nullptr};
  torch::Tensor magnitude;  // DoRA's lora_magnitude_vector; undefined without DoRA
  double scaling = 1.0;
  bool merged = false;
  /// pissa_niter_N: A and B as initialised, in fp32; the saved adapter is the update relative
  /// to the original weight, [A; A0] and [B, -B0] (PEFT's subtract_mutated_init).
  torch::Tensor init_A, init_B;
  /// The update (alpha / r) B A, [out, in], in fp32.
  torch::Tensor delta_weight() const;
  /// Folds the update into the layer's weight (DoRA: m / ||W + dW|| (W + dW), rows) and
  /// returns the largest change; unmerge() undoes it.
  double merge();
  void unmerge();

 private:
  model::LinearImpl& layer_;
  torch::Tensor merged_norm_;  // DoRA: ||W + dW|| of the unmerged weight, for unmerge()
  /// PiSSA from the full SVD (`niter` < 0) or torch.svd_lowrank's randomized one.
  void init_pissa(std::int64_t r, int niter);
  void init_olora(std::int64_t r);
};

/// LoRA attached to every targeted model::Linear of a model.
class Lora {
 public:
  /// Finds the targets (errors name peft.target_modules and list the linear layers), checks
  /// r and alpha, then adds the extensions. Does not freeze anything (see PeftMethod).
  Lora(torch::nn::Module& model, LoraOptions options);

  const LoraOptions& options() const { return options_; }
  const std::vector<std::string>& target_paths() const { return paths_; }

  /// The method's own parameters: lora_A/lora_B weights, by module path.
  std::vector<std::pair<std::string, torch::Tensor>> parameters() const;
  /// What an adapter file holds: parameters(), or with pissa_niter_N the update relative to
  /// the original weights, lora_A [2r, in] = [A; A0], lora_B [out, 2r] = [B, -B0].
  std::vector<std::pair<std::string, torch::Tensor>> saved_parameters() const;
  /// Biases that train under options.bias ("all": every bias; "lora_only": the targets').
  std::vector<std::pair<std::string, torch::Tensor>> trainable_biases(
      torch::nn::Module& model) const;

  /// Folds the updates into the base weights (idempotent); returns the largest absolute
  /// change made to any weight, which is 0 when the update is still zero.
  double merge();
  void unmerge();
  bool merged() const;

 private:
  LoraOptions options_;
  std::vector<std::string> paths_;
  std::vector<model::LinearImpl*> layers_;
  std::vector<std::shared_ptr<LoraExtension>> extensions_;
};

}  // namespace pft::peft
