#pragma once
// BERT as torch::nn modules, numerically equal to Hugging Face transformers' BertModel and
// its task classes. Every submodule and parameter is registered under the name transformers
// gives it in a state dict (`embeddings.word_embeddings`, `encoder.layer.0.attention.self.
// query`, `pooler.dense`; task classes add `bert.`, `cls.predictions.*`, `classifier`), so
// loading a checkpoint and attaching a PEFT method are name lookups. The public member
// fields carry those names on purpose (`LayerNorm` included).
//
// Hook points for PEFT methods (include/pft/model/hooks.h), on the encoder and on every task
// class:
//   embed(input_ids)                    word embeddings only; prompt tuning prepends here.
//   forward(inputs_embeds, attention_mask, token_type_ids, prefixes)
//                                       position and token-type embeddings are added inside;
//                                       `prefixes` holds per-layer key/value prefixes.
// Attention runs through at::scaled_dot_product_attention with a boolean padding mask;
// dropout applies in training mode only. Every projection is a pft::model::Linear
// (pft/model/linear.h), where PEFT methods attach their extensions.

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "pft/model/bert/config.h"
#include "pft/model/hooks.h"
#include "pft/model/interfaces.h"
#include "pft/model/linear.h"

namespace pft::model {

/// Applies a BERT activation function the way transformers' ACT2FN does.
torch::Tensor activate(Activation activation, const torch::Tensor& x);

/// Checks `input_ids` [batch, seq] against config.vocab_size: a pft::Error (Input) naming
/// both (and the config file) when an id is outside the vocabulary; a Runtime error when the
/// tensor is not 2-D.
void check_input_ids(const torch::Tensor& input_ids, const BertConfig& config);

/// Initialises `module` and every submodule as transformers' `_init_weights` does: Linear
/// and Embedding weights ~ N(0, initializer_range), biases zero, the padding row of
/// word_embeddings zero, LayerNorm weight one and bias zero, the masked-LM bias zero.
void init_bert_weights(torch::nn::Module& module, const BertConfig& config);

/// What the encoder returns.
struct BertModelOutput {
  torch::Tensor last_hidden_state;  // [batch, seq, hidden]
  torch::Tensor pooler_output;      // [batch, hidden]; undefined for a model without pooler
  /// When asked for: the embedding output, then the output of every layer
  /// (num_hidden_layers + 1 tensors), as transformers' `hidden_states`.
  std::vector<torch::Tensor> hidden_states;
};

// ---- encoder building blocks ------------------------------------------------------------

/// `embeddings`: word + position + token-type embeddings, LayerNorm, dropout; all
/// config.embedding_width() wide.
class BertEmbeddingsImpl : public torch::nn::Cloneable<BertEmbeddingsImpl> {
 public:
  explicit BertEmbeddingsImpl(BertConfig config);
  void reset() override;

  /// Word embeddings of `input_ids` [batch, seq] -> [batch, seq, hidden]. Ids outside the
  /// vocabulary are a pft::Error (Input).
  torch::Tensor embed(const torch::Tensor& input_ids);

  /// Adds position embeddings (positions past_length .. past_length+seq-1, or
  /// `position_ids` [batch or 1, seq] when defined) and token-type embeddings (undefined
  /// `token_type_ids`: all zero) to `inputs_embeds`, then LayerNorm and dropout.
  torch::Tensor forward(const torch::Tensor& inputs_embeds, const torch::Tensor& token_type_ids,
                        std::int64_t past_length = 0, const torch::Tensor& position_ids = {});

  BertConfig config;
  torch::nn::Embedding word_embeddings{nullptr};
  torch::nn::Embedding position_embeddings{nullptr};
  torch::nn::Embedding token_type_embeddings{nullptr};
  torch::nn::LayerNorm LayerNorm{nullptr};  // NOLINT(readability-identifier-naming): HF's name
  torch::nn::Dropout dropout{nullptr};
};
TORCH_MODULE(BertEmbeddings);

/// `attention.self`: query/key/value projections and scaled dot-product attention.
class BertSelfAttentionImpl : public torch::nn::Cloneable<BertSelfAttentionImpl> {
 public:
  explicit BertSelfAttentionImpl(BertConfig config);
  void reset() override;

  /// `mask`: boolean [batch, 1, 1, seq] (true: attend) or undefined (attend everywhere).
  /// A `prefix` with defined tensors ([batch, heads, prefix_len, head_dim]) is concatenated
  /// before this layer's keys and values, and its positions are always attended.
  /// Returns [batch, seq, hidden].
  torch::Tensor forward(const torch::Tensor& hidden_states, const torch::Tensor& mask,
                        const LayerPrefix* prefix = nullptr);

  BertConfig config;
  Linear query{nullptr};
  Linear key{nullptr};
  Linear value{nullptr};
};
TORCH_MODULE(BertSelfAttention);

/// `attention.output` and the layer's `output`: dense, dropout, residual, LayerNorm.
class BertSelfOutputImpl : public torch::nn::Cloneable<BertSelfOutputImpl> {
 public:
  /// `in_features`: hidden_size for `attention.output`, intermediate_size for `output`.
  BertSelfOutputImpl(BertConfig config, std::int64_t in_features);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& hidden_states, const torch::Tensor& input_tensor);

  BertConfig config;
  std::int64_t in_features;
  Linear dense{nullptr};
  torch::nn::LayerNorm LayerNorm{nullptr};  // NOLINT(readability-identifier-naming)
  torch::nn::Dropout dropout{nullptr};
};
TORCH_MODULE(BertSelfOutput);

/// `attention`: `self` and `output`.
class BertAttentionImpl : public torch::nn::Cloneable<BertAttentionImpl> {
 public:
  explicit BertAttentionImpl(BertConfig config);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& hidden_states, const torch::Tensor& mask,
                        const LayerPrefix* prefix = nullptr);

  BertConfig config;
  BertSelfAttention self{nullptr};
  BertSelfOutput output{nullptr};
};
TORCH_MODULE(BertAttention);

/// `intermediate`: dense to intermediate_size and the activation.
class BertIntermediateImpl : public torch::nn::Cloneable<BertIntermediateImpl> {
 public:
  explicit BertIntermediateImpl(BertConfig config);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& hidden_states);

  BertConfig config;
  Linear dense{nullptr};
};
TORCH_MODULE(BertIntermediate);

/// `encoder.layer.N`: attention, intermediate, output.
class BertLayerImpl : public torch::nn::Cloneable<BertLayerImpl> {
 public:
  explicit BertLayerImpl(BertConfig config);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& hidden_states, const torch::Tensor& mask,
                        const LayerPrefix* prefix = nullptr);

  BertConfig config;
  BertAttention attention{nullptr};
  BertIntermediate intermediate{nullptr};
  BertSelfOutput output{nullptr};
};
TORCH_MODULE(BertLayer);

/// `encoder`: the stack `encoder.layer.0 .. N-1`.
class BertEncoderImpl : public torch::nn::Cloneable<BertEncoderImpl> {
 public:
  explicit BertEncoderImpl(BertConfig config);
  void reset() override;
  /// `all_hidden_states`, when given, receives the output of every layer.
  torch::Tensor forward(const torch::Tensor& hidden_states, const torch::Tensor& mask,
                        const LayerPrefixes* prefixes = nullptr,
                        std::vector<torch::Tensor>* all_hidden_states = nullptr);

  /// Layer `i`, typed. The layers live only in `layer`, so that clone() and module
  /// surgery see one copy of them.
  BertLayer layer_at(std::size_t i) const { return BertLayer(layer->ptr<BertLayerImpl>(i)); }

  BertConfig config;
  torch::nn::ModuleList layer{nullptr};  // registered as "layer": encoder.layer.N
  /// Recompute each layer's activations in the backward pass instead of keeping them
  /// (pft/model/checkpointing.h); only while training with gradients on.
  bool gradient_checkpointing = false;
};
TORCH_MODULE(BertEncoder);

/// `pooler`: tanh(dense(hidden state of the first token)).
class BertPoolerImpl : public torch::nn::Cloneable<BertPoolerImpl> {
 public:
  explicit BertPoolerImpl(BertConfig config);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& hidden_states);

  BertConfig config;
  Linear dense{nullptr};
};
TORCH_MODULE(BertPooler);

// ---- the encoder ------------------------------------------------------------------------

/// transformers' BertModel: `embeddings`, `encoder`, optional `pooler`.
class BertModelImpl : public torch::nn::Cloneable<BertModelImpl> {
 public:
  /// `add_pooling_layer` false gives the encoder of the masked-LM and token-classification
  /// classes, which have no pooler (as in transformers).
  explicit BertModelImpl(BertConfig config, bool add_pooling_layer = true);
  void reset() override;

  /// Hook point: word embeddings only, [batch, seq] -> [batch, seq, hidden].
  torch::Tensor embed(const torch::Tensor& input_ids);

  /// Hook point. `inputs_embeds` [batch, seq, hidden] (from embed(), possibly with virtual
  /// tokens prepended by the caller); `attention_mask` [batch, seq] (1 real, 0 padding;
  /// undefined: all real); `token_type_ids` [batch, seq] (undefined: all zero). `prefixes`,
  /// when given, holds one entry per layer; a layer's prefix keys/values are attended by
  /// every position. With prefixes, position ids start at the first layer's prefix length,
  /// as transformers' BertModel does with a key/value cache of that length (which is what
  /// PEFT's prefix tuning produces). With config.padding_offset_positions they are counted
  /// from the attention mask as RoBERTa counts them from the ids (padding is pad_token_id).
  BertModelOutput forward(const torch::Tensor& inputs_embeds, const torch::Tensor& attention_mask,
                          const torch::Tensor& token_type_ids = {},
                          const LayerPrefixes* prefixes = nullptr,
                          bool output_hidden_states = false);

  /// forward()'s last hidden state for a task class's inputs.
  torch::Tensor last_hidden_state(const EncoderInputs& inputs);

  /// Convenience: forward(embed(input_ids), ...).
  BertModelOutput forward_ids(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                              const torch::Tensor& token_type_ids = {},
                              const LayerPrefixes* prefixes = nullptr,
                              bool output_hidden_states = false);

  /// Position ids [batch or 1, seq] under config.padding_offset_positions; an input too long
  /// for the position table is a pft::Error (Input).
  torch::Tensor padding_offset_positions(const torch::Tensor& attention_mask, std::int64_t seq,
                                         std::int64_t past_length,
                                         const torch::Device& device) const;

  BertConfig config;
  bool add_pooling_layer;
  BertEmbeddings embeddings{nullptr};
  /// ELECTRA: embeddings (embedding_size wide) to hidden_size; null when the widths agree.
  Linear embeddings_project{nullptr};
  BertEncoder encoder{nullptr};
  BertPooler pooler{nullptr};  // null without a pooling layer
};
TORCH_MODULE(BertModel);

// ---- heads ----------------------------------------------------------------------------

/// `cls.predictions.transform`: dense, activation, LayerNorm.
class BertPredictionHeadTransformImpl
    : public torch::nn::Cloneable<BertPredictionHeadTransformImpl> {
 public:
  explicit BertPredictionHeadTransformImpl(BertConfig config);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& hidden_states);

  BertConfig config;
  Linear dense{nullptr};
  torch::nn::LayerNorm LayerNorm{nullptr};  // NOLINT(readability-identifier-naming)
};
TORCH_MODULE(BertPredictionHeadTransform);

/// `cls.predictions`: transform, then the decoder. Tied (tie_word_embeddings, the default):
/// the decoder weight is the word-embedding matrix and its bias `cls.predictions.bias`.
/// Untied: `cls.predictions.decoder.{weight,bias}`, as transformers 5 computes it.
class BertLMPredictionHeadImpl : public torch::nn::Cloneable<BertLMPredictionHeadImpl> {
 public:
  explicit BertLMPredictionHeadImpl(BertConfig config);
  void reset() override;
  /// `word_embeddings` [vocab, hidden] is used as the decoder weight when tied.
  torch::Tensor forward(const torch::Tensor& hidden_states, const torch::Tensor& word_embeddings);

  BertConfig config;
  BertPredictionHeadTransform transform{nullptr};
  Linear decoder{nullptr};  // only when untied
  torch::Tensor bias;       // [vocab]
};
TORCH_MODULE(BertLMPredictionHead);

/// `cls`: holds `predictions`.
class BertOnlyMLMHeadImpl : public torch::nn::Cloneable<BertOnlyMLMHeadImpl> {
 public:
  explicit BertOnlyMLMHeadImpl(BertConfig config);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& sequence_output, const torch::Tensor& word_embeddings);

  BertConfig config;
  BertLMPredictionHead predictions{nullptr};
};
TORCH_MODULE(BertOnlyMLMHead);

/// transformers' BertForMaskedLM: `bert` (no pooler) and `cls`.
class BertForMaskedLMImpl : public torch::nn::Cloneable<BertForMaskedLMImpl>, public MaskedLM {
 public:
  explicit BertForMaskedLMImpl(BertConfig config);
  void reset() override;

  torch::Tensor embed(const torch::Tensor& input_ids) override { return bert->embed(input_ids); }
  /// MaskedLM: the encoder's last hidden state.
  torch::Tensor encode(const EncoderInputs& inputs) override;
  /// Vocabulary logits [batch, seq, vocab] of every position.
  torch::Tensor forward(const torch::Tensor& inputs_embeds, const torch::Tensor& attention_mask,
                        const torch::Tensor& token_type_ids = {},
                        const LayerPrefixes* prefixes = nullptr);
  torch::Tensor forward_ids(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                            const torch::Tensor& token_type_ids = {},
                            const LayerPrefixes* prefixes = nullptr);
  /// Vocabulary logits of chosen hidden states [..., hidden] (e.g. only the [MASK]
  /// positions, which spares the vocabulary projection of every other position).
  torch::Tensor predict(const torch::Tensor& hidden_states) override;

  BertConfig config;
  BertModel bert{nullptr};
  BertOnlyMLMHead cls{nullptr};
};
TORCH_MODULE(BertForMaskedLM);

/// A projection onto the vocabulary of embedding-width states (ELECTRA's
/// `generator_lm_head`, DistilBERT's `vocab_projector`): tied (config.tie_word_embeddings),
/// its weight is the word-embedding matrix and only `bias` is its own; untied, `weight` too.
class VocabProjectionImpl : public torch::nn::Cloneable<VocabProjectionImpl> {
 public:
  explicit VocabProjectionImpl(BertConfig config);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& word_embeddings);

  BertConfig config;
  torch::Tensor weight;  // [vocab, embedding width]; undefined when tied
  torch::Tensor bias;    // [vocab]
};
TORCH_MODULE(VocabProjection);

/// The `classifier` of RoBERTa's and ELECTRA's sequence classifiers: the first position's
/// hidden state, dropout, `dense`, the activation (RoBERTa: tanh, ELECTRA: exact gelu),
/// dropout, `out_proj`; dropout p is config.classifier_dropout_prob().
class FirstTokenClassifierImpl : public torch::nn::Cloneable<FirstTokenClassifierImpl> {
 public:
  FirstTokenClassifierImpl(BertConfig config, Activation activation);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& features);

  BertConfig config;
  Activation activation;
  Linear dense{nullptr};
  Linear out_proj{nullptr};
};
TORCH_MODULE(FirstTokenClassifier);

/// transformers' BertForSequenceClassification: `bert` (with pooler), dropout, `classifier`
/// on the pooled output.
class BertForSequenceClassificationImpl
    : public torch::nn::Cloneable<BertForSequenceClassificationImpl>,
      public SequenceClassifier {
 public:
  explicit BertForSequenceClassificationImpl(BertConfig config);
  void reset() override;

  torch::Tensor embed(const torch::Tensor& input_ids) override { return bert->embed(input_ids); }
  torch::Tensor classify(const EncoderInputs& inputs) override {
    return forward(inputs.embeds, inputs.mask, inputs.types, inputs.prefixes);
  }
  /// Class logits [batch, num_labels].
  torch::Tensor forward(const torch::Tensor& inputs_embeds, const torch::Tensor& attention_mask,
                        const torch::Tensor& token_type_ids = {},
                        const LayerPrefixes* prefixes = nullptr);
  torch::Tensor forward_ids(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                            const torch::Tensor& token_type_ids = {},
                            const LayerPrefixes* prefixes = nullptr);

  BertConfig config;
  BertModel bert{nullptr};
  torch::nn::Dropout dropout{nullptr};
  Linear classifier{nullptr};
};
TORCH_MODULE(BertForSequenceClassification);

/// transformers' BertForTokenClassification: `bert` (no pooler), dropout, `classifier` on
/// every position.
class BertForTokenClassificationImpl : public torch::nn::Cloneable<BertForTokenClassificationImpl>,
                                       public TokenClassifier {
 public:
  explicit BertForTokenClassificationImpl(BertConfig config);
  void reset() override;

  torch::Tensor embed(const torch::Tensor& input_ids) override { return bert->embed(input_ids); }
  torch::Tensor classify_tokens(const EncoderInputs& inputs) override {
    return forward(inputs.embeds, inputs.mask, inputs.types, inputs.prefixes);
  }
  /// Class logits [batch, seq, num_labels].
  torch::Tensor forward(const torch::Tensor& inputs_embeds, const torch::Tensor& attention_mask,
                        const torch::Tensor& token_type_ids = {},
                        const LayerPrefixes* prefixes = nullptr);
  torch::Tensor forward_ids(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                            const torch::Tensor& token_type_ids = {},
                            const LayerPrefixes* prefixes = nullptr);

  BertConfig config;
  BertModel bert{nullptr};
  torch::nn::Dropout dropout{nullptr};
  Linear classifier{nullptr};
};
TORCH_MODULE(BertForTokenClassification);

}  // namespace pft::model
