#pragma once
// ModernBERT as torch::nn modules, numerically equal to transformers' ModernBertFor* classes
// (the padded SDPA path; transformers unpads only with flash attention, and padded rows do
// not change real ones), under transformers' names: `model.embeddings.{tok_embeddings,norm}`,
// `model.layers.N.{attn_norm,attn.Wqkv,attn.Wo,mlp_norm,mlp.Wi,mlp.Wo}` (layer 0 has no
// attn_norm), `model.final_norm`, heads `head.{dense,norm}` + `decoder` (masked LM, tied to the
// token embeddings) or + `classifier`.
//
// Pre-norm blocks, rotary positions (RoPE) with one theta for global and one for local
// layers, global attention every `global_attn_every_n_layers` layers (or as `layer_types`
// says) and a bidirectional sliding window of local_attention / 2 on either side elsewhere,
// GeGLU feed-forward (Wi gives input and gate), no biases unless the config asks.

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "pft/model/bert/config.h"
#include "pft/model/interfaces.h"
#include "pft/model/linear.h"

namespace pft::model {

struct ModernBertConfig {
  std::int64_t vocab_size = 50368;
  std::int64_t hidden_size = 768;
  std::int64_t intermediate_size = 1152;
  std::int64_t num_hidden_layers = 22;
  std::int64_t num_attention_heads = 12;
  std::string hidden_activation = "gelu";
  std::int64_t max_position_embeddings = 8192;
  double initializer_range = 0.02;
  double norm_eps = 1e-5;
  bool norm_bias = false;
  std::optional<std::int64_t> pad_token_id = 50283;
  bool attention_bias = false;
  double attention_dropout = 0.0;
  /// Per layer: true for global ("full_attention"), false for sliding-window attention.
  std::vector<bool> global_layers;
  double global_rope_theta = 160000.0;
  double local_rope_theta = 10000.0;
  std::int64_t local_attention = 128;  // the window; local_attention / 2 on either side
  double embedding_dropout = 0.0;
  bool mlp_bias = false;
  double mlp_dropout = 0.0;
  bool decoder_bias = true;
  std::string classifier_pooling = "cls";  // or "mean"
  double classifier_dropout = 0.0;
  bool classifier_bias = false;
  std::string classifier_activation = "gelu";
  bool tie_word_embeddings = true;
  std::vector<std::string> id2label{"LABEL_0", "LABEL_1"};
  std::string source = "(built in code)";

  std::int64_t head_dim() const { return hidden_size / num_attention_heads; }
  std::int64_t num_labels() const { return static_cast<std::int64_t>(id2label.size()); }

  /// Reads a parsed config.json (ModernBertConfig's keys and defaults; `layer_types` and
  /// `rope_parameters` as transformers 5 writes them, or the older `global_attn_every_n_layers`,
  /// `global_rope_theta`, `local_rope_theta`). Errors (pft::Error, Config) name `source` and
  /// the key.
  static ModernBertConfig from_json(const nlohmann::json& doc, const std::string& source);
  /// Checks every constraint (pft::Error, Config).
  void validate() const;
};

/// LayerNorm with an optional bias (`norm_bias`), as ModernBERT's nn.LayerNorm(bias=...).
class ModernBertNormImpl : public torch::nn::Cloneable<ModernBertNormImpl> {
 public:
  ModernBertNormImpl(std::int64_t width, double eps, bool bias);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& x);

  std::int64_t width;
  double eps;
  bool has_bias;
  torch::Tensor weight;
  torch::Tensor bias;  // undefined without norm_bias
};
TORCH_MODULE(ModernBertNorm);

/// `model.embeddings`: tok_embeddings, norm, dropout.
class ModernBertEmbeddingsImpl : public torch::nn::Cloneable<ModernBertEmbeddingsImpl> {
 public:
  explicit ModernBertEmbeddingsImpl(ModernBertConfig config);
  void reset() override;
  torch::Tensor embed(const torch::Tensor& input_ids);
  torch::Tensor forward(const torch::Tensor& inputs_embeds);

  ModernBertConfig config;
  torch::nn::Embedding tok_embeddings{nullptr};
  ModernBertNorm norm{nullptr};
};
TORCH_MODULE(ModernBertEmbeddings);

/// `attn`: Wqkv, rotary positions, attention, Wo.
class ModernBertAttentionImpl : public torch::nn::Cloneable<ModernBertAttentionImpl> {
 public:
  explicit ModernBertAttentionImpl(ModernBertConfig config);
  void reset() override;
  /// `cos`/`sin` [seq, head_dim]; `mask` boolean, broadcast to [batch, 1, seq, seq], or
  /// undefined.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                        const torch::Tensor& mask);

  ModernBertConfig config;
  Linear Wqkv{nullptr};  // NOLINT(readability-identifier-naming): transformers' names
  Linear Wo{nullptr};    // NOLINT(readability-identifier-naming)
};
TORCH_MODULE(ModernBertAttention);

/// `mlp`: Wi (input and gate), activation(input) * gate, dropout, Wo.
class ModernBertMLPImpl : public torch::nn::Cloneable<ModernBertMLPImpl> {
 public:
  explicit ModernBertMLPImpl(ModernBertConfig config);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& x);

  ModernBertConfig config;
  Activation activation = Activation::Gelu;  // hidden_activation, parsed once
  Linear Wi{nullptr};  // NOLINT(readability-identifier-naming)
  Linear Wo{nullptr};  // NOLINT(readability-identifier-naming)
};
TORCH_MODULE(ModernBertMLP);

/// `model.layers.N`: x + attn(attn_norm(x)), then + mlp(mlp_norm(.)).
class ModernBertLayerImpl : public torch::nn::Cloneable<ModernBertLayerImpl> {
 public:
  ModernBertLayerImpl(ModernBertConfig config, std::int64_t index);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                        const torch::Tensor& mask);

  ModernBertConfig config;
  std::int64_t index;
  ModernBertNorm attn_norm{nullptr};  // null for layer 0 (transformers' Identity)
  ModernBertAttention attn{nullptr};
  ModernBertNorm mlp_norm{nullptr};
  ModernBertMLP mlp{nullptr};
};
TORCH_MODULE(ModernBertLayer);

/// ModernBertModel: `embeddings`, `layers`, `final_norm`.
class ModernBertModelImpl : public torch::nn::Cloneable<ModernBertModelImpl> {
 public:
  explicit ModernBertModelImpl(ModernBertConfig config);
  void reset() override;
  torch::Tensor embed(const torch::Tensor& input_ids) { return embeddings->embed(input_ids); }
  /// The last hidden state [batch, seq, hidden] (after final_norm). Token types are ignored
  /// (ModernBERT has none); key/value prefixes are a runtime error.
  torch::Tensor forward(const EncoderInputs& inputs);

  ModernBertConfig config;
  ModernBertEmbeddings embeddings{nullptr};
  torch::nn::ModuleList layers{nullptr};
  ModernBertNorm final_norm{nullptr};
  /// Recompute each layer's activations in the backward pass (model/checkpointing.h).
  bool gradient_checkpointing = false;
};
TORCH_MODULE(ModernBertModel);

/// `head`: dense, classifier_activation, norm.
class ModernBertPredictionHeadImpl : public torch::nn::Cloneable<ModernBertPredictionHeadImpl> {
 public:
  explicit ModernBertPredictionHeadImpl(ModernBertConfig config);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& x);

  ModernBertConfig config;
  Activation activation = Activation::Gelu;  // classifier_activation, parsed once
  Linear dense{nullptr};
  ModernBertNorm norm{nullptr};
};
TORCH_MODULE(ModernBertPredictionHead);

/// `decoder` of the masked LM: the token embeddings (tied) or its own weight, and a bias
/// when decoder_bias.
class ModernBertDecoderImpl : public torch::nn::Cloneable<ModernBertDecoderImpl> {
 public:
  explicit ModernBertDecoderImpl(ModernBertConfig config);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& tok_embeddings);

  ModernBertConfig config;
  torch::Tensor weight;  // undefined when tied
  torch::Tensor bias;    // undefined without decoder_bias
};
TORCH_MODULE(ModernBertDecoder);

/// ModernBertForMaskedLM: `model`, `head`, `decoder`.
class ModernBertForMaskedLMImpl : public torch::nn::Cloneable<ModernBertForMaskedLMImpl>,
                                  public MaskedLM {
 public:
  explicit ModernBertForMaskedLMImpl(ModernBertConfig config);
  void reset() override;
  torch::Tensor embed(const torch::Tensor& input_ids) override { return model->embed(input_ids); }
  torch::Tensor encode(const EncoderInputs& inputs) override { return model(inputs); }
  torch::Tensor predict(const torch::Tensor& hidden_states) override;

  ModernBertConfig config;
  ModernBertModel model{nullptr};
  ModernBertPredictionHead head{nullptr};
  ModernBertDecoder decoder{nullptr};
};
TORCH_MODULE(ModernBertForMaskedLM);

/// ModernBertForSequenceClassification: `model`, pooling (first position or mean over the
/// mask), `head`, dropout, `classifier`.
class ModernBertForSequenceClassificationImpl
    : public torch::nn::Cloneable<ModernBertForSequenceClassificationImpl>,
      public SequenceClassifier {
 public:
  explicit ModernBertForSequenceClassificationImpl(ModernBertConfig config);
  void reset() override;
  torch::Tensor embed(const torch::Tensor& input_ids) override { return model->embed(input_ids); }
  torch::Tensor classify(const EncoderInputs& inputs) override;

  ModernBertConfig config;
  ModernBertModel model{nullptr};
  ModernBertPredictionHead head{nullptr};
  Linear classifier{nullptr};
};
TORCH_MODULE(ModernBertForSequenceClassification);

/// ModernBertForTokenClassification: `model`, `head`, dropout, `classifier` on every position.
class ModernBertForTokenClassificationImpl
    : public torch::nn::Cloneable<ModernBertForTokenClassificationImpl>,
      public TokenClassifier {
 public:
  explicit ModernBertForTokenClassificationImpl(ModernBertConfig config);
  void reset() override;
  torch::Tensor embed(const torch::Tensor& input_ids) override { return model->embed(input_ids); }
  torch::Tensor classify_tokens(const EncoderInputs& inputs) override;

  ModernBertConfig config;
  ModernBertModel model{nullptr};
  ModernBertPredictionHead head{nullptr};
  Linear classifier{nullptr};
};
TORCH_MODULE(ModernBertForTokenClassification);

}  // namespace pft::model
