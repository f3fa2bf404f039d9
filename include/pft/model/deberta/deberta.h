#pragma once
// DeBERTa-v2 and -v3 (model_type "deberta-v2") as torch::nn modules, numerically equal to
// transformers' DebertaV2For* classes, under transformers' names:
// `deberta.embeddings.{word_embeddings,position_embeddings,token_type_embeddings,embed_proj,
// LayerNorm}`, `deberta.encoder.layer.N.attention.self.{query_proj,key_proj,value_proj,
// pos_key_proj,pos_query_proj}`, `.attention.output.{dense,LayerNorm}`, `.intermediate.dense`,
// `.output.{dense,LayerNorm}`, `deberta.encoder.{rel_embeddings,LayerNorm,conv.conv,
// conv.LayerNorm}`; heads `pooler.dense` + `classifier` (sequences), `classifier` (tokens),
// `cls.predictions.{transform.dense,transform.LayerNorm,decoder,bias}` (masked LM, legacy) or
// `lm_predictions.lm_head.{dense,LayerNorm,bias}` (masked LM, `legacy: false`).
//
// Disentangled attention: content-to-content scores plus, with relative_attention, the
// content-to-position (c2p) and position-to-content (p2c) terms of pos_att_type over relative
// positions (log-bucketed when position_buckets > 0), the relative embeddings projected by
// the attention's own key/query projections (share_att_key) or by pos_key_proj /
// pos_query_proj; scores scaled by sqrt(head_size * (1 + number of position terms)); the
// attention mask pairwise (a padded query attends to nothing, as transformers fills it with
// the dtype's lowest value). A convolution after the first layer when conv_kernel_size > 0.
// Post-norm blocks as BERT's. transformers' DeBERTa takes no cached keys/values, so prefix
// tuning does not apply.

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "pft/model/bert/config.h"
#include "pft/model/interfaces.h"
#include "pft/model/linear.h"

namespace pft::model {

struct DebertaV2Config {
  std::int64_t vocab_size = 128100;
  std::int64_t hidden_size = 1536;
  std::int64_t num_hidden_layers = 24;
  std::int64_t num_attention_heads = 24;
  std::int64_t intermediate_size = 6144;
  std::string hidden_act = "gelu";
  double hidden_dropout_prob = 0.1;
  double attention_probs_dropout_prob = 0.1;
  std::int64_t max_position_embeddings = 512;
  std::int64_t type_vocab_size = 0;
  double initializer_range = 0.02;
  double layer_norm_eps = 1e-7;
  bool relative_attention = false;
  std::int64_t max_relative_positions = -1;  // < 1: max_position_embeddings
  std::int64_t position_buckets = -1;        // <= 0: no log buckets
  std::optional<std::int64_t> pad_token_id = 0;
  bool position_biased_input = true;
  bool c2p = false;  // pos_att_type holds "c2p"
  bool p2c = false;  // pos_att_type holds "p2c"
  bool share_att_key = false;
  bool norm_rel_ebd = false;  // norm_rel_ebd holds "layer_norm"
  std::int64_t conv_kernel_size = 0;
  std::int64_t conv_groups = 1;
  std::string conv_act = "tanh";
  std::int64_t embedding_size = 0;       // 0: hidden_size
  std::int64_t attention_head_size = 0;  // 0: hidden_size / num_attention_heads
  std::int64_t pooler_hidden_size = 0;   // 0: hidden_size
  double pooler_dropout = 0.0;
  std::string pooler_hidden_act = "gelu";
  std::optional<double> cls_dropout;  // unset: hidden_dropout_prob
  bool legacy = true;
  bool tie_word_embeddings = true;
  std::vector<std::string> id2label{"LABEL_0", "LABEL_1"};
  std::string source = "(built in code)";

  std::int64_t embedding_width() const { return embedding_size > 0 ? embedding_size : hidden_size; }
  std::int64_t head_size() const {
    return attention_head_size > 0 ? attention_head_size : hidden_size / num_attention_heads;
  }
  std::int64_t all_head_size() const { return num_attention_heads * head_size(); }
  std::int64_t max_relative() const {
    return max_relative_positions < 1 ? max_position_embeddings : max_relative_positions;
  }
  /// The attention span of the relative embeddings: position_buckets when > 0, else
  /// max_relative(); the encoder holds 2 * span of them.
  std::int64_t attention_span() const {
    return position_buckets > 0 ? position_buckets : max_relative();
  }
  std::int64_t num_labels() const { return static_cast<std::int64_t>(id2label.size()); }

  /// Reads a parsed config.json (DebertaV2Config's keys and defaults; pos_att_type as a list
  /// or as "c2p|p2c"). Errors (pft::Error, Config) name `source` and the key.
  static DebertaV2Config from_json(const nlohmann::json& doc, const std::string& source);
  /// Checks every constraint (pft::Error, Config).
  void validate() const;
};

/// `deberta.embeddings`: word (+ position, + token type) embeddings, embed_proj when the
/// embedding width differs from hidden_size, LayerNorm, times the attention mask, dropout.
class DebertaV2EmbeddingsImpl : public torch::nn::Cloneable<DebertaV2EmbeddingsImpl> {
 public:
  explicit DebertaV2EmbeddingsImpl(DebertaV2Config config);
  void reset() override;
  torch::Tensor embed(const torch::Tensor& input_ids);
  /// `mask` [batch, seq] (1 real) or undefined; `types` [batch, seq] or undefined.
  torch::Tensor forward(const torch::Tensor& inputs_embeds, const torch::Tensor& mask,
                        const torch::Tensor& types);

  DebertaV2Config config;
  torch::nn::Embedding word_embeddings{nullptr};
  torch::nn::Embedding position_embeddings{nullptr};    // only with position_biased_input
  torch::nn::Embedding token_type_embeddings{nullptr};  // only with type_vocab_size > 0
  Linear embed_proj{nullptr};                           // only when the widths differ
  torch::nn::LayerNorm LayerNorm{nullptr};  // NOLINT(readability-identifier-naming)
};
TORCH_MODULE(DebertaV2Embeddings);

/// `attention.self`: DisentangledSelfAttention.
class DisentangledSelfAttentionImpl : public torch::nn::Cloneable<DisentangledSelfAttentionImpl> {
 public:
  explicit DisentangledSelfAttentionImpl(DebertaV2Config config);
  void reset() override;
  /// `mask` boolean [batch, 1, seq, seq] (true: attend); with relative_attention,
  /// `relative_pos` [seq, seq] (long) and `rel_embeddings` the rows rel_offset.. of the
  /// relative embeddings [2 * span, hidden] that these positions use (else undefined).
  torch::Tensor forward(const torch::Tensor& hidden_states, const torch::Tensor& mask,
                        const torch::Tensor& relative_pos, const torch::Tensor& rel_embeddings,
                        std::int64_t rel_offset = 0);

  DebertaV2Config config;
  Linear query_proj{nullptr};
  Linear key_proj{nullptr};
  Linear value_proj{nullptr};
  Linear pos_key_proj{nullptr};    // c2p without share_att_key
  Linear pos_query_proj{nullptr};  // p2c without share_att_key

 private:
  // [batch, seq, heads * d] -> [batch * heads, seq, d], as transformers' transpose_for_scores.
  torch::Tensor heads_first(const torch::Tensor& x) const;
};
TORCH_MODULE(DisentangledSelfAttention);

/// `attention.output` and `output`: dense, dropout, LayerNorm(x + residual).
class DebertaV2OutputImpl : public torch::nn::Cloneable<DebertaV2OutputImpl> {
 public:
  DebertaV2OutputImpl(DebertaV2Config config, std::int64_t in_features);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& residual);

  DebertaV2Config config;
  std::int64_t in_features;
  Linear dense{nullptr};
  torch::nn::LayerNorm LayerNorm{nullptr};  // NOLINT(readability-identifier-naming)
};
TORCH_MODULE(DebertaV2Output);

/// `attention`: `self` and `output`.
class DebertaV2AttentionImpl : public torch::nn::Cloneable<DebertaV2AttentionImpl> {
 public:
  explicit DebertaV2AttentionImpl(DebertaV2Config config);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask,
                        const torch::Tensor& relative_pos, const torch::Tensor& rel_embeddings,
                        std::int64_t rel_offset = 0);

  DebertaV2Config config;
  DisentangledSelfAttention self{nullptr};
  DebertaV2Output output{nullptr};
};
TORCH_MODULE(DebertaV2Attention);

/// `intermediate`: dense and the activation.
class DebertaV2IntermediateImpl : public torch::nn::Cloneable<DebertaV2IntermediateImpl> {
 public:
  explicit DebertaV2IntermediateImpl(DebertaV2Config config);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& x);

  DebertaV2Config config;
  Activation activation = Activation::Gelu;
  Linear dense{nullptr};
};
TORCH_MODULE(DebertaV2Intermediate);

/// `encoder.layer.N`: attention, intermediate, output.
class DebertaV2LayerImpl : public torch::nn::Cloneable<DebertaV2LayerImpl> {
 public:
  explicit DebertaV2LayerImpl(DebertaV2Config config);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask,
                        const torch::Tensor& relative_pos, const torch::Tensor& rel_embeddings,
                        std::int64_t rel_offset = 0);

  DebertaV2Config config;
  DebertaV2Attention attention{nullptr};
  DebertaV2Intermediate intermediate{nullptr};
  DebertaV2Output output{nullptr};
};
TORCH_MODULE(DebertaV2Layer);

/// `encoder.conv`: ConvLayer, applied to the first layer's output.
class DebertaV2ConvLayerImpl : public torch::nn::Cloneable<DebertaV2ConvLayerImpl> {
 public:
  explicit DebertaV2ConvLayerImpl(DebertaV2Config config);
  void reset() override;
  /// `hidden` the encoder's input, `residual` the first layer's output, `mask` [batch, seq]
  /// float (1 real).
  torch::Tensor forward(const torch::Tensor& hidden, const torch::Tensor& residual,
                        const torch::Tensor& mask);

  DebertaV2Config config;
  Activation activation = Activation::Tanh;
  torch::nn::Conv1d conv{nullptr};
  torch::nn::LayerNorm LayerNorm{nullptr};  // NOLINT(readability-identifier-naming)
};
TORCH_MODULE(DebertaV2ConvLayer);

/// `deberta.encoder`: the layers, the relative embeddings (and their LayerNorm), the conv.
class DebertaV2EncoderImpl : public torch::nn::Cloneable<DebertaV2EncoderImpl> {
 public:
  explicit DebertaV2EncoderImpl(DebertaV2Config config);
  void reset() override;
  /// `mask` [batch, seq] float (1 real).
  torch::Tensor forward(const torch::Tensor& hidden, const torch::Tensor& mask);

  DebertaV2Config config;
  torch::nn::ModuleList layer{nullptr};
  torch::nn::Embedding rel_embeddings{nullptr};  // with relative_attention
  torch::nn::LayerNorm LayerNorm{nullptr};  // NOLINT(readability-identifier-naming): norm_rel_ebd
  DebertaV2ConvLayer conv{nullptr};         // with conv_kernel_size > 0
  /// Recompute each layer's activations in the backward pass (model/checkpointing.h).
  bool gradient_checkpointing = false;
};
TORCH_MODULE(DebertaV2Encoder);

/// The relative positions [query, key] of a sequence of `length`, log-bucketed as
/// transformers' build_relative_position / make_log_bucket_position when `bucket_size` > 0.
torch::Tensor deberta_relative_positions(std::int64_t length, std::int64_t bucket_size,
                                         std::int64_t max_position, const torch::Device& device);

/// DebertaV2Model: `embeddings`, `encoder`.
class DebertaV2ModelImpl : public torch::nn::Cloneable<DebertaV2ModelImpl> {
 public:
  explicit DebertaV2ModelImpl(DebertaV2Config config);
  void reset() override;
  torch::Tensor embed(const torch::Tensor& input_ids) { return embeddings->embed(input_ids); }
  /// The last hidden state [batch, seq, hidden]; key/value prefixes are a runtime error.
  torch::Tensor forward(const EncoderInputs& inputs);

  DebertaV2Config config;
  DebertaV2Embeddings embeddings{nullptr};
  DebertaV2Encoder encoder{nullptr};
};
TORCH_MODULE(DebertaV2Model);

/// DebertaV2ForMaskedLM: `deberta` and the legacy head `cls.predictions` (transform to the
/// embedding width, the decoder: the word embeddings and `cls.predictions.bias` when tied,
/// `cls.predictions.decoder` when not) or, with `legacy: false`, `lm_predictions.lm_head`
/// (dense, activation, LayerNorm, the word embeddings, `bias`).
class DebertaV2ForMaskedLMImpl : public torch::nn::Cloneable<DebertaV2ForMaskedLMImpl>,
                                 public MaskedLM {
 public:
  explicit DebertaV2ForMaskedLMImpl(DebertaV2Config config);
  void reset() override;
  torch::Tensor embed(const torch::Tensor& input_ids) override { return deberta->embed(input_ids); }
  torch::Tensor encode(const EncoderInputs& inputs) override { return deberta(inputs); }
  torch::Tensor predict(const torch::Tensor& hidden_states) override;

  DebertaV2Config config;
  Activation activation = Activation::Gelu;
  DebertaV2Model deberta{nullptr};
  // The head's parts, registered under transformers' paths (plain holder modules between).
  Linear dense{nullptr};               // transform.dense / lm_head.dense
  torch::nn::LayerNorm norm{nullptr};  // transform.LayerNorm / lm_head.LayerNorm
  Linear decoder{nullptr};             // legacy and untied only
  torch::Tensor bias;                  // cls.predictions.bias / lm_head.bias
};
TORCH_MODULE(DebertaV2ForMaskedLM);

/// DebertaV2ForSequenceClassification: `deberta`, `pooler` (first position, dropout, dense,
/// pooler_hidden_act), dropout, `classifier`.
class DebertaV2ForSequenceClassificationImpl
    : public torch::nn::Cloneable<DebertaV2ForSequenceClassificationImpl>,
      public SequenceClassifier {
 public:
  explicit DebertaV2ForSequenceClassificationImpl(DebertaV2Config config);
  void reset() override;
  torch::Tensor embed(const torch::Tensor& input_ids) override { return deberta->embed(input_ids); }
  torch::Tensor classify(const EncoderInputs& inputs) override;

  DebertaV2Config config;
  Activation activation = Activation::Gelu;
  DebertaV2Model deberta{nullptr};
  Linear pooler_dense{nullptr};  // `pooler.dense` (a plain holder module `pooler` between)
  Linear classifier{nullptr};
};
TORCH_MODULE(DebertaV2ForSequenceClassification);

/// DebertaV2ForTokenClassification: `deberta`, dropout, `classifier`.
class DebertaV2ForTokenClassificationImpl
    : public torch::nn::Cloneable<DebertaV2ForTokenClassificationImpl>,
      public TokenClassifier {
 public:
  explicit DebertaV2ForTokenClassificationImpl(DebertaV2Config config);
  void reset() override;
  torch::Tensor embed(const torch::Tensor& input_ids) override { return deberta->embed(input_ids); }
  torch::Tensor classify_tokens(const EncoderInputs& inputs) override;

  DebertaV2Config config;
  DebertaV2Model deberta{nullptr};
  Linear classifier{nullptr};
};
TORCH_MODULE(DebertaV2ForTokenClassification);

}  // namespace pft::model
