#pragma once
// P-tuning (PEFT's P_TUNING): virtual tokens prepended like prompt tuning's, produced by PEFT's
// PromptEncoder from an Embedding [num_virtual_tokens * submodules, token_dim]: MLP
// (Linear(d, h) -> ReLU -> Linear(h, h) -> ReLU -> Linear(h, d), registered as `mlp_head`) or
// LSTM (a bidirectional `lstm_head` of encoder_num_layers layers, then `mlp_head`
// Linear(2h, 2h) -> ReLU -> Linear(2h, d)). The LSTM runs over the whole table as one sequence.
// The saved prompt_embeddings is the encoder's output, as PEFT saves it.

#include "pft/peft/p_tuning/config.h"
#include "pft/peft/prompt_learning.h"

namespace pft::peft {

struct PTuningOptions {
  PromptLearningOptions base;
  std::string type = "MLP";              // MLP | LSTM
  std::int64_t encoder_hidden_size = 0;  // 0: token_dim
  std::int64_t encoder_num_layers = 2;
  double encoder_dropout = 0.0;
};

PTuningOptions p_tuning_options_from_config(const SharedConfig& shared,
                                            const PTuningConfig& config);
PTuningOptions p_tuning_options_from_adapter_config(const nlohmann::json& config,
                                                    const std::string& source);

class PTuningMethod : public PromptLearningMethod {
 public:
  explicit PTuningMethod(PTuningOptions options);
  std::string name() const override { return PTuningEntry::name; }
  std::string peft_type() const override { return PTuningEntry::peft_type; }

 protected:
  void build(torch::nn::Module& encoder, torch::nn::Module& model) override;
  torch::Tensor reparameterize(const torch::Tensor& embedding) override;
  bool reparameterized() const override { return true; }
  nlohmann::json method_config() const override;

 private:
  std::int64_t hidden() const;

  PTuningOptions p_options_;
  torch::nn::Sequential mlp_head_{nullptr};
  torch::nn::LSTM lstm_head_{nullptr};
};

}  // namespace pft::peft
