#pragma once
// (IA)^3 (Liu et al. 2022) as Hugging Face PEFT implements it: each targeted linear layer
// gets a learned vector `ia3_l` that rescales its output ([out, 1]: y = (W x + b) * l), or,
// for feed-forward modules, its input ([1, in]: y = W (x * l) + b). The vectors start at
// ones, so training starts from the base model's function. Merging multiplies l into the
// weight (and the bias of non-feed-forward layers); unmerging divides it out again.

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "pft/model/linear.h"
#include "pft/peft/ia3/config.h"
#include "pft/peft/method.h"
#include "pft/peft/targets.h"

namespace pft::peft {

struct Ia3Options {
  TargetSpec targets;
  /// Which targets scale their input: names matched as PEFT does (a path ends with the
  /// name, plain string suffix), or a full-match regex when `feedforward_regex` is set.
  std::vector<std::string> feedforward;
  std::string feedforward_regex;
  bool feedforward_set = false;  // false: the model's default feed-forward modules
};

/// The (IA)^3 vector of one linear layer, registered under the layer as `ia3_l`.
class Ia3Extension : public model::LinearExtension {
 public:
  Ia3Extension(model::LinearImpl& layer, bool feedforward);
  std::string name() const override { return "ia3"; }
  torch::Tensor pre(const torch::Tensor& input) override;
  torch::Tensor post(const torch::Tensor& input, const torch::Tensor& output) override;

  torch::Tensor ia3_l;  // [out, 1], or [1, in] for feed-forward layers
  bool feedforward = false;
  bool merged = false;
};

Ia3Options ia3_options_from_config(const SharedConfig& shared, const Ia3Config& config);
Ia3Options ia3_options_from_adapter_config(const nlohmann::json& config, const std::string& source);

class Ia3Method : public PeftMethod {
 public:
  explicit Ia3Method(Ia3Options options) : options_(std::move(options)) {}
  std::string name() const override { return Ia3Entry::name; }
  std::string peft_type() const override { return Ia3Entry::peft_type; }
  void attach(torch::nn::Module& model, const ModelInfo& info) override;
  std::vector<std::pair<std::string, torch::Tensor>> parameters() const override;
  nlohmann::json config_json() const override;
  bool can_merge() const override { return true; }
  double merge() override;
  void unmerge() override;

  const std::vector<std::string>& target_paths() const { return paths_; }

 private:
  bool is_feedforward(const std::string& path) const;

  Ia3Options options_;
  std::vector<std::string> paths_;
  std::vector<model::LinearImpl*> layers_;
  std::vector<std::shared_ptr<Ia3Extension>> extensions_;
};

}  // namespace pft::peft
