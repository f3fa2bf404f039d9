#pragma once
// ELECTRA (the discriminator, and the generator's masked-LM head) as torch::nn modules,
// numerically equal to transformers' ElectraFor* classes. The encoder is BERT's
// (pft/model/bert/bert.h) registered as `electra`, with embeddings config.embedding_size wide
// and `electra.embeddings_project` to hidden_size when the widths differ; this file adds
// ELECTRA's heads under transformers' names: `classifier.{dense,out_proj}` (sequence
// classification, a FirstTokenClassifier), `classifier` (tokens), `generator_predictions.{dense,LayerNorm}` and
// `generator_lm_head` (masked LM).

#include <torch/torch.h>

#include "pft/model/bert/bert.h"
#include "pft/model/bert/config.h"
#include "pft/model/interfaces.h"
#include "pft/model/linear.h"

namespace pft::model {

/// transformers' ElectraConfig defaults (model_type "electra").
BertConfig electra_config_defaults();

/// `generator_predictions`: dense (hidden_size -> embedding width), gelu, LayerNorm.
class ElectraGeneratorPredictionsImpl
    : public torch::nn::Cloneable<ElectraGeneratorPredictionsImpl> {
 public:
  explicit ElectraGeneratorPredictionsImpl(BertConfig config);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& hidden_states);

  BertConfig config;
  Linear dense{nullptr};
  torch::nn::LayerNorm LayerNorm{nullptr};  // NOLINT(readability-identifier-naming)
};
TORCH_MODULE(ElectraGeneratorPredictions);

/// ElectraForMaskedLM: `electra`, `generator_predictions`, `generator_lm_head`.
class ElectraForMaskedLMImpl : public torch::nn::Cloneable<ElectraForMaskedLMImpl>,
                               public MaskedLM {
 public:
  explicit ElectraForMaskedLMImpl(BertConfig config);
  void reset() override;
  torch::Tensor embed(const torch::Tensor& input_ids) override {
    return electra->embed(input_ids);
  }
  torch::Tensor encode(const EncoderInputs& inputs) override;
  torch::Tensor predict(const torch::Tensor& hidden_states) override;

  BertConfig config;
  BertModel electra{nullptr};
  ElectraGeneratorPredictions generator_predictions{nullptr};
  VocabProjection generator_lm_head{nullptr};
};
TORCH_MODULE(ElectraForMaskedLM);

/// ElectraForSequenceClassification: `electra` and `classifier`.
class ElectraForSequenceClassificationImpl
    : public torch::nn::Cloneable<ElectraForSequenceClassificationImpl>,
      public SequenceClassifier {
 public:
  explicit ElectraForSequenceClassificationImpl(BertConfig config);
  void reset() override;
  torch::Tensor embed(const torch::Tensor& input_ids) override {
    return electra->embed(input_ids);
  }
  torch::Tensor classify(const EncoderInputs& inputs) override;

  BertConfig config;
  BertModel electra{nullptr};
  FirstTokenClassifier classifier{nullptr};  // gelu
};
TORCH_MODULE(ElectraForSequenceClassification);

/// ElectraForTokenClassification: `electra`, dropout, `classifier`.
class ElectraForTokenClassificationImpl
    : public torch::nn::Cloneable<ElectraForTokenClassificationImpl>,
      public TokenClassifier {
 public:
  explicit ElectraForTokenClassificationImpl(BertConfig config);
  void reset() override;
  torch::Tensor embed(const torch::Tensor& input_ids) override {
    return electra->embed(input_ids);
  }
  torch::Tensor classify_tokens(const EncoderInputs& inputs) override;

  BertConfig config;
  BertModel electra{nullptr};
  Linear classifier{nullptr};
};
TORCH_MODULE(ElectraForTokenClassification);

}  // namespace pft::model
