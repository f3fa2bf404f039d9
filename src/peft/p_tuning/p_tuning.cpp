#include "pft/peft/p_tuning/p_tuning.h"

#include "pft/util/error.h"

namespace pft::peft {

PTuningOptions p_tuning_options_from_config(const SharedConfig& shared, const PTuningConfig& c) {
  PTuningOptions o;
  o.base.num_virtual_tokens = shared.num_virtual_tokens;
  o.type = c.encoder_reparameterization_type;
  o.encoder_hidden_size = shared.encoder_hidden_size;
  o.encoder_num_layers = c.encoder_num_layers;
  o.encoder_dropout = c.encoder_dropout;
  return o;
}

std::unique_ptr<PeftMethod> PTuningEntry::from_config(const SharedConfig& shared,
                                                      const Config& own) {
  return std::make_unique<PTuningMethod>(p_tuning_options_from_config(shared, own));
}

std::unique_ptr<PeftMethod> PTuningEntry::from_adapter_config(const nlohmann::json& config,
                                                              const std::string& source) {
  return std::make_unique<PTuningMethod>(p_tuning_options_from_adapter_config(config, source));
}

PTuningOptions p_tuning_options_from_adapter_config(const nlohmann::json& j,
                                                    const std::string& source) {
  PTuningOptions o;
  o.base = prompt_learning_options_from_adapter_config(j, source);
  try {
    o.type = j.value("encoder_reparameterization_type", std::string("MLP"));
    const auto it = j.find("encoder_hidden_size");
    if (it != j.end() && !it->is_null()) o.encoder_hidden_size = it->get<std::int64_t>();
    o.encoder_num_layers = j.value("encoder_num_layers", std::int64_t{2});
    o.encoder_dropout = j.value("encoder_dropout", 0.0);
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::Input, source + ": p-tuning settings: " + e.what());
  }
  if (o.type != "MLP" && o.type != "LSTM") {
    throw Error(
        ErrorKind::Input,
        source + ": encoder_reparameterization_type: expected MLP or LSTM, got '" + o.type + "'");
  }
  return o;
}

PTuningMethod::PTuningMethod(PTuningOptions options)
    : PromptLearningMethod(options.base), p_options_(std::move(options)) {
  if (p_options_.type != "MLP" && p_options_.type != "LSTM") {
    throw Error(ErrorKind::Config, "peft.encoder_reparameterization_type: unknown type '" +
                                       p_options_.type + "'; known: MLP, LSTM");
  }
}

std::int64_t PTuningMethod::hidden() const {
  return p_options_.encoder_hidden_size > 0 ? p_options_.encoder_hidden_size : info_.hidden_size;
}

void PTuningMethod::build(torch::nn::Module& encoder, torch::nn::Module& model) {
  (void)model;
  const auto d = info_.hidden_size;
  const auto h = hidden();
  if (p_options_.type == "LSTM") {
    lstm_head_ = encoder.register_module(
        "lstm_head", torch::nn::LSTM(torch::nn::LSTMOptions(d, h)
                                         .num_layers(p_options_.encoder_num_layers)
                                         .dropout(p_options_.encoder_dropout)
                                         .bidirectional(true)
                                         .batch_first(true)));
    mlp_head_ = encoder.register_module(
        "mlp_head", torch::nn::Sequential(torch::nn::Linear(2 * h, 2 * h), torch::nn::ReLU(),
                                          torch::nn::Linear(2 * h, d)));
  } else {
    mlp_head_ = encoder.register_module(
        "mlp_head",
        torch::nn::Sequential(torch::nn::Linear(d, h), torch::nn::ReLU(), torch::nn::Linear(h, h),
                              torch::nn::ReLU(), torch::nn::Linear(h, d)));
  }
}

torch::Tensor PTuningMethod::reparameterize(const torch::Tensor& embedding) {
  if (p_options_.type == "LSTM") {
    // The whole table as one sequence of a batch of one, as PEFT runs it.
    const auto out = std::get<0>(lstm_head_->forward(embedding.unsqueeze(0)));
    return mlp_head_->forward(out).squeeze(0);
  }
  return mlp_head_->forward(embedding);
}

nlohmann::json PTuningMethod::method_config() const {
  nlohmann::json j;
  j["encoder_reparameterization_type"] = p_options_.type;
  j["encoder_hidden_size"] = hidden();
  j["encoder_num_layers"] = p_options_.encoder_num_layers;
  j["encoder_dropout"] = p_options_.encoder_dropout;
  return j;
}

}  // namespace pft::peft
