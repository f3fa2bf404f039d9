#pragma once
// RoBERTa and XLM-RoBERTa as torch::nn modules, numerically equal to transformers'
// RobertaFor* / XLMRobertaFor* classes (the two share one architecture and one state-dict
// layout). The encoder is BERT's (pft/model/bert/bert.h) with RoBERTa's position ids
// (BertConfig::padding_offset_positions); this file adds RoBERTa's heads under
// transformers' names: `roberta.*`, `lm_head.{dense,layer_norm,decoder,bias}`,
// `classifier.{dense,out_proj}` (sequence classification, a FirstTokenClassifier) or `classifier` (tokens).

#include <torch/torch.h>

#include "pft/model/bert/bert.h"
#include "pft/model/bert/config.h"
#include "pft/model/interfaces.h"
#include "pft/model/linear.h"

namespace pft::model {

/// transformers' RobertaConfig defaults (model_type "roberta"), or XLMRobertaConfig's
/// (`xlm` true: model_type "xlm-roberta"), with RoBERTa's position ids.
BertConfig roberta_config_defaults(bool xlm);

/// `lm_head`: dense, gelu, layer_norm, then the decoder. Tied (the default): the decoder
/// weight is the word-embedding matrix and its bias `lm_head.bias`; untied:
/// `lm_head.decoder.{weight,bias}`.
class RobertaLMHeadImpl : public torch::nn::Cloneable<RobertaLMHeadImpl> {
 public:
  explicit RobertaLMHeadImpl(BertConfig config);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& features, const torch::Tensor& word_embeddings);

  BertConfig config;
  Linear dense{nullptr};
  torch::nn::LayerNorm layer_norm{nullptr};
  Linear decoder{nullptr};  // only when untied
  torch::Tensor bias;       // [vocab]
};
TORCH_MODULE(RobertaLMHead);

/// RobertaForMaskedLM: `roberta` (no pooler) and `lm_head`.
class RobertaForMaskedLMImpl : public torch::nn::Cloneable<RobertaForMaskedLMImpl>,
                               public MaskedLM {
 public:
  explicit RobertaForMaskedLMImpl(BertConfig config);
  void reset() override;
  torch::Tensor embed(const torch::Tensor& input_ids) override {
    return roberta->embed(input_ids);
  }
  torch::Tensor encode(const EncoderInputs& inputs) override;
  torch::Tensor predict(const torch::Tensor& hidden_states) override;

  BertConfig config;
  BertModel roberta{nullptr};
  RobertaLMHead lm_head{nullptr};
};
TORCH_MODULE(RobertaForMaskedLM);

/// RobertaForSequenceClassification: `roberta` (no pooler) and `classifier`.
class RobertaForSequenceClassificationImpl
    : public torch::nn::Cloneable<RobertaForSequenceClassificationImpl>,
      public SequenceClassifier {
 public:
  explicit RobertaForSequenceClassificationImpl(BertConfig config);
  void reset() override;
  torch::Tensor embed(const torch::Tensor& input_ids) override {
    return roberta->embed(input_ids);
  }
  torch::Tensor classify(const EncoderInputs& inputs) override;

  BertConfig config;
  BertModel roberta{nullptr};
  FirstTokenClassifier classifier{nullptr};  // tanh
};
TORCH_MODULE(RobertaForSequenceClassification);

/// RobertaForTokenClassification: `roberta` (no pooler), dropout, `classifier`.
class RobertaForTokenClassificationImpl
    : public torch::nn::Cloneable<RobertaForTokenClassificationImpl>,
      public TokenClassifier {
 public:
  explicit RobertaForTokenClassificationImpl(BertConfig config);
  void reset() override;
  torch::Tensor embed(const torch::Tensor& input_ids) override {
    return roberta->embed(input_ids);
  }
  torch::Tensor classify_tokens(const EncoderInputs& inputs) override;

  BertConfig config;
  BertModel roberta{nullptr};
  Linear classifier{nullptr};
};
TORCH_MODULE(RobertaForTokenClassification);

}  // namespace pft::model
