#include "pft/model/modernbert/modernbert.h"

#include <cmath>
#include <utility>

#include "pft/model/bert/bert.h"
#include "pft/model/checkpointing.h"
#include "pft/model/checks.h"
#include "pft/model/dropout.h"
#include "pft/model/project.h"
#include "pft/util/error.h"
#include "pft/util/json.h"

namespace pft::model {

namespace {

Linear make_linear(std::int64_t in, std::int64_t out, bool bias) {
  return Linear(torch::nn::LinearOptions(in, out).bias(bias));
}

ModernBertNorm make_norm(const ModernBertConfig& c) {
  return ModernBertNorm(c.hidden_size, c.norm_eps, c.norm_bias);
}

Activation activation_of(const std::string& name, const std::string& source, const char* key) {
  return config_activation(name, source, key);
}

torch::Tensor rotate_half(const torch::Tensor& x) {
  const auto half = x.size(-1) / 2;
  return torch::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

}  // namespace

// ---- config -----------------------------------------------------------------------------

ModernBertConfig ModernBertConfig::from_json(const nlohmann::json& doc, const std::string& source) {
  check_config_document(doc, source, "modernbert");
  ModernBertConfig c;
  c.source = source;
  const JsonKeys keys(doc, source);
  keys.integer("vocab_size", c.vocab_size);
  keys.integer("hidden_size", c.hidden_size);
  keys.integer("intermediate_size", c.intermediate_size);
  keys.integer("num_hidden_layers", c.num_hidden_layers);
  keys.integer("num_attention_heads", c.num_attention_heads);
  keys.string("hidden_activation", c.hidden_activation);
  keys.integer("max_position_embeddings", c.max_position_embeddings);
  keys.number("initializer_range", c.initializer_range);
  keys.number("norm_eps", c.norm_eps);
  keys.boolean("norm_bias", c.norm_bias);
  keys.nullable_integer("pad_token_id", c.pad_token_id);
  keys.boolean("attention_bias", c.attention_bias);
  keys.number("attention_dropout", c.attention_dropout);
  keys.integer("local_attention", c.local_attention);
  keys.number("embedding_dropout", c.embedding_dropout);
  keys.boolean("mlp_bias", c.mlp_bias);
  keys.number("mlp_dropout", c.mlp_dropout);
  keys.boolean("decoder_bias", c.decoder_bias);
  keys.string("classifier_pooling", c.classifier_pooling);
  keys.number("classifier_dropout", c.classifier_dropout);
  keys.boolean("classifier_bias", c.classifier_bias);
  keys.string("classifier_activation", c.classifier_activation);
  keys.boolean("tie_word_embeddings", c.tie_word_embeddings);

  // Layer kinds: `layer_types` (transformers 5), else every n-th layer global from layer 0.
  if (const auto it = doc.find("layer_types"); it != doc.end() && !it->is_null()) {
    if (!it->is_array() || static_cast<std::int64_t>(it->size()) != c.num_hidden_layers) {
      keys.fail("layer_types", "expected a list of " + std::to_string(c.num_hidden_layers) +
                                   " layer kinds, got " + JsonKeys::describe(*it));
    }
    for (const auto& kind : *it) {
      if (kind == "full_attention") {
        c.global_layers.push_back(true);
      } else if (kind == "sliding_attention") {
        c.global_layers.push_back(false);
      } else {
        keys.fail("layer_types", "expected \"full_attention\" or \"sliding_attention\", got " +
                                     JsonKeys::describe(kind));
      }
    }
  } else {
    std::int64_t every = 3;
    keys.integer("global_attn_every_n_layers", every);
    if (every < 1) keys.fail("global_attn_every_n_layers", "must be >= 1");
    for (std::int64_t i = 0; i < c.num_hidden_layers; ++i) c.global_layers.push_back(i % every == 0);
  }
  // Rotary thetas: `rope_parameters` per layer kind (transformers 5), else the older keys.
  keys.number("global_rope_theta", c.global_rope_theta);
  keys.number("local_rope_theta", c.local_rope_theta);
  if (const auto it = doc.find("rope_parameters"); it != doc.end() && it->is_object()) {
    for (const auto& [kind, theta] :
         {std::pair<const char*, double*>{"full_attention", &c.global_rope_theta},
          {"sliding_attention", &c.local_rope_theta}}) {
      const auto params = it->find(kind);
      if (params == it->end() || !params->is_object()) continue;
      const auto type = params->value("rope_type", std::string("default"));
      if (type != "default") {
        keys.fail("rope_parameters", std::string(kind) + ": only the \"default\" rope_type is "
                                     "supported, got \"" + type + "\"");
      }
      if (const auto t = params->find("rope_theta"); t != params->end() && t->is_number()) {
        *theta = t->get<double>();
      }
    }
  }
  BertConfig labels;
  labels.source = source;
  labels.read_labels(doc);
  c.id2label = labels.id2label;
  c.validate();
  return c;
}

void ModernBertConfig::validate() const {
  const auto fail = [&](const std::string& key, const std::string& what) {
    throw Error(ErrorKind::Config, source + ": " + key + ": " + what);
  };
  for (const auto& [key, value] :
       {std::pair<const char*, std::int64_t>{"vocab_size", vocab_size},
        {"hidden_size", hidden_size},
        {"intermediate_size", intermediate_size},
        {"num_hidden_layers", num_hidden_layers},
        {"num_attention_heads", num_attention_heads},
        {"local_attention", local_attention}}) {
    if (value < 1) fail(key, "must be >= 1, got " + std::to_string(value));
  }
  if (hidden_size % num_attention_heads != 0 || head_dim() % 2 != 0) {
    fail("hidden_size", std::to_string(hidden_size) + " must be num_attention_heads (" +
                            std::to_string(num_attention_heads) +
                            ") times an even head size (rotary positions rotate pairs)");
  }
  activation_of(hidden_activation, source, "hidden_activation");
  activation_of(classifier_activation, source, "classifier_activation");
  if (classifier_pooling != "cls" && classifier_pooling != "mean") {
    fail("classifier_pooling", "expected \"cls\" or \"mean\", got \"" + classifier_pooling + "\"");
  }
  if (pad_token_id && (*pad_token_id < 0 || *pad_token_id >= vocab_size)) {
    fail("pad_token_id", "must be in [0, vocab_size), got " + std::to_string(*pad_token_id));
  }
  if (!(norm_eps > 0.0)) fail("norm_eps", "must be > 0");
  if (static_cast<std::int64_t>(global_layers.size()) != num_hidden_layers) {
    fail("layer_types", "needs one kind per layer");
  }
  if (id2label.empty()) fail("id2label", "needs at least one label");
}

// ---- modules ----------------------------------------------------------------------------

ModernBertNormImpl::ModernBertNormImpl(std::int64_t width_, double eps_, bool bias_)
    : width(width_), eps(eps_), has_bias(bias_) {
  reset();
}

void ModernBertNormImpl::reset() {
  weight = register_parameter("weight", torch::ones({width}));
  bias = has_bias ? register_parameter("bias", torch::zeros({width})) : torch::Tensor();
}

torch::Tensor ModernBertNormImpl::forward(const torch::Tensor& x) {
  return torch::layer_norm(x, {width}, weight, bias, eps);
}

ModernBertEmbeddingsImpl::ModernBertEmbeddingsImpl(ModernBertConfig config_)
    : config(std::move(config_)) {
  reset();
}

void ModernBertEmbeddingsImpl::reset() {
  auto options = torch::nn::EmbeddingOptions(config.vocab_size, config.hidden_size);
  if (config.pad_token_id) options.padding_idx(*config.pad_token_id);
  tok_embeddings = register_module("tok_embeddings", torch::nn::Embedding(options));
  norm = register_module("norm", make_norm(config));
}

torch::Tensor ModernBertEmbeddingsImpl::embed(const torch::Tensor& input_ids) {
  if (input_ids.dim() != 2) {
    throw Error(ErrorKind::Runtime, "ModernBERT forward: input_ids must be [batch, seq]");
  }
  check_id_range(input_ids, config.vocab_size, "input ids", "vocab_size", config.source);
  return tok_embeddings(input_ids);
}

torch::Tensor ModernBertEmbeddingsImpl::forward(const torch::Tensor& inputs_embeds) {
  return pft::model::dropout(norm(inputs_embeds), config.embedding_dropout, is_training());
}

ModernBertAttentionImpl::ModernBertAttentionImpl(ModernBertConfig config_)
    : config(std::move(config_)) {
  reset();
}

void ModernBertAttentionImpl::reset() {
  const auto d = config.hidden_size;
  Wqkv = register_module("Wqkv", make_linear(d, 3 * d, config.attention_bias));
  Wo = register_module("Wo", make_linear(d, d, config.attention_bias));
}

torch::Tensor ModernBertAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& cos,
                                               const torch::Tensor& sin,
                                               const torch::Tensor& mask) {
  const auto batch = x.size(0);
  const auto seq = x.size(1);
  const auto heads = config.num_attention_heads;
  const auto head_dim = config.head_dim();
  const auto qkv = Wqkv(x).view({batch, seq, 3, heads, head_dim});
  // [batch, heads, seq, head_dim] each; rotary positions in float32, as transformers does.
  const auto q = qkv.select(2, 0).transpose(1, 2);
  const auto k = qkv.select(2, 1).transpose(1, 2);
  const auto v = qkv.select(2, 2).transpose(1, 2);
  const auto rotate = [&](const torch::Tensor& t) {
    const auto f = t.to(torch::kFloat);
    return (f * cos + rotate_half(f) * sin).to(t.scalar_type());
  };
  const double dropout_p = is_training() ? config.attention_dropout : 0.0;
  const auto context = attention(rotate(q), rotate(k), v, mask, dropout_p,
                                 std::pow(static_cast<double>(head_dim), -0.5));
  return pft::model::dropout(Wo(context.transpose(1, 2).reshape({batch, seq, config.hidden_size})),
                             config.attention_dropout, is_training());
}

ModernBertMLPImpl::ModernBertMLPImpl(ModernBertConfig config_) : config(std::move(config_)) {
  reset();
}

void ModernBertMLPImpl::reset() {
  activation = activation_of(config.hidden_activation, config.source, "hidden_activation");
  Wi = register_module("Wi",
                       make_linear(config.hidden_size, 2 * config.intermediate_size, config.mlp_bias));
  Wo = register_module("Wo",
                       make_linear(config.intermediate_size, config.hidden_size, config.mlp_bias));
}

torch::Tensor ModernBertMLPImpl::forward(const torch::Tensor& x) {
  const auto parts = Wi(x).chunk(2, -1);
  return Wo(pft::model::dropout(activate(activation, parts[0]) * parts[1], config.mlp_dropout,
                                is_training()));
}

ModernBertLayerImpl::ModernBertLayerImpl(ModernBertConfig config_, std::int64_t index_)
    : config(std::move(config_)), index(index_) {
  reset();
}

void ModernBertLayerImpl::reset() {
  attn_norm = index == 0 ? ModernBertNorm(nullptr) : register_module("attn_norm", make_norm(config));
  attn = register_module("attn", ModernBertAttention(config));
  mlp_norm = register_module("mlp_norm", make_norm(config));
  mlp = register_module("mlp", ModernBertMLP(config));
}

torch::Tensor ModernBertLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& cos,
                                           const torch::Tensor& sin, const torch::Tensor& mask) {
  const auto h = x + attn(attn_norm ? attn_norm(x) : x, cos, sin, mask);
  return h + mlp(mlp_norm(h));
}

ModernBertModelImpl::ModernBertModelImpl(ModernBertConfig config_) : config(std::move(config_)) {
  config.validate();
  reset();
}

void ModernBertModelImpl::reset() {
  embeddings = register_module("embeddings", ModernBertEmbeddings(config));
  layers = torch::nn::ModuleList();
  for (std::int64_t i = 0; i < config.num_hidden_layers; ++i) {
    layers->push_back(ModernBertLayer(config, i));
  }
  layers = register_module("layers", layers);
  final_norm = register_module("final_norm", make_norm(config));
}

torch::Tensor ModernBertModelImpl::forward(const EncoderInputs& inputs) {
  if (inputs.prefixes != nullptr) {
    throw Error(ErrorKind::Runtime, "modernbert takes no key/value prefixes (prefix tuning)");
  }
  const auto& embeds = inputs.embeds;
  const auto batch = embeds.size(0);
  const auto seq = embeds.size(1);
  const auto device = embeds.device();
  // Rotary tables [seq, head_dim] per theta, from float32 positions as transformers.
  const auto positions = torch::arange(seq, torch::TensorOptions().dtype(torch::kFloat).device(device));
  const auto dim = config.head_dim();
  const auto table = [&](double theta) {
    const auto exponents =
        torch::arange(0, dim, 2, torch::TensorOptions().dtype(torch::kFloat).device(device)) /
        static_cast<double>(dim);
    const auto inv_freq = 1.0 / torch::pow(theta, exponents);
    const auto freqs = positions.unsqueeze(-1) * inv_freq;
    const auto emb = torch::cat({freqs, freqs}, -1);
    return std::pair{emb.cos(), emb.sin()};
  };
  const auto global_table = table(config.global_rope_theta);
  const auto local_table = table(config.local_rope_theta);

  // Masks: padding keys everywhere; the sliding layers also |query - key| <= window / 2.
  torch::Tensor key_mask;  // [batch, 1, 1, seq], true: attend
  if (inputs.mask.defined() &&
      !(inputs.mask.device().is_cpu() && inputs.mask.ne(0).all().item<bool>())) {
    key_mask = inputs.mask.to(device, torch::kBool).view({batch, 1, 1, seq});
  }
  torch::Tensor local_mask;
  const auto half = config.local_attention / 2;
  if (seq - 1 > half) {
    const auto idx = torch::arange(seq, torch::TensorOptions().dtype(torch::kLong).device(device));
    const auto window = (idx.unsqueeze(0) - idx.unsqueeze(1)).abs().le(half).view({1, 1, seq, seq});
    local_mask = key_mask.defined() ? window.logical_and(key_mask) : window;
  } else {
    local_mask = key_mask;
  }

  auto h = embeddings(embeds);
  const bool recompute = gradient_checkpointing && is_training() && torch::GradMode::is_enabled();
  for (std::size_t i = 0; i < layers->size(); ++i) {
    const bool global = config.global_layers[i];
    const auto& [cos, sin] = global ? global_table : local_table;
    const auto& mask = global ? key_mask : local_mask;
    auto layer = layers->ptr<ModernBertLayerImpl>(i);
    if (recompute) {
      h = checkpoint(
          [layer, cos = cos, sin = sin, mask](const std::vector<torch::Tensor>& x) {
            return layer->forward(x[0], cos, sin, mask);
          },
          {h});
    } else {
      h = layer->forward(h, cos, sin, mask);
    }
  }
  return final_norm(h);
}

// ---- heads ------------------------------------------------------------------------------

ModernBertPredictionHeadImpl::ModernBertPredictionHeadImpl(ModernBertConfig config_)
    : config(std::move(config_)) {
  reset();
}

void ModernBertPredictionHeadImpl::reset() {
  activation =
      activation_of(config.classifier_activation, config.source, "classifier_activation");
  dense = register_module(
      "dense", make_linear(config.hidden_size, config.hidden_size, config.classifier_bias));
  norm = register_module("norm", make_norm(config));
}

torch::Tensor ModernBertPredictionHeadImpl::forward(const torch::Tensor& x) {
  return norm(activate(activation, dense(x)));
}

ModernBertDecoderImpl::ModernBertDecoderImpl(ModernBertConfig config_)
    : config(std::move(config_)) {
  reset();
}

void ModernBertDecoderImpl::reset() {
  weight = config.tie_word_embeddings
               ? torch::Tensor()
               : register_parameter("weight",
                                    torch::empty({config.vocab_size, config.hidden_size}));
  bias = config.decoder_bias ? register_parameter("bias", torch::zeros({config.vocab_size}))
                             : torch::Tensor();
}

torch::Tensor ModernBertDecoderImpl::forward(const torch::Tensor& x,
                                             const torch::Tensor& tok_embeddings) {
  return project(x, weight.defined() ? weight : tok_embeddings, bias);
}

ModernBertForMaskedLMImpl::ModernBertForMaskedLMImpl(ModernBertConfig config_)
    : config(std::move(config_)) {
  reset();
}

void ModernBertForMaskedLMImpl::reset() {
  model = register_module("model", ModernBertModel(config));
  head = register_module("head", ModernBertPredictionHead(config));
  decoder = register_module("decoder", ModernBertDecoder(config));
}

torch::Tensor ModernBertForMaskedLMImpl::predict(const torch::Tensor& hidden_states) {
  return decoder(head(hidden_states), model->embeddings->tok_embeddings->weight);
}

ModernBertForSequenceClassificationImpl::ModernBertForSequenceClassificationImpl(
    ModernBertConfig config_)
    : config(std::move(config_)) {
  reset();
}

void ModernBertForSequenceClassificationImpl::reset() {
  model = register_module("model", ModernBertModel(config));
  head = register_module("head", ModernBertPredictionHead(config));
  classifier =
      register_module("classifier", make_linear(config.hidden_size, config.num_labels(), true));
}

torch::Tensor ModernBertForSequenceClassificationImpl::classify(const EncoderInputs& inputs) {
  const auto hidden = model(inputs);
  torch::Tensor pooled;
  if (config.classifier_pooling == "cls") {
    pooled = hidden.select(1, 0);
  } else {
    const auto mask = inputs.mask.defined()
                          ? inputs.mask.to(hidden.device(), hidden.scalar_type())
                          : torch::ones({hidden.size(0), hidden.size(1)}, hidden.options());
    pooled = (hidden * mask.unsqueeze(-1)).sum(1) / mask.sum(1, true);
  }
  return classifier(
      pft::model::dropout(head(pooled), config.classifier_dropout, is_training()));
}

ModernBertForTokenClassificationImpl::ModernBertForTokenClassificationImpl(
    ModernBertConfig config_)
    : config(std::move(config_)) {
  reset();
}

void ModernBertForTokenClassificationImpl::reset() {
  model = register_module("model", ModernBertModel(config));
  head = register_module("head", ModernBertPredictionHead(config));
  classifier =
      register_module("classifier", make_linear(config.hidden_size, config.num_labels(), true));
}

torch::Tensor ModernBertForTokenClassificationImpl::classify_tokens(const EncoderInputs& inputs) {
  return classifier(
      pft::model::dropout(head(model(inputs)), config.classifier_dropout, is_training()));
}

}  // namespace pft::model
