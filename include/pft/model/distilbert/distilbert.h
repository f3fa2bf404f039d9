#pragma once
// DistilBERT as torch::nn modules, numerically equal to transformers' DistilBertFor* classes,
// under transformers' names: `distilbert.embeddings.{word_embeddings,position_embeddings,
// LayerNorm}`, `distilbert.transformer.layer.N.attention.{q_lin,k_lin,v_lin,out_lin}`,
// `.sa_layer_norm`, `.ffn.{lin1,lin2}`, `.output_layer_norm`; heads `pre_classifier` +
// `classifier` (sequences), `classifier` (tokens), `vocab_transform`, `vocab_layer_norm`,
// `vocab_projector` (masked LM, tied to the word embeddings). Post-norm blocks as BERT's, no
// token types, no pooler.
//
// The config is a BertConfig read from DistilBERT's keys (distilbert_config): dim ->
// hidden_size, n_layers, n_heads, hidden_dim -> intermediate_size, activation -> hidden_act,
// dropout, attention_dropout, seq_classif_dropout -> classifier_dropout; LayerNorm eps 1e-12.
// transformers' DistilBERT takes no cached keys/values, so prefix tuning does not apply.

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <string>

#include "pft/model/bert/bert.h"
#include "pft/model/bert/config.h"
#include "pft/model/interfaces.h"
#include "pft/model/linear.h"

namespace pft::model {

/// A DistilBERT config.json (DistilBertConfig's keys and defaults) as a BertConfig with
/// model_type "distilbert". Errors (pft::Error, Config) name `source` and DistilBERT's key.
BertConfig distilbert_config(const nlohmann::json& doc, const std::string& source);

/// `embeddings`: word + position embeddings, LayerNorm, dropout.
class DistilBertEmbeddingsImpl : public torch::nn::Cloneable<DistilBertEmbeddingsImpl> {
 public:
  explicit DistilBertEmbeddingsImpl(BertConfig config);
  void reset() override;
  /// Word embeddings of `input_ids` [batch, seq]; ids outside the vocabulary are an input
  /// error.
  torch::Tensor embed(const torch::Tensor& input_ids);
  torch::Tensor forward(const torch::Tensor& inputs_embeds);

  BertConfig config;
  torch::nn::Embedding word_embeddings{nullptr};
  torch::nn::Embedding position_embeddings{nullptr};
  torch::nn::LayerNorm LayerNorm{nullptr};  // NOLINT(readability-identifier-naming)
};
TORCH_MODULE(DistilBertEmbeddings);

/// `transformer.layer.N.attention`: q_lin, k_lin, v_lin, scaled dot-product attention, out_lin.
class DistilBertSelfAttentionImpl : public torch::nn::Cloneable<DistilBertSelfAttentionImpl> {
 public:
  explicit DistilBertSelfAttentionImpl(BertConfig config);
  void reset() override;
  /// `mask`: boolean [batch, 1, 1, seq] (true: attend) or undefined.
  torch::Tensor forward(const torch::Tensor& hidden_states, const torch::Tensor& mask);

  BertConfig config;
  Linear q_lin{nullptr};
  Linear k_lin{nullptr};
  Linear v_lin{nullptr};
  Linear out_lin{nullptr};
};
TORCH_MODULE(DistilBertSelfAttention);

/// `transformer.layer.N.ffn`: lin1, activation, lin2, dropout.
class DistilBertFFNImpl : public torch::nn::Cloneable<DistilBertFFNImpl> {
 public:
  explicit DistilBertFFNImpl(BertConfig config);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& x);

  BertConfig config;
  Linear lin1{nullptr};
  Linear lin2{nullptr};
};
TORCH_MODULE(DistilBertFFN);

/// `transformer.layer.N`: attention, sa_layer_norm, ffn, output_layer_norm (post-norm).
class DistilBertBlockImpl : public torch::nn::Cloneable<DistilBertBlockImpl> {
 public:
  explicit DistilBertBlockImpl(BertConfig config);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& hidden_states, const torch::Tensor& mask);

  BertConfig config;
  DistilBertSelfAttention attention{nullptr};
  torch::nn::LayerNorm sa_layer_norm{nullptr};
  DistilBertFFN ffn{nullptr};
  torch::nn::LayerNorm output_layer_norm{nullptr};
};
TORCH_MODULE(DistilBertBlock);

/// `transformer`: the stack `layer.0 .. n_layers-1`.
class DistilBertTransformerImpl : public torch::nn::Cloneable<DistilBertTransformerImpl> {
 public:
  explicit DistilBertTransformerImpl(BertConfig config);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& hidden_states, const torch::Tensor& mask);

  BertConfig config;
  torch::nn::ModuleList layer{nullptr};
  /// Recompute each block's activations in the backward pass (model/checkpointing.h).
  bool gradient_checkpointing = false;
};
TORCH_MODULE(DistilBertTransformer);

/// DistilBertModel: `embeddings`, `transformer`.
class DistilBertModelImpl : public torch::nn::Cloneable<DistilBertModelImpl> {
 public:
  explicit DistilBertModelImpl(BertConfig config);
  void reset() override;
  torch::Tensor embed(const torch::Tensor& input_ids) { return embeddings->embed(input_ids); }
  /// The last hidden state [batch, seq, dim]. Token types are ignored (DistilBERT has none);
  /// key/value prefixes are a runtime error (it takes none).
  torch::Tensor forward(const EncoderInputs& inputs);

  BertConfig config;
  DistilBertEmbeddings embeddings{nullptr};
  DistilBertTransformer transformer{nullptr};
};
TORCH_MODULE(DistilBertModel);

/// DistilBertForMaskedLM: `distilbert`, `vocab_transform`, activation, `vocab_layer_norm`,
/// `vocab_projector` (tied: only its bias is its own).
class DistilBertForMaskedLMImpl : public torch::nn::Cloneable<DistilBertForMaskedLMImpl>,
                                  public MaskedLM {
 public:
  explicit DistilBertForMaskedLMImpl(BertConfig config);
  void reset() override;
  torch::Tensor embed(const torch::Tensor& input_ids) override {
    return distilbert->embed(input_ids);
  }
  torch::Tensor encode(const EncoderInputs& inputs) override { return distilbert(inputs); }
  torch::Tensor predict(const torch::Tensor& hidden_states) override;

  BertConfig config;
  DistilBertModel distilbert{nullptr};
  Linear vocab_transform{nullptr};
  torch::nn::LayerNorm vocab_layer_norm{nullptr};
  VocabProjection vocab_projector{nullptr};
};
TORCH_MODULE(DistilBertForMaskedLM);

/// DistilBertForSequenceClassification: first position, `pre_classifier`, ReLU, dropout,
/// `classifier`.
class DistilBertForSequenceClassificationImpl
    : public torch::nn::Cloneable<DistilBertForSequenceClassificationImpl>,
      public SequenceClassifier {
 public:
  explicit DistilBertForSequenceClassificationImpl(BertConfig config);
  void reset() override;
  torch::Tensor embed(const torch::Tensor& input_ids) override {
    return distilbert->embed(input_ids);
  }
  torch::Tensor classify(const EncoderInputs& inputs) override;

  BertConfig config;
  DistilBertModel distilbert{nullptr};
  Linear pre_classifier{nullptr};
  Linear classifier{nullptr};
};
TORCH_MODULE(DistilBertForSequenceClassification);

/// DistilBertForTokenClassification: `distilbert`, dropout, `classifier`.
class DistilBertForTokenClassificationImpl
    : public torch::nn::Cloneable<DistilBertForTokenClassificationImpl>,
      public TokenClassifier {
 public:
  explicit DistilBertForTokenClassificationImpl(BertConfig config);
  void reset() override;
  torch::Tensor embed(const torch::Tensor& input_ids) override {
    return distilbert->embed(input_ids);
  }
  torch::Tensor classify_tokens(const EncoderInputs& inputs) override;

  BertConfig config;
  DistilBertModel distilbert{nullptr};
  Linear classifier{nullptr};
};
TORCH_MODULE(DistilBertForTokenClassification);

}  // namespace pft::model
