#include "pft/model/distilbert/distilbert.h"

#include <cmath>
#include <utility>

#include "pft/model/checkpointing.h"
#include "pft/model/dropout.h"
#include "pft/model/project.h"
#include "pft/util/error.h"
#include "pft/util/json.h"

namespace pft::model {

namespace {

Linear make_linear(std::int64_t in, std::int64_t out) {
  return Linear(torch::nn::LinearOptions(in, out).bias(true));
}

torch::nn::LayerNorm layer_norm(const BertConfig& c) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_eps));
}

}  // namespace

BertConfig distilbert_config(const nlohmann::json& doc, const std::string& source) {
  if (!doc.is_object()) {
    throw Error(ErrorKind::Config,
                source + ": expected a JSON object, got " + JsonKeys::describe(doc));
  }
  BertConfig c;  // DistilBertConfig's defaults
  c.model_type = "distilbert";
  c.num_hidden_layers = 6;
  c.type_vocab_size = 1;
  c.classifier_dropout = 0.2;
  c.source = source;
  const JsonKeys keys(doc, source);
  const auto fail = [&](const std::string& key, const std::string& what) {
    throw Error(ErrorKind::Config, source + ": " + key + ": " + what);
  };
  std::string model_type;
  keys.string("model_type", model_type);
  if (!model_type.empty() && model_type != c.model_type) {
    fail("model_type", "expected \"distilbert\", got \"" + model_type + "\"");
  }
  keys.integer("vocab_size", c.vocab_size);
  keys.integer("max_position_embeddings", c.max_position_embeddings);
  keys.integer("dim", c.hidden_size);
  keys.integer("n_layers", c.num_hidden_layers);
  keys.integer("n_heads", c.num_attention_heads);
  keys.integer("hidden_dim", c.intermediate_size);
  keys.string("activation", c.hidden_act);
  keys.number("dropout", c.hidden_dropout_prob);
  keys.number("attention_dropout", c.attention_probs_dropout_prob);
  if (double p = 0.0; keys.number("seq_classif_dropout", p)) c.classifier_dropout = p;
  keys.number("initializer_range", c.initializer_range);
  keys.nullable_integer("pad_token_id", c.pad_token_id);
  keys.boolean("tie_word_embeddings", c.tie_word_embeddings);
  // Sinusoidal position embeddings are a fixed table in the checkpoint (transformers freezes
  // it); read as any other table.
  c.read_labels(doc);
  // DistilBERT's names for BERT's rules.
  if (c.hidden_size < 1 || c.num_attention_heads < 1 || c.hidden_size % c.num_attention_heads) {
    fail("dim", std::to_string(c.hidden_size) + " must be a positive multiple of n_heads (" +
                    std::to_string(c.num_attention_heads) + ")");
  }
  if (!parse_activation(c.hidden_act)) {
    fail("activation", "expected one of gelu, gelu_new, gelu_pytorch_tanh, relu, silu or swish, "
                       "got \"" + c.hidden_act + "\"");
  }
  c.validate();
  return c;
}

// ---- encoder ----------------------------------------------------------------------------

DistilBertEmbeddingsImpl::DistilBertEmbeddingsImpl(BertConfig config_)
    : config(std::move(config_)) {
  reset();
}

void DistilBertEmbeddingsImpl::reset() {
  auto word = torch::nn::EmbeddingOptions(config.vocab_size, config.hidden_size);
  if (config.pad_token_id) word.padding_idx(*config.pad_token_id);
  word_embeddings = register_module("word_embeddings", torch::nn::Embedding(word));
  position_embeddings = register_module(
      "position_embeddings",
      torch::nn::Embedding(config.max_position_embeddings, config.hidden_size));
  LayerNorm = register_module("LayerNorm", layer_norm(config));
}

torch::Tensor DistilBertEmbeddingsImpl::embed(const torch::Tensor& input_ids) {
  check_input_ids(input_ids, config);
  return word_embeddings(input_ids);
}

torch::Tensor DistilBertEmbeddingsImpl::forward(const torch::Tensor& inputs_embeds) {
  const auto seq = inputs_embeds.size(1);
  if (seq > config.max_position_embeddings) {
    throw Error(ErrorKind::Input,
                "distilbert input of " + std::to_string(seq) +
                    " positions exceeds max_position_embeddings = " +
                    std::to_string(config.max_position_embeddings) + " of " + config.source,
                "lower tokenizer.max_length");
  }
  const auto positions = torch::arange(
      seq, torch::TensorOptions().dtype(torch::kLong).device(inputs_embeds.device()));
  return pft::model::dropout(LayerNorm(inputs_embeds + position_embeddings(positions)),
                             config.hidden_dropout_prob, is_training());
}

DistilBertSelfAttentionImpl::DistilBertSelfAttentionImpl(BertConfig config_)
    : config(std::move(config_)) {
  reset();
}

void DistilBertSelfAttentionImpl::reset() {
  const auto d = config.hidden_size;
  q_lin = register_module("q_lin", make_linear(d, d));
  k_lin = register_module("k_lin", make_linear(d, d));
  v_lin = register_module("v_lin", make_linear(d, d));
  out_lin = register_module("out_lin", make_linear(d, d));
}

torch::Tensor DistilBertSelfAttentionImpl::forward(const torch::Tensor& hidden_states,
                                                   const torch::Tensor& mask) {
  const auto batch = hidden_states.size(0);
  const auto seq = hidden_states.size(1);
  const auto heads = config.num_attention_heads;
  const auto head_dim = config.head_dim();
  const auto split = [&](const torch::Tensor& x) {
    return x.view({batch, seq, heads, head_dim}).transpose(1, 2);
  };
  const auto x = autocast_operand(hidden_states);
  const double dropout_p = is_training() ? config.attention_probs_dropout_prob : 0.0;
  const auto context = attention(split(q_lin(x)), split(k_lin(x)), split(v_lin(x)), mask,
                                 dropout_p, std::pow(static_cast<double>(head_dim), -0.5));
  return out_lin(context.transpose(1, 2).reshape({batch, seq, config.hidden_size}));
}

DistilBertFFNImpl::DistilBertFFNImpl(BertConfig config_) : config(std::move(config_)) { reset(); }

void DistilBertFFNImpl::reset() {
  lin1 = register_module("lin1", make_linear(config.hidden_size, config.intermediate_size));
  lin2 = register_module("lin2", make_linear(config.intermediate_size, config.hidden_size));
}

torch::Tensor DistilBertFFNImpl::forward(const torch::Tensor& x) {
  return pft::model::dropout(lin2(activate(config.activation(), lin1(x))),
                             config.hidden_dropout_prob, is_training());
}

DistilBertBlockImpl::DistilBertBlockImpl(BertConfig config_) : config(std::move(config_)) {
  reset();
}

void DistilBertBlockImpl::reset() {
  attention = register_module("attention", DistilBertSelfAttention(config));
  sa_layer_norm = register_module("sa_layer_norm", layer_norm(config));
  ffn = register_module("ffn", DistilBertFFN(config));
  output_layer_norm = register_module("output_layer_norm", layer_norm(config));
}

torch::Tensor DistilBertBlockImpl::forward(const torch::Tensor& hidden_states,
                                           const torch::Tensor& mask) {
  const auto attended = sa_layer_norm(attention(hidden_states, mask) + hidden_states);
  return output_layer_norm(ffn(attended) + attended);
}

DistilBertTransformerImpl::DistilBertTransformerImpl(BertConfig config_)
    : config(std::move(config_)) {
  reset();
}

void DistilBertTransformerImpl::reset() {
  layer = torch::nn::ModuleList();
  for (std::int64_t i = 0; i < config.num_hidden_layers; ++i) {
    layer->push_back(DistilBertBlock(config));
  }
  layer = register_module("layer", layer);
}

torch::Tensor DistilBertTransformerImpl::forward(const torch::Tensor& hidden_states,
                                                 const torch::Tensor& mask) {
  auto h = hidden_states;
  const bool recompute = gradient_checkpointing && is_training() && torch::GradMode::is_enabled();
  for (std::size_t i = 0; i < layer->size(); ++i) {
    auto block = layer->ptr<DistilBertBlockImpl>(i);
    if (recompute) {
      h = checkpoint(
          [block, mask](const std::vector<torch::Tensor>& x) { return block->forward(x[0], mask); },
          {h});
    } else {
      h = block->forward(h, mask);
    }
  }
  return h;
}

DistilBertModelImpl::DistilBertModelImpl(BertConfig config_) : config(std::move(config_)) {
  config.validate();
  reset();
}

void DistilBertModelImpl::reset() {
  embeddings = register_module("embeddings", DistilBertEmbeddings(config));
  transformer = register_module("transformer", DistilBertTransformer(config));
}

torch::Tensor DistilBertModelImpl::forward(const EncoderInputs& inputs) {
  const auto& embeds = inputs.embeds;
  if (inputs.prefixes != nullptr) {
    throw Error(ErrorKind::Runtime, "distilbert takes no key/value prefixes (prefix tuning)");
  }
  // DistilBERT has no token types: transformers' tokenizer does not even return them.
  torch::Tensor mask;
  if (inputs.mask.defined() &&
      !(inputs.mask.device().is_cpu() && inputs.mask.ne(0).all().item<bool>())) {
    mask = inputs.mask.to(embeds.device(), torch::kBool)
               .view({embeds.size(0), 1, 1, embeds.size(1)});
  }
  return transformer(embeddings(embeds), mask);
}

// ---- heads ------------------------------------------------------------------------------

DistilBertForMaskedLMImpl::DistilBertForMaskedLMImpl(BertConfig config_)
    : config(std::move(config_)) {
  reset();
}

void DistilBertForMaskedLMImpl::reset() {
  distilbert = register_module("distilbert", DistilBertModel(config));
  vocab_transform =
      register_module("vocab_transform", make_linear(config.hidden_size, config.hidden_size));
  vocab_layer_norm = register_module("vocab_layer_norm", layer_norm(config));
  vocab_projector = register_module("vocab_projector", VocabProjection(config));
}

torch::Tensor DistilBertForMaskedLMImpl::predict(const torch::Tensor& hidden_states) {
  const auto x = vocab_layer_norm(activate(config.activation(), vocab_transform(hidden_states)));
  return vocab_projector(x, distilbert->embeddings->word_embeddings->weight);
}

DistilBertForSequenceClassificationImpl::DistilBertForSequenceClassificationImpl(
    BertConfig config_)
    : config(std::move(config_)) {
  reset();
}

void DistilBertForSequenceClassificationImpl::reset() {
  distilbert = register_module("distilbert", DistilBertModel(config));
  pre_classifier =
      register_module("pre_classifier", make_linear(config.hidden_size, config.hidden_size));
  classifier = register_module("classifier", make_linear(config.hidden_size, config.num_labels()));
}

torch::Tensor DistilBertForSequenceClassificationImpl::classify(const EncoderInputs& inputs) {
  const auto pooled = torch::relu(pre_classifier(distilbert(inputs).select(1, 0)));
  return classifier(pft::model::dropout(pooled, config.classifier_dropout_prob(), is_training()));
}

DistilBertForTokenClassificationImpl::DistilBertForTokenClassificationImpl(BertConfig config_)
    : config(std::move(config_)) {
  reset();
}

void DistilBertForTokenClassificationImpl::reset() {
  distilbert = register_module("distilbert", DistilBertModel(config));
  classifier = register_module("classifier", make_linear(config.hidden_size, config.num_labels()));
}

torch::Tensor DistilBertForTokenClassificationImpl::classify_tokens(const EncoderInputs& inputs) {
  // transformers uses `dropout` here, not seq_classif_dropout.
  return classifier(
      pft::model::dropout(distilbert(inputs), config.hidden_dropout_prob, is_training()));
}

}  // namespace pft::model
