#pragma once
// T5 (v1.0, v1.1, FLAN-T5) as torch::nn modules registered under Hugging Face's state-dict
// names (`shared`, `encoder.block.0.layer.0.SelfAttention.q`, `decoder.block.0.layer.1.
// EncDecAttention.k`, `decoder.final_layer_norm`, `lm_head`, ...), numerically equal to
// transformers' T5ForConditionalGeneration, with incremental decoding against a key/value
// cache.
//
// Hook points (ARCHITECTURE.md): `embed(input_ids)`, and `encode`/`decode` that take
// inputs_embeds, an attention mask and optional per-layer key/value prefixes.
//
// Prefixes: a layer's key/value prefix of length P is placed in front of that layer's own
// keys and values and is always attended (the attention mask is extended by P ones). The
// relative position bias treats the prefix exactly as transformers treats P cached past
// positions: the sequence's tokens keep their relative distances, and prefix slot k (0..P-1)
// gets the bias of relative position k - (P + i) for query i. In the decoder this is what
// PEFT's prefix tuning does with transformers (the prefix is passed as past key/values), so
// prefixes trained there give the same outputs here; the encoder uses the same rule
// (bidirectional buckets) for one consistent meaning. Cross-attention prefixes (optional) are
// placed in front of the keys/values computed from the encoder output and always attended;
// cross-attention has no position bias, so they need no positions.

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "pft/model/hooks.h"
#include "pft/model/interfaces.h"
#include "pft/model/linear.h"
#include "pft/model/seq2seq.h"

namespace pft::model {

/// Hyper-parameters of a T5 checkpoint, read from its config.json. Defaults are
/// transformers' T5Config defaults (t5-small).
struct T5Config {
  std::int64_t vocab_size = 32128;
  std::int64_t d_model = 512;
  std::int64_t d_kv = 64;  // size of one attention head
  std::int64_t d_ff = 2048;
  std::int64_t num_layers = 6;          // encoder blocks
  std::int64_t num_decoder_layers = 6;  // absent from config.json: num_layers
  std::int64_t num_heads = 8;
  std::int64_t relative_attention_num_buckets = 32;
  std::int64_t relative_attention_max_distance = 128;
  double dropout_rate = 0.1;
  double layer_norm_epsilon = 1e-6;
  /// `relu` (v1.0), `gated-gelu` (v1.1, FLAN), or `[gated-]ACT` with ACT one of relu, gelu,
  /// gelu_new, silu.
  std::string feed_forward_proj = "relu";
  std::string dense_act_fn = "relu";  // derived: ACT (`gated-gelu` means gelu_new)
  bool is_gated_act = false;          // derived: wi_0/wi_1 instead of wi
  bool tie_word_embeddings = true;
  /// Logits are computed from decoder outputs scaled by d_model^-0.5 (T5 v1.0). The config key
  /// `scale_decoder_outputs` when present (transformers 5 writes it), else tie_word_embeddings.
  bool scale_decoder_outputs = true;
  std::int64_t decoder_start_token_id = 0;     // absent: pad_token_id
  std::vector<std::int64_t> eos_token_ids{1};  // `eos_token_id`: an id or a list of ids
  std::int64_t pad_token_id = 0;
  /// UMT5: every block's self-attention owns its relative_attention_bias (T5 and mT5: block 0's
  /// serves every block of its stack).
  bool per_layer_relative_bias = false;

  /// Reads a parsed config.json (model_type t5, mt5 or umt5); `source` (its path) names it in errors, which also name the
  /// key, the expected and the found value. Unknown keys are ignored (config.json carries
  /// many that do not shape the model).
  static T5Config from_json(const nlohmann::json& doc, const std::string& source);
  /// Checks sizes and ids; throws pft::Error (Input) naming `source` and the key.
  void validate(const std::string& source) const;
};

/// T5's layer norm: RMS normalisation without mean or bias, computed in float32.
class T5LayerNormImpl : public torch::nn::Cloneable<T5LayerNormImpl> {
 public:
  T5LayerNormImpl(std::int64_t hidden_size, double eps);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& hidden);

  torch::Tensor weight;

 private:
  std::int64_t hidden_size_;
  double eps_;
};
TORCH_MODULE(T5LayerNorm);

/// The feed-forward block, HF's `DenseReluDense`: wi -> act -> wo, or act(wi_0) * wi_1 -> wo.
class T5DenseImpl : public torch::nn::Cloneable<T5DenseImpl> {
 public:
  explicit T5DenseImpl(const T5Config& config);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& hidden);

  Linear wi{nullptr}, wi_0{nullptr}, wi_1{nullptr}, wo{nullptr};

 private:
  T5Config config_;
};
TORCH_MODULE(T5Dense);

/// Keys and values of one attention layer, [batch, heads, length, d_kv].
struct KeyValue {
  torch::Tensor key;
  torch::Tensor value;
};

/// Multi-head attention without 1/sqrt(d) scaling; scores get an additive bias (relative
/// position bias and mask) through SDPA's float mask.
class T5AttentionImpl : public torch::nn::Cloneable<T5AttentionImpl> {
 public:
  /// `relative_bias`: this layer owns `relative_attention_bias` (block 0 of a stack);
  /// `bidirectional`: encoder buckets (true) or decoder buckets (false).
  T5AttentionImpl(const T5Config& config, bool relative_bias, bool bidirectional);
  void reset() override;

  /// Projects `states` [batch, len, d_model] to keys and values [batch, heads, len, d_kv].
  KeyValue project_kv(const torch::Tensor& states);
  /// Attends `hidden` [batch, q_len, d_model] over `kv`; `bias` is added to the scores
  /// (broadcast to [batch, heads, q_len, kv_len]) or undefined. Returns [batch, q_len, d_model].
  torch::Tensor attend(const torch::Tensor& hidden, const KeyValue& kv, const torch::Tensor& bias);
  /// The relative position bias [1, heads, q_len, k_len] for queries at positions
  /// offset..offset+q_len-1 and keys at 0..k_len-1. Needs `relative_attention_bias`.
  torch::Tensor compute_bias(std::int64_t q_len, std::int64_t k_len, std::int64_t offset,
                             const torch::Device& device);

  Linear q{nullptr}, k{nullptr}, v{nullptr}, o{nullptr};
  torch::nn::Embedding relative_attention_bias{nullptr};

 private:
  T5Config config_;
  bool has_relative_bias_;
  bool bidirectional_;
};
TORCH_MODULE(T5Attention);

/// layer.0 of a block: `SelfAttention` after `layer_norm`, plus the residual.
class T5LayerSelfAttentionImpl : public torch::nn::Cloneable<T5LayerSelfAttentionImpl> {
 public:
  T5LayerSelfAttentionImpl(const T5Config& config, bool relative_bias, bool bidirectional);
  void reset() override;

  T5Attention SelfAttention{nullptr};
  T5LayerNorm layer_norm{nullptr};

 private:
  T5Config config_;
  bool relative_bias_;
  bool bidirectional_;
};
TORCH_MODULE(T5LayerSelfAttention);

/// layer.1 of a decoder block: `EncDecAttention` after `layer_norm`, plus the residual.
class T5LayerCrossAttentionImpl : public torch::nn::Cloneable<T5LayerCrossAttentionImpl> {
 public:
  explicit T5LayerCrossAttentionImpl(const T5Config& config);
  void reset() override;

  T5Attention EncDecAttention{nullptr};
  T5LayerNorm layer_norm{nullptr};

 private:
  T5Config config_;
};
TORCH_MODULE(T5LayerCrossAttention);

/// The last layer of a block: `DenseReluDense` after `layer_norm`, plus the residual.
class T5LayerFFImpl : public torch::nn::Cloneable<T5LayerFFImpl> {
 public:
  explicit T5LayerFFImpl(const T5Config& config);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& hidden);

  T5Dense DenseReluDense{nullptr};
  T5LayerNorm layer_norm{nullptr};

 private:
  T5Config config_;
};
TORCH_MODULE(T5LayerFF);

/// One block: `layer` = [self-attention, (cross-attention,) feed-forward].
class T5BlockImpl : public torch::nn::Cloneable<T5BlockImpl> {
 public:
  T5BlockImpl(const T5Config& config, bool is_decoder, bool relative_bias);
  void reset() override;

  torch::nn::ModuleList layer{nullptr};
  // The same modules as in `layer`, typed.
  T5LayerSelfAttention self_attention{nullptr};
  T5LayerCrossAttention cross_attention{nullptr};  // decoder only
  T5LayerFF feed_forward{nullptr};

 private:
  T5Config config_;
  bool is_decoder_;
  bool relative_bias_;
};
TORCH_MODULE(T5Block);

/// The decoder's key/value cache: per layer, self-attention keys/values (prefix first, then
/// every token fed so far) and cross-attention keys/values computed once from the encoder
/// output. Rows may come in groups of `copies` consecutive rows decoding the same source
/// (beams): cross-attention keys/values are then stored once per source, and the queries of a
/// group attend to them together.
struct T5DecoderCache final : DecoderState {
  std::vector<KeyValue> self;   // [rows, heads, prefix + tokens, d_kv]
  std::vector<KeyValue> cross;  // [rows / copies, heads, src_len, d_kv]
  torch::Tensor
      cross_mask;  // additive [rows / copies, 1, 1, src_len] (0 or finfo.min), or undefined
  std::int64_t copies = 1;
  std::int64_t prefix_length = 0;
  std::int64_t tokens = 0;  // decoder tokens fed so far

  /// Rows `index`. While every row stays in its group (beam search), the shared
  /// cross-attention keys/values are kept as they are; otherwise they are expanded per row.
  void select(const torch::Tensor& index) override;
  std::int64_t length() const override { return tokens; }
};

/// A stack of blocks (`block.N`) and `final_layer_norm`: the encoder or the decoder. The
/// token embedding is the parent's `shared`, so the stack registers none.
class T5StackImpl : public torch::nn::Cloneable<T5StackImpl> {
 public:
  T5StackImpl(const T5Config& config, bool is_decoder);
  void reset() override;

  /// Encoder: inputs_embeds [batch, len, d_model], attention_mask [batch, len] (1 real, 0
  /// padding; undefined: no padding). Returns the last hidden state.
  torch::Tensor encode(const torch::Tensor& inputs_embeds, const torch::Tensor& attention_mask,
                       const LayerPrefixes* prefixes = nullptr);

  /// Decoder: a cache for `encoder_hidden` [sources, src_len, d_model] (its mask
  /// [sources, src_len] may be undefined), decoding `copies` rows per source, holding the
  /// self-attention `prefixes` ([sources * copies or 1, ...]) and the cross-attention
  /// `cross_prefixes` ([sources or 1, ...], every layer or none) when given.
  T5DecoderCache start_cache(const torch::Tensor& encoder_hidden, const torch::Tensor& encoder_mask,
                             const LayerPrefixes* prefixes = nullptr, std::int64_t copies = 1,
                             const LayerPrefixes* cross_prefixes = nullptr);
  /// Decoder: feeds `inputs_embeds` [rows, len, d_model] after the cache's tokens (causal),
  /// appends their keys/values to the cache and returns their last hidden state.
  /// `attention_mask` [rows, cache.tokens + len] masks padded decoder positions (undefined:
  /// none). Feeding a whole sequence at once (teacher forcing) and one token at a time give
  /// the same result.
  torch::Tensor decode(const torch::Tensor& inputs_embeds, const torch::Tensor& attention_mask,
                       T5DecoderCache& cache);
  /// Decoder, teacher forcing: the whole of `inputs_embeds` [batch, len, d_model] (causal) over
  /// `encoder_hidden`, with no cache; the same result as start_cache + decode. Each block
  /// computes its cross-attention keys/values itself, so that gradient checkpointing recomputes
  /// them instead of keeping them.
  torch::Tensor decode_all(const torch::Tensor& inputs_embeds, const torch::Tensor& attention_mask,
                           const torch::Tensor& encoder_hidden, const torch::Tensor& encoder_mask,
                           const LayerPrefixes* prefixes = nullptr,
                           const LayerPrefixes* cross_prefixes = nullptr);

  torch::nn::ModuleList block{nullptr};
  std::vector<T5Block> blocks;  // the same modules, typed
  T5LayerNorm final_layer_norm{nullptr};
  /// Keep only each block's inputs during `encode` / `decode_all` and recompute the block in
  /// the backward pass (pft/model/checkpointing.h); only while training with gradients on.
  bool gradient_checkpointing = false;

 private:
  // Block i's cross-attention keys/values from the encoder output, behind its prefix if any.
  KeyValue cross_kv(std::size_t i, const torch::Tensor& encoder_hidden, const LayerPrefix* prefix);
  // The additive cross-attention mask [sources, 1, 1, prefix + src_len], undefined when
  // nothing is padded.
  torch::Tensor cross_mask(const torch::Tensor& encoder_mask, std::int64_t cross_prefix,
                           const torch::Tensor& encoder_hidden);
  // The self-attention bias of `length` new decoder queries after `past` positions (prefix
  // first), over all keys, causal and with `attention_mask`'s padding; from block `block`'s
  // relative_attention_bias with per-layer biases (UMT5), else from block 0's.
  torch::Tensor decoder_bias(std::int64_t rows, std::int64_t length, std::int64_t prefix,
                             std::int64_t past, const torch::Tensor& attention_mask,
                             const torch::Tensor& like, std::size_t block = 0);
  // Decoder block i on `hidden`: self-attention over `self_kv` (on entry the past keys/values,
  // on return with the new ones appended), cross-attention, feed-forward.
  torch::Tensor decoder_block(std::size_t i, const torch::Tensor& hidden, KeyValue& self_kv,
                              const torch::Tensor& self_bias, const KeyValue& cross,
                              const torch::Tensor& cross_mask, std::int64_t copies);
  // Encoder block i; `prefix` is the layer's key/value prefix or null.
  torch::Tensor encoder_block(std::size_t i, const torch::Tensor& hidden, const LayerPrefix* prefix,
                              const torch::Tensor& bias);

  T5Config config_;
  bool is_decoder_;
};
TORCH_MODULE(T5Stack);

struct T5Options {
  T5Options(T5Config config) : config(std::move(config)) {}  // NOLINT: implicit on purpose
  T5Config config;
  /// Register `lm_head` with its own weight. False ties the output projection to `shared`
  /// (no `lm_head` module): checkpoints without `lm_head.weight`.
  TORCH_ARG(bool, own_lm_head) = true;
};

/// What a full forward pass returns.
struct T5Output {
  torch::Tensor logits;          // [batch, dec_len, vocab]
  torch::Tensor encoder_hidden;  // [batch, src_len, d_model]
  torch::Tensor decoder_hidden;  // [batch, dec_len, d_model], before the output projection
};

/// T5ForConditionalGeneration: `shared`, `encoder`, `decoder`, `lm_head`.
class T5Impl : public torch::nn::Cloneable<T5Impl>, public EncoderDecoderLM {
 public:
  explicit T5Impl(T5Options options);
  void reset() override;

  /// Token embeddings (`shared`): the hook where prompt tuning prepends virtual tokens.
  torch::Tensor embed(const torch::Tensor& input_ids) override;
  /// Encoder last hidden state.
  torch::Tensor encode(const torch::Tensor& inputs_embeds, const torch::Tensor& attention_mask,
                       const LayerPrefixes* prefixes = nullptr);

  // EncoderDecoderLM (token types are ignored: T5 has none).
  torch::Tensor encode(const EncoderInputs& inputs) override;
  torch::Tensor logits(const EncoderInputs& inputs, const torch::Tensor& decoder_embeds,
                       const torch::Tensor& decoder_mask,
                       const LayerPrefixes* decoder_prefixes = nullptr,
                       const LayerPrefixes* cross_prefixes = nullptr) override;
  std::unique_ptr<DecoderState> start_decoding(const torch::Tensor& encoder_hidden,
                                               const torch::Tensor& encoder_mask,
                                               const LayerPrefixes* self_prefixes,
                                               std::int64_t copies,
                                               const LayerPrefixes* cross_prefixes) override;
  /// Logits from decoder hidden states (scaled by d_model^-0.5 when the config says so).
  torch::Tensor lm_logits(const torch::Tensor& decoder_hidden);

  /// Teacher-forced pass: encoder over inputs_embeds, decoder over decoder_inputs_embeds
  /// (causal, decoder_attention_mask may be undefined).
  T5Output forward(const torch::Tensor& inputs_embeds, const torch::Tensor& attention_mask,
                   const torch::Tensor& decoder_inputs_embeds,
                   const torch::Tensor& decoder_attention_mask,
                   const LayerPrefixes* encoder_prefixes = nullptr,
                   const LayerPrefixes* decoder_prefixes = nullptr,
                   const LayerPrefixes* cross_prefixes = nullptr);
  /// The same from token ids.
  T5Output forward_ids(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                       const torch::Tensor& decoder_input_ids,
                       const torch::Tensor& decoder_attention_mask);

  /// Decoder inputs for `labels`: decoder_start_token_id, then labels shifted right, -100
  /// replaced by pad_token_id.
  torch::Tensor shift_right(const torch::Tensor& labels) const override;

  // Seq2SeqLM: generation without hooks.
  std::unique_ptr<DecoderState> start(const torch::Tensor& input_ids,
                                      const torch::Tensor& attention_mask,
                                      std::int64_t copies) override;
  torch::Tensor step(DecoderState& state, const torch::Tensor& tokens) override;
  SpecialTokens special_tokens() const override;
  torch::Device device() const override;
  /// Switches the decoder's products and the output projection to `type`.
  void set_decode_compute_type(ComputeType type) override;
  ComputeType decode_compute_type() const override { return tied_output_.type(); }

  const T5Config& config() const { return options_.config; }
  bool has_own_lm_head() const { return options_.own_lm_head(); }

  torch::nn::Embedding shared{nullptr};
  T5Stack encoder{nullptr};
  T5Stack decoder{nullptr};
  Linear lm_head{nullptr};  // null when tied to `shared`

 private:
  T5Options options_;
  ReducedWeight tied_output_;  // the output projection's copy when it is `shared`
};
TORCH_MODULE(T5);

/// Builds a T5 from a Hugging Face folder (config.json and weights) on `device`, in float32.
/// `lm_head.weight` from the checkpoint when present, else the output projection is tied to
/// `shared.weight` (transformers does the same). Missing weights are errors naming the folder
/// and the tensors; unused ones (old checkpoints' `encoder.embed_tokens.weight`, ...) are
/// logged at debug level. The model is returned in eval mode.
T5 load_t5(const std::string& dir, const torch::Device& device = torch::kCPU);

}  // namespace pft::model
