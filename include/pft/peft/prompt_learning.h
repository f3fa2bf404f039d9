#pragma once
// What PEFT's prompt-learning methods share (prefix tuning, prompt tuning, p-tuning): a
// prompt encoder registered on the model as `prompt_encoder` (so the trainer checkpoints its
// parameters like any other trainable tensor), one saved tensor `prompt_embeddings` that is
// the encoder's *output* (PEFT's get_prompt_embedding_to_save), and PEFT's inference mode, in
// which that saved output is itself the parameter and no reparameterization runs (how an
// adapter is loaded for evaluation, by PEFT and by pft).
//
// Rows of the prompt: num_virtual_tokens * num_transformer_submodules (2 for SEQ_2_SEQ_LM,
// as PEFT counts them; prefix tuning always has num_virtual_tokens rows).

#include <torch/torch.h>

#include <memory>
#include <string>

#include "pft/peft/method.h"

namespace pft::peft {

/// Keys every prompt-learning adapter_config.json holds, as PEFT writes them.
struct PromptLearningOptions {
  std::int64_t num_virtual_tokens = 20;
  /// PEFT's inference_mode: the parameter is the saved prompt_embeddings as they are.
  bool inference = false;
  /// From an adapter_config.json: the model the adapter was made for (0: not checked). A
  /// model that differs is an Input error naming `source` and the key.
  std::int64_t expected_token_dim = 0;
  std::int64_t expected_num_layers = 0;
  std::int64_t expected_num_heads = 0;
  std::int64_t expected_submodules = 0;  // num_transformer_submodules: 2 for SEQ_2_SEQ_LM
  std::string source;
};

class PromptLearningMethod : public PeftMethod {
 public:
  void attach(torch::nn::Module& model, const ModelInfo& info) override;
  std::vector<std::pair<std::string, torch::Tensor>> parameters() const override;
  nlohmann::json config_json() const override;
  TensorMap state_dict() const override;
  void load_state_dict(const TensorMap& tensors, const std::string& source) override;
  bool is_prompt_learning() const override { return true; }

  std::int64_t num_virtual_tokens() const override { return options_.num_virtual_tokens; }
  /// Prepends the first num_virtual_tokens rows of the prompt (PEFT gives the encoder of a
  /// seq2seq model only those; the rest is saved but unused).
  torch::Tensor prepend_virtual_tokens(const torch::Tensor& embeds) override;

  /// The prompt as saved: [rows, width], through the reparameterization unless in inference
  /// mode.
  torch::Tensor prompt_embeddings();
  std::int64_t rows() const;
  virtual std::int64_t width() const;
  bool inference() const { return options_.inference; }

 protected:
  explicit PromptLearningMethod(PromptLearningOptions options) : options_(std::move(options)) {}

  /// Adds the method's modules to `encoder` when not in inference mode (the `embedding` is
  /// already there, [rows, embedding_width()]).
  virtual void build(torch::nn::Module& encoder, torch::nn::Module& model) = 0;
  /// Width of the `embedding` table when training (inference mode: width()).
  virtual std::int64_t embedding_width() const { return width(); }
  /// The encoder's output from `embedding_->weight` [rows, embedding_width()] when training.
  virtual torch::Tensor reparameterize(const torch::Tensor& embedding) { return embedding; }
  /// Whether the saved prompt is the output of a network (not the embedding table itself).
  virtual bool reparameterized() const { return false; }
  /// The method's own adapter_config.json keys.
  virtual nlohmann::json method_config() const = 0;
  /// Rows of the prompt per transformer submodule group (prefix tuning: 1 group).
  virtual std::int64_t submodules() const { return submodules_; }

  PromptLearningOptions options_;
  ModelInfo info_;
  std::int64_t submodules_ = 1;
  std::shared_ptr<torch::nn::Module> encoder_;
  torch::nn::Embedding embedding_{nullptr};
};

/// Reads the shared keys of a prompt-learning adapter_config.json (inference mode on).
PromptLearningOptions prompt_learning_options_from_adapter_config(const nlohmann::json& config,
                                                                  const std::string& source);

}  // namespace pft::peft
