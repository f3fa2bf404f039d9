#include "pft/model/roberta/roberta.h"

#include <utility>

#include "pft/model/dropout.h"
#include "pft/model/project.h"

namespace pft::model {

namespace {

Linear make_linear(std::int64_t in, std::int64_t out) {
  return Linear(torch::nn::LinearOptions(in, out).bias(true));
}

}  // namespace

BertConfig roberta_config_defaults(bool xlm) {
  BertConfig c;
  c.model_type = xlm ? "xlm-roberta" : "roberta";
  c.vocab_size = xlm ? 30522 : 50265;
  c.pad_token_id = 1;
  c.padding_offset_positions = true;
  return c;
}

// ---- heads ------------------------------------------------------------------------------

RobertaLMHeadImpl::RobertaLMHeadImpl(BertConfig config_) : config(std::move(config_)) { reset(); }

void RobertaLMHeadImpl::reset() {
  dense = register_module("dense", make_linear(config.hidden_size, config.hidden_size));
  layer_norm = register_module(
      "layer_norm",
      torch::nn::LayerNorm(torch::nn::LayerNormOptions({config.hidden_size}).eps(config.layer_norm_eps)));
  // Tied, the decoder owns nothing (its weight is the word embeddings, its bias `bias`).
  decoder = config.tie_word_embeddings
                ? Linear(nullptr)
                : register_module("decoder", make_linear(config.hidden_size, config.vocab_size));
  bias = register_parameter("bias", torch::zeros({config.vocab_size}));
}

torch::Tensor RobertaLMHeadImpl::forward(const torch::Tensor& features,
                                         const torch::Tensor& word_embeddings) {
  // transformers' `gelu` here is the exact one, whatever hidden_act says.
  const auto x = layer_norm(activate(Activation::Gelu, dense(features)));
  if (decoder) return decoder(x);
  return project(x, word_embeddings, bias);
}

// ---- task classes -----------------------------------------------------------------------

RobertaForMaskedLMImpl::RobertaForMaskedLMImpl(BertConfig config_) : config(std::move(config_)) {
  config.validate();
  reset();
}

void RobertaForMaskedLMImpl::reset() {
  roberta = register_module("roberta", BertModel(config, /*add_pooling_layer=*/false));
  lm_head = register_module("lm_head", RobertaLMHead(config));
}

torch::Tensor RobertaForMaskedLMImpl::encode(const EncoderInputs& inputs) {
  return roberta->last_hidden_state(inputs);
}

torch::Tensor RobertaForMaskedLMImpl::predict(const torch::Tensor& hidden_states) {
  return lm_head(hidden_states, roberta->embeddings->word_embeddings->weight);
}

RobertaForSequenceClassificationImpl::RobertaForSequenceClassificationImpl(BertConfig config_)
    : config(std::move(config_)) {
  config.validate();
  reset();
}

void RobertaForSequenceClassificationImpl::reset() {
  roberta = register_module("roberta", BertModel(config, /*add_pooling_layer=*/false));
  classifier = register_module("classifier", FirstTokenClassifier(config, Activation::Tanh));
}

torch::Tensor RobertaForSequenceClassificationImpl::classify(const EncoderInputs& inputs) {
  return classifier(roberta->last_hidden_state(inputs));
}

RobertaForTokenClassificationImpl::RobertaForTokenClassificationImpl(BertConfig config_)
    : config(std::move(config_)) {
  config.validate();
  reset();
}

void RobertaForTokenClassificationImpl::reset() {
  roberta = register_module("roberta", BertModel(config, /*add_pooling_layer=*/false));
  classifier = register_module("classifier", make_linear(config.hidden_size, config.num_labels()));
}

torch::Tensor RobertaForTokenClassificationImpl::classify_tokens(const EncoderInputs& inputs) {
  return classifier(pft::model::dropout(roberta->last_hidden_state(inputs),
                                        config.classifier_dropout_prob(), is_training()));
}

}  // namespace pft::model
