#pragma once
// Prefix tuning (PEFT's PREFIX_TUNING): learned key/value prefixes for every attention layer,
// handed to the model through its per-layer prefix hook. The prompt is PEFT's PrefixEncoder:
// an Embedding [num_virtual_tokens, num_layers * 2 * token_dim], or with prefix_projection an
// Embedding [num_virtual_tokens, token_dim] -> Linear(token_dim, encoder_hidden_size) -> Tanh
// -> Linear(encoder_hidden_size, num_layers * 2 * token_dim). Row r of the output is viewed as
// [num_layers * 2, heads, head_dim]: entry 2l is layer l's key, 2l + 1 its value.
//
// T5 placements (docs/peft.md): peft_compatible reproduces Hugging Face PEFT exactly (PEFT
// doubles the prefix for the two submodules and splits it into groups of four, so decoder
// block i's self-attention gets entries 4i and 4i + 1 modulo 2 * num_layers; the encoder and
// cross-attention get no prefix); full gives the encoder's self-attention, the decoder's
// self-attention and its cross-attention prefixes of their own, (num_layers +
// 2 * num_decoder_layers) * 2 entries in that order.

#include <functional>

#include "pft/peft/prefix_tuning/config.h"
#include "pft/peft/prompt_learning.h"

namespace pft::peft {

struct PrefixTuningOptions {
  PromptLearningOptions base;
  bool prefix_projection = false;
  std::int64_t encoder_hidden_size = 0;
  std::string placement = "peft_compatible";  // or "full"
};

PrefixTuningOptions prefix_tuning_options_from_config(const SharedConfig& shared,
                                                      const PrefixTuningConfig& config);
PrefixTuningOptions prefix_tuning_options_from_adapter_config(const nlohmann::json& config,
                                                              const std::string& source);

class PrefixTuningMethod : public PromptLearningMethod {
 public:
  explicit PrefixTuningMethod(PrefixTuningOptions options);
  std::string name() const override { return PrefixTuningEntry::name; }
  std::string peft_type() const override { return PrefixTuningEntry::peft_type; }

  std::int64_t num_virtual_tokens() const override { return 0; }  // nothing joins the input
  std::int64_t width() const override;
  std::optional<model::LayerPrefixes> prefixes(std::int64_t batch_size,
                                               const torch::Device& device) override;
  std::optional<model::LayerPrefixes> decoder_prefixes(std::int64_t batch_size,
                                                       const torch::Device& device) override;
  std::optional<model::LayerPrefixes> cross_attention_prefixes(
      std::int64_t batch_size, const torch::Device& device) override;

 protected:
  void build(torch::nn::Module& encoder, torch::nn::Module& model) override;
  std::int64_t embedding_width() const override;
  torch::Tensor reparameterize(const torch::Tensor& embedding) override;
  bool reparameterized() const override;
  nlohmann::json method_config() const override;
  std::int64_t submodules() const override { return 1; }

 private:
  bool full() const { return placement_full_; }
  /// Layer prefixes from entries (key_entry(i), key_entry(i) + 1) of the viewed prompt.
  model::LayerPrefixes pick(std::int64_t batch_size, const torch::Device& device,
                            std::int64_t layers,
                            const std::function<std::int64_t(std::int64_t)>& key_entry);

  PrefixTuningOptions prefix_options_;
  bool placement_full_ = false;
  torch::nn::Sequential transform_{nullptr};
};

}  // namespace pft::peft
