#include "pft/model/bert/bert.h"

#include <cmath>
#include <string>
#include <utility>

#include "pft/model/checkpointing.h"
#include "pft/model/checks.h"
#include "pft/model/dropout.h"
#include "pft/model/linear.h"
#include "pft/model/project.h"
#include "pft/util/error.h"
#include "pft/util/log.h"

#include <fmt/ranges.h>

namespace pft::model {

namespace F = torch::nn::functional;

namespace {

std::string shape_of(const torch::Tensor& t) {
  if (!t.defined()) return "an undefined tensor";
  return fmt::format("[{}]", fmt::join(t.sizes().begin(), t.sizes().end(), ", "));
}

// Shape errors here are caller mistakes (a task or PEFT method built the wrong tensors).
[[noreturn]] void shape_error(const std::string& what, const std::string& expected,
                              const torch::Tensor& got) {
  throw Error(ErrorKind::Runtime,
              fmt::format("BERT forward: {}: expected {}, got {}", what, expected, shape_of(got)));
}

Linear make_linear(std::int64_t in, std::int64_t out, bool bias = true) {
  return Linear(torch::nn::LinearOptions(in, out).bias(bias));
}

// A LayerNorm `width` wide (0: hidden_size).
torch::nn::LayerNorm make_layer_norm(const BertConfig& c, std::int64_t width = 0) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({width > 0 ? width : c.hidden_size})
                                  .eps(c.layer_norm_eps)
                                  .elementwise_affine(true));
}

// Ids past the end of an embedding table are a mismatch between data (tokenizer) and
// checkpoint; checked here so that it is an error with both numbers, not an index assert.
void check_ids(const torch::Tensor& ids, std::int64_t limit, const char* what, const char* key,
               const BertConfig& config) {
  check_id_range(ids, limit, what, key, config.source);
}

}  // namespace

torch::Tensor activate(Activation activation, const torch::Tensor& x) {
  switch (activation) {
    case Activation::Gelu:
      return F::gelu(x);
    case Activation::GeluNew:
      // transformers' NewGELUActivation, written out as it computes it.
      return 0.5 * x *
             (1.0 + torch::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * torch::pow(x, 3.0))));
    case Activation::GeluPytorchTanh:
      return F::gelu(x, F::GELUFuncOptions().approximate("tanh"));
    case Activation::Relu:
      return torch::relu(x);
    case Activation::Silu:
      return torch::silu(x);
    case Activation::Tanh:
      return torch::tanh(x);
  }
  throw Error(ErrorKind::Runtime, "unknown activation");
}

void init_bert_weights(torch::nn::Module& module, const BertConfig& config) {
  torch::NoGradGuard no_grad;
  const double std = config.initializer_range;
  for (const auto& m : module.modules(/*include_self=*/true)) {
    if (auto* linear = m->as<Linear>()) {
      linear->weight.normal_(0.0, std);
      if (linear->bias.defined()) linear->bias.zero_();
    } else if (auto* embedding = m->as<torch::nn::Embedding>()) {
      embedding->weight.normal_(0.0, std);
      if (const auto& pad = embedding->options.padding_idx()) embedding->weight[*pad].zero_();
    } else if (auto* norm = m->as<torch::nn::LayerNorm>()) {
      norm->weight.fill_(1.0);
      norm->bias.zero_();
    } else if (auto* head = m->as<BertLMPredictionHead>()) {
      head->bias.zero_();
    }
  }
}

// ---- embeddings -------------------------------------------------------------------------

BertEmbeddingsImpl::BertEmbeddingsImpl(BertConfig config_) : config(std::move(config_)) { reset(); }

void BertEmbeddingsImpl::reset() {
  const auto width = config.embedding_width();
  auto word = torch::nn::EmbeddingOptions(config.vocab_size, width);
  if (config.pad_token_id) word.padding_idx(*config.pad_token_id);
  word_embeddings = register_module("word_embeddings", torch::nn::Embedding(word));
  position_embeddings = register_module(
      "position_embeddings", torch::nn::Embedding(config.max_position_embeddings, width));
  token_type_embeddings = register_module("token_type_embeddings",
                                          torch::nn::Embedding(config.type_vocab_size, width));
  LayerNorm = register_module("LayerNorm", make_layer_norm(config, width));
  dropout = register_module("dropout", torch::nn::Dropout(config.hidden_dropout_prob));
}

void check_input_ids(const torch::Tensor& input_ids, const BertConfig& config) {
  if (input_ids.dim() != 2) shape_error("input_ids", "[batch, seq]", input_ids);
  check_ids(input_ids, config.vocab_size, "input ids", "vocab_size", config);
}

torch::Tensor BertEmbeddingsImpl::embed(const torch::Tensor& input_ids) {
  check_input_ids(input_ids, config);
  return word_embeddings(input_ids);
}

torch::Tensor BertEmbeddingsImpl::forward(const torch::Tensor& inputs_embeds,
                                          const torch::Tensor& token_type_ids,
                                          std::int64_t past_length,
                                          const torch::Tensor& position_ids) {
  const auto batch = inputs_embeds.size(0);
  const auto seq = inputs_embeds.size(1);
  if (!position_ids.defined() && past_length + seq > config.max_position_embeddings) {
    throw Error(
        ErrorKind::Input,
        fmt::format(
            "BERT input of {} positions{} exceeds max_position_embeddings = {} of {}", seq,
            past_length > 0 ? fmt::format(" after a prefix of {}", past_length) : std::string(),
            config.max_position_embeddings, config.source),
        "lower tokenizer.max_length");
  }
  const auto device = inputs_embeds.device();
  const auto positions =
      position_ids.defined()
          ? position_ids
          : torch::arange(past_length, past_length + seq,
                          torch::TensorOptions().dtype(torch::kLong).device(device))
                .unsqueeze(0);
  torch::Tensor types;
  if (token_type_ids.defined()) {
    if (token_type_ids.dim() != 2 || token_type_ids.size(0) != batch ||
        token_type_ids.size(1) != seq) {
      shape_error("token_type_ids", fmt::format("[{}, {}]", batch, seq), token_type_ids);
    }
    check_ids(token_type_ids, config.type_vocab_size, "token_type_ids", "type_vocab_size", config);
    types = token_type_embeddings(token_type_ids);
  } else {
    // Row 0 of the table, broadcast: what transformers adds for all-zero token types.
    types = token_type_embeddings->weight[0];
  }
  // Same order of additions as transformers: (inputs + token types) + positions.
  auto embeddings = inputs_embeds + types;
  embeddings = embeddings + position_embeddings(positions);
  return pft::model::dropout(LayerNorm(embeddings), dropout->options.p(), dropout->is_training());
}

// ---- attention --------------------------------------------------------------------------

BertSelfAttentionImpl::BertSelfAttentionImpl(BertConfig config_) : config(std::move(config_)) {
  reset();
}

void BertSelfAttentionImpl::reset() {
  query = register_module("query", make_linear(config.hidden_size, config.hidden_size));
  key = register_module("key", make_linear(config.hidden_size, config.hidden_size));
  value = register_module("value", make_linear(config.hidden_size, config.hidden_size));
}

torch::Tensor BertSelfAttentionImpl::forward(const torch::Tensor& hidden_states,
                                             const torch::Tensor& mask, const LayerPrefix* prefix) {
  const auto batch = hidden_states.size(0);
  const auto seq = hidden_states.size(1);
  const auto heads = config.num_attention_heads;
  const auto head_dim = config.head_dim();
  // [batch, seq, hidden] -> [batch, heads, seq, head_dim]
  const auto split_heads = [&](const torch::Tensor& x) {
    return x.view({batch, seq, heads, head_dim}).transpose(1, 2);
  };
  // Cast once under autocast for the three products (each Linear then casts nothing more).
  const auto x = autocast_operand(hidden_states);
  const auto q = split_heads(query(x));
  auto k = split_heads(key(x));
  auto v = split_heads(value(x));

  auto attn_mask = mask;
  if (prefix != nullptr && prefix->key.defined()) {
    const auto& pk = prefix->key;
    const auto& pv = prefix->value;
    if (pk.dim() != 4 || pk.size(0) != batch || pk.size(1) != heads || pk.size(3) != head_dim) {
      shape_error("prefix key", fmt::format("[{}, {}, prefix_len, {}]", batch, heads, head_dim),
                  pk);
    }
    if (!pv.defined() || !pv.sizes().equals(pk.sizes())) {
      shape_error("prefix value", "the prefix key's shape " + shape_of(pk), pv);
    }
    k = torch::cat({pk.to(k.dtype()), k}, 2);
    v = torch::cat({pv.to(v.dtype()), v}, 2);
    if (attn_mask.defined()) {
      const auto attend = torch::ones({batch, 1, 1, pk.size(2)}, attn_mask.options());
      attn_mask = torch::cat({attend, attn_mask.expand({batch, 1, 1, seq})}, 3);
    }
  }
  const double dropout_p = is_training() ? config.attention_probs_dropout_prob : 0.0;
  // The scale as transformers computes it (head_size ** -0.5): 1/sqrt(d), SDPA's default,
  // can differ from it in the last bit, and that bit shows after a few layers.
  const double scale = std::pow(static_cast<double>(head_dim), -0.5);
  const auto context = attention(q, k, v, attn_mask, dropout_p, scale);
  return context.transpose(1, 2).reshape({batch, seq, config.hidden_size});
}

BertSelfOutputImpl::BertSelfOutputImpl(BertConfig config_, std::int64_t in_features_)
    : config(std::move(config_)), in_features(in_features_) {
  reset();
}

void BertSelfOutputImpl::reset() {
  dense = register_module("dense", make_linear(in_features, config.hidden_size));
  LayerNorm = register_module("LayerNorm", make_layer_norm(config));
  dropout = register_module("dropout", torch::nn::Dropout(config.hidden_dropout_prob));
}

torch::Tensor BertSelfOutputImpl::forward(const torch::Tensor& hidden_states,
                                          const torch::Tensor& input_tensor) {
  return LayerNorm(
      pft::model::dropout(dense(hidden_states), dropout->options.p(), dropout->is_training()) +
      input_tensor);
}

BertAttentionImpl::BertAttentionImpl(BertConfig config_) : config(std::move(config_)) { reset(); }

void BertAttentionImpl::reset() {
  self = register_module("self", BertSelfAttention(config));
  output = register_module("output", BertSelfOutput(config, config.hidden_size));
}

torch::Tensor BertAttentionImpl::forward(const torch::Tensor& hidden_states,
                                         const torch::Tensor& mask, const LayerPrefix* prefix) {
  return output(self(hidden_states, mask, prefix), hidden_states);
}

// ---- layers -----------------------------------------------------------------------------

BertIntermediateImpl::BertIntermediateImpl(BertConfig config_) : config(std::move(config_)) {
  reset();
}

void BertIntermediateImpl::reset() {
  config.activation();  // fail at build time, not at the first forward
  dense = register_module("dense", make_linear(config.hidden_size, config.intermediate_size));
}

torch::Tensor BertIntermediateImpl::forward(const torch::Tensor& hidden_states) {
  return activate(config.activation(), dense(hidden_states));
}

BertLayerImpl::BertLayerImpl(BertConfig config_) : config(std::move(config_)) { reset(); }

void BertLayerImpl::reset() {
  attention = register_module("attention", BertAttention(config));
  intermediate = register_module("intermediate", BertIntermediate(config));
  output = register_module("output", BertSelfOutput(config, config.intermediate_size));
}

torch::Tensor BertLayerImpl::forward(const torch::Tensor& hidden_states, const torch::Tensor& mask,
                                     const LayerPrefix* prefix) {
  const auto attention_output = attention(hidden_states, mask, prefix);
  return output(intermediate(attention_output), attention_output);
}

BertEncoderImpl::BertEncoderImpl(BertConfig config_) : config(std::move(config_)) { reset(); }

void BertEncoderImpl::reset() {
  layer = torch::nn::ModuleList();
  for (std::int64_t i = 0; i < config.num_hidden_layers; ++i) layer->push_back(BertLayer(config));
  layer = register_module("layer", layer);
}

torch::Tensor BertEncoderImpl::forward(const torch::Tensor& hidden_states,
                                       const torch::Tensor& mask, const LayerPrefixes* prefixes,
                                       std::vector<torch::Tensor>* all_hidden_states) {
  auto h = hidden_states;
  const bool recompute = gradient_checkpointing && is_training() && torch::GradMode::is_enabled();
  for (std::size_t i = 0; i < layer->size(); ++i) {
    const LayerPrefix* prefix = prefixes != nullptr ? &prefixes->layers[i] : nullptr;
    if (recompute) {
      // Prefixes are inputs of the checkpointed block, so their gradients reach the method.
      const bool has_prefix = prefix != nullptr && prefix->key.defined();
      std::vector<torch::Tensor> inputs{h};
      if (has_prefix) inputs.insert(inputs.end(), {prefix->key, prefix->value});
      auto block = layer->ptr<BertLayerImpl>(i);
      h = checkpoint(
          [block, mask, has_prefix](const std::vector<torch::Tensor>& x) {
            LayerPrefix p;
            if (has_prefix) p = LayerPrefix{x[1], x[2]};
            return block->forward(x[0], mask, has_prefix ? &p : nullptr);
          },
          inputs);
    } else {
      h = layer->ptr<BertLayerImpl>(i)->forward(h, mask, prefix);
    }
    if (all_hidden_states != nullptr) all_hidden_states->push_back(h);
  }
  return h;
}

BertPoolerImpl::BertPoolerImpl(BertConfig config_) : config(std::move(config_)) { reset(); }

void BertPoolerImpl::reset() {
  dense = register_module("dense", make_linear(config.hidden_size, config.hidden_size));
}

torch::Tensor BertPoolerImpl::forward(const torch::Tensor& hidden_states) {
  return torch::tanh(dense(hidden_states.select(1, 0)));
}

// ---- BertModel --------------------------------------------------------------------------

torch::Tensor BertModelImpl::padding_offset_positions(const torch::Tensor& attention_mask,
                                                      std::int64_t seq, std::int64_t past_length,
                                                      const torch::Device& device) const {
  const std::int64_t pad = *config.pad_token_id;
  // The largest position is pad + past_length + seq (a row without padding).
  if (pad + past_length + seq >= config.max_position_embeddings) {
    throw Error(
        ErrorKind::Input,
        fmt::format(
            "{} input of {} positions{} exceeds max_position_embeddings = {} of {} less the {} "
            "rows below the first position (pad_token_id {} + 1)",
            config.model_type, seq,
            past_length > 0 ? fmt::format(" after a prefix of {}", past_length) : std::string(),
            config.max_position_embeddings, config.source, pad + 1, pad),
        "lower tokenizer.max_length");
  }
  if (!attention_mask.defined()) {
    return torch::arange(pad + 1 + past_length, pad + 1 + past_length + seq,
                         torch::TensorOptions().dtype(torch::kLong).device(device))
        .unsqueeze(0);
  }
  const auto real = attention_mask.to(device).ne(0).to(torch::kLong);
  return (real.cumsum(1) + past_length) * real + pad;
}

BertModelImpl::BertModelImpl(BertConfig config_, bool add_pooling_layer_)
    : config(std::move(config_)), add_pooling_layer(add_pooling_layer_) {
  config.validate();
  reset();
}

void BertModelImpl::reset() {
  embeddings = register_module("embeddings", BertEmbeddings(config));
  if (config.embedding_width() != config.hidden_size) {
    embeddings_project = register_module(
        "embeddings_project", make_linear(config.embedding_width(), config.hidden_size));
  }
  // RoBERTa's position table has a padding row, as its word table does.
  if (config.padding_offset_positions) {
    embeddings->position_embeddings->options.padding_idx(config.pad_token_id);
  }
  encoder = register_module("encoder", BertEncoder(config));
  pooler = add_pooling_layer ? register_module("pooler", BertPooler(config)) : BertPooler(nullptr);
}

torch::Tensor BertModelImpl::embed(const torch::Tensor& input_ids) {
  return embeddings->embed(input_ids);
}

BertModelOutput BertModelImpl::forward(const torch::Tensor& inputs_embeds,
                                       const torch::Tensor& attention_mask,
                                       const torch::Tensor& token_type_ids,
                                       const LayerPrefixes* prefixes, bool output_hidden_states) {
  if (inputs_embeds.dim() != 3 || inputs_embeds.size(2) != config.embedding_width()) {
    shape_error("inputs_embeds", fmt::format("[batch, seq, {}]", config.embedding_width()),
                inputs_embeds);
  }
  const auto batch = inputs_embeds.size(0);
  const auto seq = inputs_embeds.size(1);

  torch::Tensor mask;  // boolean [batch, 1, 1, seq], true where attended
  if (attention_mask.defined()) {
    if (attention_mask.dim() != 2 || attention_mask.size(0) != batch ||
        attention_mask.size(1) != seq) {
      shape_error("attention_mask", fmt::format("[{}, {}]", batch, seq), attention_mask);
    }
    // Nothing padded: no mask at all, as transformers does for SDPA. Attention then skips
    // the masking work (and SDPA takes its unmasked kernel). Checked only for a mask on the
    // CPU, where the check costs no device sync.
    if (!(attention_mask.device().is_cpu() && attention_mask.ne(0).all().item<bool>())) {
      mask = attention_mask.to(inputs_embeds.device(), torch::kBool).view({batch, 1, 1, seq});
    }
  }

  std::int64_t past_length = 0;
  if (prefixes != nullptr) {
    if (static_cast<std::int64_t>(prefixes->layers.size()) != config.num_hidden_layers) {
      throw Error(
          ErrorKind::Runtime,
          fmt::format("BERT forward: got key/value prefixes for {} layers, the model has {}",
                      prefixes->layers.size(), config.num_hidden_layers));
    }
    const auto& first = prefixes->layers.front().key;
    if (first.defined() && first.dim() == 4) past_length = first.size(2);
  }

  torch::Tensor position_ids;
  if (config.padding_offset_positions) {
    position_ids =
        padding_offset_positions(attention_mask, seq, past_length, inputs_embeds.device());
  }

  BertModelOutput out;
  auto hidden = embeddings(inputs_embeds, token_type_ids, past_length, position_ids);
  if (embeddings_project) hidden = embeddings_project(hidden);
  if (output_hidden_states) out.hidden_states.push_back(hidden);
  out.last_hidden_state =
      encoder(hidden, mask, prefixes, output_hidden_states ? &out.hidden_states : nullptr);
  if (pooler) out.pooler_output = pooler(out.last_hidden_state);
  return out;
}

BertModelOutput BertModelImpl::forward_ids(const torch::Tensor& input_ids,
                                           const torch::Tensor& attention_mask,
                                           const torch::Tensor& token_type_ids,
                                           const LayerPrefixes* prefixes,
                                           bool output_hidden_states) {
  return forward(embed(input_ids), attention_mask, token_type_ids, prefixes, output_hidden_states);
}

torch::Tensor BertModelImpl::last_hidden_state(const EncoderInputs& inputs) {
  return forward(inputs.embeds, inputs.mask, inputs.types, inputs.prefixes).last_hidden_state;
}

// ---- masked-LM head ---------------------------------------------------------------------

BertPredictionHeadTransformImpl::BertPredictionHeadTransformImpl(BertConfig config_)
    : config(std::move(config_)) {
  reset();
}

void BertPredictionHeadTransformImpl::reset() {
  dense = register_module("dense", make_linear(config.hidden_size, config.hidden_size));
  LayerNorm = register_module("LayerNorm", make_layer_norm(config));
}

torch::Tensor BertPredictionHeadTransformImpl::forward(const torch::Tensor& hidden_states) {
  return LayerNorm(activate(config.activation(), dense(hidden_states)));
}

BertLMPredictionHeadImpl::BertLMPredictionHeadImpl(BertConfig config_)
    : config(std::move(config_)) {
  reset();
}

void BertLMPredictionHeadImpl::reset() {
  transform = register_module("transform", BertPredictionHeadTransform(config));
  // A tied decoder owns no weight: registering the embedding matrix twice would hand it to
  // an optimizer twice. Untied, transformers (5.x) keeps a decoder with its own weight and
  // bias and leaves `bias` unused by the forward pass.
  decoder = config.tie_word_embeddings
                ? Linear(nullptr)
                : register_module("decoder", make_linear(config.hidden_size, config.vocab_size));
  bias = register_parameter("bias", torch::zeros({config.vocab_size}));
}

torch::Tensor BertLMPredictionHeadImpl::forward(const torch::Tensor& hidden_states,
                                                const torch::Tensor& word_embeddings) {
  if (decoder) return decoder(transform(hidden_states));
  return project(transform(hidden_states), word_embeddings, bias);
}

BertOnlyMLMHeadImpl::BertOnlyMLMHeadImpl(BertConfig config_) : config(std::move(config_)) {
  reset();
}

void BertOnlyMLMHeadImpl::reset() {
  predictions = register_module("predictions", BertLMPredictionHead(config));
}

torch::Tensor BertOnlyMLMHeadImpl::forward(const torch::Tensor& sequence_output,
                                           const torch::Tensor& word_embeddings) {
  return predictions(sequence_output, word_embeddings);
}

BertForMaskedLMImpl::BertForMaskedLMImpl(BertConfig config_) : config(std::move(config_)) {
  config.validate();
  reset();
}

void BertForMaskedLMImpl::reset() {
  bert = register_module("bert", BertModel(config, /*add_pooling_layer=*/false));
  cls = register_module("cls", BertOnlyMLMHead(config));
}

torch::Tensor BertForMaskedLMImpl::encode(const EncoderInputs& inputs) {
  return bert->forward(inputs.embeds, inputs.mask, inputs.types, inputs.prefixes).last_hidden_state;
}

torch::Tensor BertForMaskedLMImpl::predict(const torch::Tensor& hidden_states) {
  return cls(hidden_states, bert->embeddings->word_embeddings->weight);
}

torch::Tensor BertForMaskedLMImpl::forward(const torch::Tensor& inputs_embeds,
                                           const torch::Tensor& attention_mask,
                                           const torch::Tensor& token_type_ids,
                                           const LayerPrefixes* prefixes) {
  return predict(
      bert->forward(inputs_embeds, attention_mask, token_type_ids, prefixes).last_hidden_state);
}

torch::Tensor BertForMaskedLMImpl::forward_ids(const torch::Tensor& input_ids,
                                               const torch::Tensor& attention_mask,
                                               const torch::Tensor& token_type_ids,
                                               const LayerPrefixes* prefixes) {
  return forward(embed(input_ids), attention_mask, token_type_ids, prefixes);
}

VocabProjectionImpl::VocabProjectionImpl(BertConfig config_) : config(std::move(config_)) {
  reset();
}

void VocabProjectionImpl::reset() {
  // Tied, the weight is the word embeddings: registering it here too would hand it to an
  // optimizer twice.
  weight = config.tie_word_embeddings
               ? torch::Tensor()
               : register_parameter("weight",
                                    torch::empty({config.vocab_size, config.embedding_width()}));
  bias = register_parameter("bias", torch::zeros({config.vocab_size}));
}

torch::Tensor VocabProjectionImpl::forward(const torch::Tensor& x,
                                           const torch::Tensor& word_embeddings) {
  return project(x, weight.defined() ? weight : word_embeddings, bias);
}

// ---- classification heads ---------------------------------------------------------------

FirstTokenClassifierImpl::FirstTokenClassifierImpl(BertConfig config_, Activation activation_)
    : config(std::move(config_)), activation(activation_) {
  reset();
}

void FirstTokenClassifierImpl::reset() {
  dense = register_module("dense", make_linear(config.hidden_size, config.hidden_size));
  out_proj = register_module("out_proj", make_linear(config.hidden_size, config.num_labels()));
}

torch::Tensor FirstTokenClassifierImpl::forward(const torch::Tensor& features) {
  const double p = config.classifier_dropout_prob();
  auto x = pft::model::dropout(features.select(1, 0), p, is_training());
  x = activate(activation, dense(x));
  return out_proj(pft::model::dropout(x, p, is_training()));
}

BertForSequenceClassificationImpl::BertForSequenceClassificationImpl(BertConfig config_)
    : config(std::move(config_)) {
  config.validate();
  reset();
}

void BertForSequenceClassificationImpl::reset() {
  bert = register_module("bert", BertModel(config, /*add_pooling_layer=*/true));
  dropout = register_module("dropout", torch::nn::Dropout(config.classifier_dropout_prob()));
  classifier = register_module("classifier", make_linear(config.hidden_size, config.num_labels()));
}

torch::Tensor BertForSequenceClassificationImpl::forward(const torch::Tensor& inputs_embeds,
                                                         const torch::Tensor& attention_mask,
                                                         const torch::Tensor& token_type_ids,
                                                         const LayerPrefixes* prefixes) {
  const auto out = bert->forward(inputs_embeds, attention_mask, token_type_ids, prefixes);
  return classifier(
      pft::model::dropout(out.pooler_output, dropout->options.p(), dropout->is_training()));
}

torch::Tensor BertForSequenceClassificationImpl::forward_ids(const torch::Tensor& input_ids,
                                                             const torch::Tensor& attention_mask,
                                                             const torch::Tensor& token_type_ids,
                                                             const LayerPrefixes* prefixes) {
  return forward(embed(input_ids), attention_mask, token_type_ids, prefixes);
}

BertForTokenClassificationImpl::BertForTokenClassificationImpl(BertConfig config_)
    : config(std::move(config_)) {
  config.validate();
  reset();
}

void BertForTokenClassificationImpl::reset() {
  bert = register_module("bert", BertModel(config, /*add_pooling_layer=*/false));
  dropout = register_module("dropout", torch::nn::Dropout(config.classifier_dropout_prob()));
  classifier = register_module("classifier", make_linear(config.hidden_size, config.num_labels()));
}

torch::Tensor BertForTokenClassificationImpl::forward(const torch::Tensor& inputs_embeds,
                                                      const torch::Tensor& attention_mask,
                                                      const torch::Tensor& token_type_ids,
                                                      const LayerPrefixes* prefixes) {
  const auto out = bert->forward(inputs_embeds, attention_mask, token_type_ids, prefixes);
  return classifier(
      pft::model::dropout(out.last_hidden_state, dropout->options.p(), dropout->is_training()));
}

torch::Tensor BertForTokenClassificationImpl::forward_ids(const torch::Tensor& input_ids,
                                                          const torch::Tensor& attention_mask,
                                                          const torch::Tensor& token_type_ids,
                                                          const LayerPrefixes* prefixes) {
  return forward(embed(input_ids), attention_mask, token_type_ids, prefixes);
}

}  // namespace pft::model
