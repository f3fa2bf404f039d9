#pragma once
// Prompt tuning (PEFT's PROMPT_TUNING): num_virtual_tokens learned embeddings prepended to the
// input embeddings (the models' embed() hook). The table has num_virtual_tokens *
// num_transformer_submodules rows, as PEFT's PromptEmbedding; a seq2seq encoder gets the first
// num_virtual_tokens of them and the decoder none, as in PEFT. Initialisation (PEFT's names):
// RANDOM (N(0, 1), torch's Embedding default), SAMPLE_VOCAB (rows of the word embeddings at
// uniformly drawn ids), TEXT (the word embeddings of prompt_tuning_init_text's token ids, as the
// run's tokenizer encodes it with special tokens, repeated or cut to the table's rows).

#include "pft/peft/prompt_learning.h"
#include "pft/peft/prompt_tuning/config.h"

namespace pft::peft {

struct PromptTuningOptions {
  PromptLearningOptions base;
  std::string init = "RANDOM";  // RANDOM | TEXT | SAMPLE_VOCAB
  std::string init_text;
  /// TEXT: the token ids of init_text (set by whoever holds the tokenizer).
  std::vector<std::int64_t> init_ids;
};

PromptTuningOptions prompt_tuning_options_from_config(const SharedConfig& shared,
                                                      const PromptTuningConfig& config);
PromptTuningOptions prompt_tuning_options_from_adapter_config(const nlohmann::json& config,
                                                              const std::string& source);

class PromptTuningMethod : public PromptLearningMethod {
 public:
  explicit PromptTuningMethod(PromptTuningOptions options);
  std::string name() const override { return PromptTuningEntry::name; }
  std::string peft_type() const override { return PromptTuningEntry::peft_type; }

  /// TEXT init: tokenizes the init text (special tokens included, as PEFT does).
  void prepare(const tokenizer::Tokenizer& tokenizer) override;
  /// TEXT init: the token ids of the init text; needed before attach().
  void set_init_ids(std::vector<std::int64_t> ids) { prompt_options_.init_ids = std::move(ids); }
  const PromptTuningOptions& options() const { return prompt_options_; }

 protected:
  void build(torch::nn::Module& encoder, torch::nn::Module& model) override;
  nlohmann::json method_config() const override;

 private:
  PromptTuningOptions prompt_options_;
};

}  // namespace pft::peft
