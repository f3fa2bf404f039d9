#include "pft/model/electra/electra.h"

#include <utility>

#include "pft/model/dropout.h"

namespace pft::model {

namespace {

Linear make_linear(std::int64_t in, std::int64_t out) {
  return Linear(torch::nn::LinearOptions(in, out).bias(true));
}

}  // namespace

BertConfig electra_config_defaults() {
  BertConfig c;
  c.model_type = "electra";
  c.embedding_size = 128;
  c.hidden_size = 256;
  c.num_attention_heads = 4;
  c.intermediate_size = 1024;
  return c;
}

// ---- heads ------------------------------------------------------------------------------

ElectraGeneratorPredictionsImpl::ElectraGeneratorPredictionsImpl(BertConfig config_)
    : config(std::move(config_)) {
  reset();
}

void ElectraGeneratorPredictionsImpl::reset() {
  const auto width = config.embedding_width();
  LayerNorm = register_module(
      "LayerNorm",
      torch::nn::LayerNorm(torch::nn::LayerNormOptions({width}).eps(config.layer_norm_eps)));
  dense = register_module("dense", make_linear(config.hidden_size, width));
}

torch::Tensor ElectraGeneratorPredictionsImpl::forward(const torch::Tensor& hidden_states) {
  return LayerNorm(activate(Activation::Gelu, dense(hidden_states)));
}

// ---- task classes -----------------------------------------------------------------------

ElectraForMaskedLMImpl::ElectraForMaskedLMImpl(BertConfig config_) : config(std::move(config_)) {
  config.validate();
  reset();
}

void ElectraForMaskedLMImpl::reset() {
  electra = register_module("electra", BertModel(config, /*add_pooling_layer=*/false));
  generator_predictions =
      register_module("generator_predictions", ElectraGeneratorPredictions(config));
  generator_lm_head = register_module("generator_lm_head", VocabProjection(config));
}

torch::Tensor ElectraForMaskedLMImpl::encode(const EncoderInputs& inputs) {
  return electra->last_hidden_state(inputs);
}

torch::Tensor ElectraForMaskedLMImpl::predict(const torch::Tensor& hidden_states) {
  return generator_lm_head(generator_predictions(hidden_states),
                           electra->embeddings->word_embeddings->weight);
}

ElectraForSequenceClassificationImpl::ElectraForSequenceClassificationImpl(BertConfig config_)
    : config(std::move(config_)) {
  config.validate();
  reset();
}

void ElectraForSequenceClassificationImpl::reset() {
  electra = register_module("electra", BertModel(config, /*add_pooling_layer=*/false));
  classifier = register_module("classifier", FirstTokenClassifier(config, Activation::Gelu));
}

torch::Tensor ElectraForSequenceClassificationImpl::classify(const EncoderInputs& inputs) {
  return classifier(electra->last_hidden_state(inputs));
}

ElectraForTokenClassificationImpl::ElectraForTokenClassificationImpl(BertConfig config_)
    : config(std::move(config_)) {
  config.validate();
  reset();
}

void ElectraForTokenClassificationImpl::reset() {
  electra = register_module("electra", BertModel(config, /*add_pooling_layer=*/false));
  classifier = register_module("classifier", make_linear(config.hidden_size, config.num_labels()));
}

torch::Tensor ElectraForTokenClassificationImpl::classify_tokens(const EncoderInputs& inputs) {
  return classifier(pft::model::dropout(electra->last_hidden_state(inputs),
                                        config.classifier_dropout_prob(), is_training()));
}

}  // namespace pft::model
