#include "pft/peft/prefix_tuning/prefix_tuning.h"

#include "pft/util/error.h"

namespace pft::peft {

PrefixTuningOptions prefix_tuning_options_from_config(const SharedConfig& shared,
                                                      const PrefixTuningConfig& c) {
  PrefixTuningOptions o;
  o.base.num_virtual_tokens = shared.num_virtual_tokens;
  o.prefix_projection = c.prefix_projection;
  o.encoder_hidden_size = shared.encoder_hidden_size;
  o.placement = c.prefix_placement;
  return o;
}

std::unique_ptr<PeftMethod> PrefixTuningEntry::from_config(const SharedConfig& shared,
                                                           const Config& own) {
  return std::make_unique<PrefixTuningMethod>(prefix_tuning_options_from_config(shared, own));
}

std::unique_ptr<PeftMethod> PrefixTuningEntry::from_adapter_config(const nlohmann::json& config,
                                                                   const std::string& source) {
  return std::make_unique<PrefixTuningMethod>(
      prefix_tuning_options_from_adapter_config(config, source));
}

PrefixTuningOptions prefix_tuning_options_from_adapter_config(const nlohmann::json& j,
                                                              const std::string& source) {
  PrefixTuningOptions o;
  o.base = prompt_learning_options_from_adapter_config(j, source);
  try {
    o.prefix_projection = j.value("prefix_projection", false);
    const auto it = j.find("encoder_hidden_size");
    if (it != j.end() && !it->is_null()) o.encoder_hidden_size = it->get<std::int64_t>();
    o.placement = j.value("prefix_placement", std::string("peft_compatible"));
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::Input, source + ": prefix tuning settings: " + e.what());
  }
  if (o.placement != "peft_compatible" && o.placement != "full") {
    throw Error(
        ErrorKind::Input,
        source + ": prefix_placement: expected peft_compatible or full, got '" + o.placement + "'");
  }
  return o;
}

PrefixTuningMethod::PrefixTuningMethod(PrefixTuningOptions options)
    : PromptLearningMethod(options.base),
      prefix_options_(std::move(options)),
      placement_full_(prefix_options_.placement == "full") {
  if (prefix_options_.prefix_projection && !options_.inference &&
      prefix_options_.encoder_hidden_size <= 0) {
    throw Error(ErrorKind::Config,
                "peft.encoder_hidden_size: required (> 0) when peft.prefix_projection is true");
  }
}

std::int64_t PrefixTuningMethod::width() const {
  // Key and value entries of every attention layer that gets a prefix.
  std::int64_t entries = info_.num_layers;
  if (full() && info_.num_decoder_layers > 0) entries += 2 * info_.num_decoder_layers;
  return entries * 2 * info_.hidden_size;
}

std::int64_t PrefixTuningMethod::embedding_width() const {
  return prefix_options_.prefix_projection ? info_.hidden_size : width();
}

bool PrefixTuningMethod::reparameterized() const { return prefix_options_.prefix_projection; }

void PrefixTuningMethod::build(torch::nn::Module& encoder, torch::nn::Module& model) {
  (void)model;
  if (info_.num_decoder_layers > 0 && !full() && info_.num_decoder_layers != info_.num_layers) {
    throw Error(ErrorKind::Config,
                "peft.prefix_placement: peft_compatible prefix tuning needs as many decoder as "
                "encoder blocks (PEFT sizes the prefix by num_layers); the model has " +
                    std::to_string(info_.num_layers) + " and " +
                    std::to_string(info_.num_decoder_layers) + "; use full");
  }
  if (!prefix_options_.prefix_projection) return;
  transform_ = encoder.register_module(
      "transform",
      torch::nn::Sequential(
          torch::nn::Linear(info_.hidden_size, prefix_options_.encoder_hidden_size),
          torch::nn::Tanh(), torch::nn::Linear(prefix_options_.encoder_hidden_size, width())));
}

torch::Tensor PrefixTuningMethod::reparameterize(const torch::Tensor& embedding) {
  if (!prefix_options_.prefix_projection) return embedding;
  return transform_->forward(embedding);
}

nlohmann::json PrefixTuningMethod::method_config() const {
  nlohmann::json j;
  j["prefix_projection"] = prefix_options_.prefix_projection;
  j["encoder_hidden_size"] = prefix_options_.encoder_hidden_size > 0
                                 ? prefix_options_.encoder_hidden_size
                                 : info_.hidden_size;  // PEFT's default
  if (full() && info_.num_decoder_layers > 0) j["prefix_placement"] = "full";
  return j;
}

model::LayerPrefixes PrefixTuningMethod::pick(
    std::int64_t batch_size, const torch::Device& device, std::int64_t layers,
    const std::function<std::int64_t(std::int64_t)>& key_entry) {
  const auto n = options_.num_virtual_tokens;
  const auto heads = info_.num_heads;
  const auto head_dim = info_.head_dim;
  // PEFT's view [batch, nvt, entries, heads, head_dim] permuted to [entries, batch, heads, nvt,
  // head_dim]; the batch is a broadcast of the one prompt.
  const auto entries =
      prompt_embeddings().to(device).view({n, -1, heads, head_dim}).permute({1, 2, 0, 3});
  model::LayerPrefixes out;
  for (std::int64_t i = 0; i < layers; ++i) {
    const auto k = key_entry(i);
    out.layers.push_back({entries[k].unsqueeze(0).expand({batch_size, heads, n, head_dim}),
                          entries[k + 1].unsqueeze(0).expand({batch_size, heads, n, head_dim})});
  }
  return out;
}

std::optional<model::LayerPrefixes> PrefixTuningMethod::prefixes(std::int64_t batch_size,
                                                                 const torch::Device& device) {
  // Encoder-only models: every layer, in order. PEFT's T5 encoder never sees the prefix.
  if (info_.num_decoder_layers > 0 && !full()) return std::nullopt;
  return pick(batch_size, device, info_.num_layers, [](std::int64_t i) { return 2 * i; });
}

std::optional<model::LayerPrefixes> PrefixTuningMethod::decoder_prefixes(
    std::int64_t batch_size, const torch::Device& device) {
  if (info_.num_decoder_layers == 0) return std::nullopt;
  const auto layers = info_.num_layers;
  if (full()) {
    return pick(batch_size, device, info_.num_decoder_layers,
                [layers](std::int64_t i) { return 2 * (layers + i); });
  }
  // PEFT: the [2L] entries doubled to [4L] and split into L groups of four (self key, self
  // value, cross key, cross value): group i starts at entry 4i of the doubled list.
  return pick(batch_size, device, info_.num_decoder_layers,
              [layers](std::int64_t i) { return (4 * i) % (2 * layers); });
}

std::optional<model::LayerPrefixes> PrefixTuningMethod::cross_attention_prefixes(
    std::int64_t batch_size, const torch::Device& device) {
  // PEFT replaces the cross-attention part of its cache by an empty one: no prefix there.
  if (info_.num_decoder_layers == 0 || !full()) return std::nullopt;
  const auto first = info_.num_layers + info_.num_decoder_layers;
  return pick(batch_size, device, info_.num_decoder_layers,
              [first](std::int64_t i) { return 2 * (first + i); });
}

}  // namespace pft::peft
