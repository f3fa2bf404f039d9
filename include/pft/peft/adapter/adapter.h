#pragma once
// Bottleneck adapters (Houlsby et al. 2019; Pfeiffer et al. 2020) by module surgery: a
// LinearExtension on an output projection turns its output h into
//     h + adapter_up(act(adapter_down(h)))
// before the layer's dropout, residual and layer norm. Placement:
//   houlsby   after the attention output projection and after the feed-forward output
//             projection (BERT attention.output.dense and output.dense; T5 SelfAttention.o,
//             EncDecAttention.o and DenseReluDense.wo)
//   pfeiffer  after the feed-forward output projection only (BERT output.dense; T5
//             DenseReluDense.wo)
// The down projection starts ~N(0, 0.01), the up projection at zero (weights and biases),
// so training starts exactly at the base model's function.
//
// Saved in pft's format with AdapterHub's names (docs/peft.md): "peft_type":
// "BOTTLENECK_ADAPTER" with mh_adapter, output_adapter, reduction_factor, non_linearity,
// and tensors "base_model.model.<parent>.adapters.<name>.adapter_down.0.{weight,bias}" and
// "...adapter_up.{weight,bias}", <parent> being the module that holds the projection.

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "pft/model/linear.h"
#include "pft/peft/adapter/config.h"
#include "pft/peft/method.h"

namespace pft::peft {

struct AdapterOptions {
  std::string placement = "houlsby";  // houlsby | pfeiffer
  double reduction_factor = 16.0;
  std::int64_t bottleneck_size = 0;    // 0: hidden / reduction_factor
  std::string non_linearity = "relu";  // relu | gelu | tanh | swish
  std::string name = "default";
  /// From a saved adapter_config.json: the hidden size it was trained for (0: unchecked)
  /// and the file, named in errors.
  std::int64_t trained_hidden_size = 0;
  std::string source;
};

class AdapterExtension : public model::LinearExtension {
 public:
  AdapterExtension(model::LinearImpl& layer, std::int64_t bottleneck,
                   const std::string& non_linearity);
  std::string name() const override { return "adapter"; }
  torch::Tensor post(const torch::Tensor& input, const torch::Tensor& output) override;

  torch::nn::Linear adapter_down{nullptr};
  torch::nn::Linear adapter_up{nullptr};
  std::string non_linearity;
};

AdapterOptions adapter_options_from_config(const AdapterConfig& config);
AdapterOptions adapter_options_from_adapter_config(const nlohmann::json& config,
                                                   const std::string& source);

class AdapterMethod : public PeftMethod {
 public:
  explicit AdapterMethod(AdapterOptions options) : options_(std::move(options)) {}
  std::string name() const override { return AdapterEntry::name; }
  std::string peft_type() const override { return AdapterEntry::peft_type; }
  void attach(torch::nn::Module& model, const ModelInfo& info) override;
  std::vector<std::pair<std::string, torch::Tensor>> parameters() const override;
  nlohmann::json config_json() const override;
  TensorMap state_dict() const override;

  const std::vector<std::string>& target_paths() const { return paths_; }
  std::int64_t bottleneck_size() const { return bottleneck_; }

 private:
  AdapterOptions options_;
  std::int64_t hidden_ = 0;
  std::int64_t bottleneck_ = 0;
  std::vector<std::string> paths_;
  std::vector<bool> attention_;  // per target: after an attention projection (mh_adapter)
  std::vector<std::shared_ptr<AdapterExtension>> extensions_;
};

}  // namespace pft::peft
