#include "pft/model/t5/t5.h"

#include <cmath>
#include <utility>

#include "pft/io/checkpoint.h"
#include "pft/model/checkpointing.h"
#include "pft/model/dropout.h"
#include "pft/model/project.h"
#include "pft/util/error.h"
#include "pft/util/json.h"
#include "pft/util/log.h"

namespace pft::model {

namespace {

using nlohmann::json;

[[noreturn]] void bad_key(const std::string& source, const std::string& key,
                          const std::string& what) {
  throw Error(ErrorKind::Input, source + ": key '" + key + "': " + what);
}

bool known_activation(const std::string& name) {
  return name == "relu" || name == "gelu" || name == "gelu_new" || name == "silu";
}

// transformers' NewGELUActivation ("gelu_new"), written in the same order of operations so
// that results agree to the last bit as far as the kernels allow.
constexpr double kPi = 3.14159265358979323846;

torch::Tensor gelu_new(const torch::Tensor& x) {
  return 0.5 * x * (1.0 + torch::tanh(std::sqrt(2.0 / kPi) * (x + 0.044715 * torch::pow(x, 3.0))));
}

torch::Tensor activate(const std::string& name, const torch::Tensor& x) {
  if (name == "relu") return torch::relu(x);
  if (name == "gelu_new") return gelu_new(x);
  if (name == "gelu") return torch::gelu(x);
  return torch::silu(x);  // validated: silu
}

// fp16 overflow guard of transformers' T5Block (only float16 activations are touched).
torch::Tensor clamp_half(const torch::Tensor& hidden) {
  if (hidden.scalar_type() != torch::kHalf) return hidden;
  const double max = 65504.0;
  const double limit = torch::isinf(hidden).any().item<bool>() ? max - 1000.0 : max;
  return torch::clamp(hidden, -limit, limit);
}

// T5's bucketing of relative positions (memory - query), after Mesh TensorFlow and
// transformers' T5Attention._relative_position_bucket, op for op.
torch::Tensor relative_position_bucket(torch::Tensor relative, bool bidirectional,
                                       std::int64_t num_buckets, std::int64_t max_distance) {
  auto buckets = torch::zeros_like(relative);
  if (bidirectional) {
    num_buckets /= 2;
    buckets = buckets + (relative > 0).to(torch::kLong) * num_buckets;
    relative = torch::abs(relative);
  } else {
    relative = -torch::min(relative, torch::zeros_like(relative));
  }
  const std::int64_t max_exact = num_buckets / 2;
  const auto is_small = relative < max_exact;
  auto large = max_exact +
               (torch::log(relative.to(torch::kFloat) / max_exact) /
                std::log(static_cast<double>(max_distance) / max_exact) * (num_buckets - max_exact))
                   .to(torch::kLong);
  large = torch::min(large, torch::full_like(large, num_buckets - 1));
  return buckets + torch::where(is_small, relative, large);
}

// Checks prefixes against the stack; returns the common prefix length (0: none).
std::int64_t prefix_length(const LayerPrefixes* prefixes, const T5Config& config,
                           std::size_t layers, std::int64_t batch, const char* stack) {
  if (prefixes == nullptr) return 0;
  if (prefixes->layers.size() != layers) {
    throw Error(ErrorKind::Input, std::string("T5 ") + stack +
                                      " prefixes: expected one entry per "
                                      "layer (" +
                                      std::to_string(layers) + "), got " +
                                      std::to_string(prefixes->layers.size()));
  }
  std::int64_t length = -1;
  for (std::size_t i = 0; i < layers; ++i) {
    const auto& p = prefixes->layers[i];
    if (!p.key.defined() && !p.value.defined()) continue;
    const auto where = std::string("T5 ") + stack + " prefix of layer " + std::to_string(i);
    if (!p.key.defined() || !p.value.defined() || p.key.sizes() != p.value.sizes() ||
        p.key.dim() != 4 || (p.key.size(0) != batch && p.key.size(0) != 1) ||
        p.key.size(1) != config.num_heads || p.key.size(3) != config.d_kv) {
      throw Error(ErrorKind::Input,
                  where + ": expected key and value of shape [" + std::to_string(batch) +
                      " or 1, " + std::to_string(config.num_heads) + ", P, " +
                      std::to_string(config.d_kv) + "], got key " +
                      (p.key.defined() ? c10::str(p.key.sizes()) : "undefined") + " and value " +
                      (p.value.defined() ? c10::str(p.value.sizes()) : "undefined"));
    }
    if (length >= 0 && p.key.size(2) != length) {
      throw Error(ErrorKind::Input, where + ": every layer's prefix must have the same length (" +
                                        std::to_string(length) + "), got " +
                                        std::to_string(p.key.size(2)));
    }
    length = p.key.size(2);
  }
  return std::max<std::int64_t>(length, 0);
}

torch::Tensor expand_rows(const torch::Tensor& t, std::int64_t rows) {
  return t.size(0) == rows ? t : t.expand({rows, -1, -1, -1});
}

}  // namespace

// ---- T5Config -----------------------------------------------------------------------------

T5Config T5Config::from_json(const json& doc, const std::string& source) {
  if (!doc.is_object()) {
    throw Error(ErrorKind::Input,
                source + ": expected a JSON object, got " + JsonKeys::describe(doc));
  }
  // mT5 is T5 v1.1's architecture with other defaults (transformers' MT5Config); UMT5 has
  // mT5's defaults and a relative position bias in every block.
  bool mt5 = false;
  bool umt5 = false;
  if (const auto it = doc.find("model_type"); it != doc.end() && !it->is_null()) {
    umt5 = it->is_string() && it->get<std::string>() == "umt5";
    mt5 = umt5 || (it->is_string() && it->get<std::string>() == "mt5");
    if (!mt5 && !(it->is_string() && it->get<std::string>() == "t5")) {
      throw Error(ErrorKind::Input,
                  source + ": key 'model_type': expected \"t5\", \"mt5\" or \"umt5\", got " +
                      JsonKeys::describe(*it),
                  "is this a T5 checkpoint? Other families load with their own model");
    }
  }
  const JsonKeys keys(doc, source, {ErrorKind::Input, /*quote_key=*/true});
  T5Config c;
  if (mt5) {
    c.vocab_size = 250112;
    c.d_ff = 1024;
    c.num_layers = 8;
    c.num_heads = 6;
    c.feed_forward_proj = "gated-gelu";
  }
  keys.integer("vocab_size", c.vocab_size);
  keys.integer("d_model", c.d_model);
  keys.integer("d_kv", c.d_kv);
  keys.integer("d_ff", c.d_ff);
  keys.integer("num_layers", c.num_layers);
  c.num_decoder_layers = c.num_layers;
  keys.integer("num_decoder_layers", c.num_decoder_layers);
  keys.integer("num_heads", c.num_heads);
  keys.integer("relative_attention_num_buckets", c.relative_attention_num_buckets);
  keys.integer("relative_attention_max_distance", c.relative_attention_max_distance);
  keys.number("dropout_rate", c.dropout_rate);
  keys.number("layer_norm_epsilon", c.layer_norm_epsilon);
  keys.string("feed_forward_proj", c.feed_forward_proj);
  // "relu", "gated-gelu", ...: transformers' T5Config.__post_init__.
  const auto& proj = c.feed_forward_proj;
  const auto dash = proj.find('-');
  if (dash == std::string::npos) {
    c.is_gated_act = false;
    c.dense_act_fn = proj;
  } else {
    if (proj.substr(0, dash) != "gated" || proj.find('-', dash + 1) != std::string::npos) {
      keys.fail("feed_forward_proj",
                "expected \"ACT\" or \"gated-ACT\" (e.g. \"relu\", \"gated-gelu\"), got \"" + proj +
                    "\"");
    }
    c.is_gated_act = true;
    c.dense_act_fn = proj.substr(dash + 1);
  }
  if (proj == "gated-gelu") c.dense_act_fn = "gelu_new";  // as transformers maps it
  if (!known_activation(c.dense_act_fn)) {
    keys.fail("feed_forward_proj", "activation \"" + c.dense_act_fn +
                                       "\" is not supported (relu, gelu, gelu_new, silu)");
  }
  keys.boolean("tie_word_embeddings", c.tie_word_embeddings);
  c.scale_decoder_outputs = c.tie_word_embeddings;
  keys.boolean("scale_decoder_outputs", c.scale_decoder_outputs);
  // transformers' MT5ForConditionalGeneration never scales the decoder output (mT5 is v1.1);
  // whether the output projection is shared follows from the weights, as for T5.
  if (mt5) c.scale_decoder_outputs = false;
  // transformers' UMT5Config forces tie_word_embeddings (whatever config.json says), and
  // UMT5ForConditionalGeneration scales the decoder output when it is set.
  if (umt5) {
    c.per_layer_relative_bias = true;
    c.tie_word_embeddings = true;
    c.scale_decoder_outputs = true;
  }
  keys.integer("pad_token_id", c.pad_token_id);
  c.decoder_start_token_id = c.pad_token_id;
  keys.integer("decoder_start_token_id", c.decoder_start_token_id);
  keys.integers("eos_token_id", c.eos_token_ids);
  c.validate(source);
  return c;
}

void T5Config::validate(const std::string& source) const {
  const auto positive = [&](const char* key, std::int64_t value) {
    if (value < 1) bad_key(source, key, "must be >= 1, got " + std::to_string(value));
  };
  positive("vocab_size", vocab_size);
  positive("d_model", d_model);
  positive("d_kv", d_kv);
  positive("d_ff", d_ff);
  positive("num_layers", num_layers);
  positive("num_decoder_layers", num_decoder_layers);
  positive("num_heads", num_heads);
  positive("relative_attention_max_distance", relative_attention_max_distance);
  if (relative_attention_num_buckets < 4) {
    bad_key(source, "relative_attention_num_buckets",
            "must be >= 4 (half for each direction, half of those exact), got " +
                std::to_string(relative_attention_num_buckets));
  }
  if (!(dropout_rate >= 0.0 && dropout_rate < 1.0)) {
    bad_key(source, "dropout_rate", "must be in [0, 1), got " + std::to_string(dropout_rate));
  }
  if (!(layer_norm_epsilon > 0.0)) {
    bad_key(source, "layer_norm_epsilon", "must be > 0, got " + std::to_string(layer_norm_epsilon));
  }
  const auto token = [&](const char* key, std::int64_t id) {
    if (id < 0 || id >= vocab_size) {
      bad_key(source, key,
              "must be a token id in [0, " + std::to_string(vocab_size) + "), got " +
                  std::to_string(id));
    }
  };
  token("pad_token_id", pad_token_id);
  token("decoder_start_token_id", decoder_start_token_id);
  for (const auto id : eos_token_ids) token("eos_token_id", id);
}

// ---- layers -------------------------------------------------------------------------------

T5LayerNormImpl::T5LayerNormImpl(std::int64_t hidden_size, double eps)
    : hidden_size_(hidden_size), eps_(eps) {
  reset();
}

void T5LayerNormImpl::reset() {
  weight = register_parameter("weight", torch::ones({hidden_size_}));
}

torch::Tensor T5LayerNormImpl::forward(const torch::Tensor& hidden) {
  // Variance in float32 whatever the activations' dtype, as transformers does.
  const auto variance = hidden.to(torch::kFloat32).pow(2).mean(-1, /*keepdim=*/true);
  auto normed = hidden * torch::rsqrt(variance + eps_);
  if (weight.scalar_type() == torch::kHalf || weight.scalar_type() == torch::kBFloat16) {
    normed = normed.to(weight.scalar_type());
  }
  return weight * normed;
}

T5DenseImpl::T5DenseImpl(const T5Config& config) : config_(config) { reset(); }

void T5DenseImpl::reset() {
  const auto linear = [](std::int64_t in, std::int64_t out) {
    return Linear(torch::nn::LinearOptions(in, out).bias(false));
  };
  if (config_.is_gated_act) {
    wi_0 = register_module("wi_0", linear(config_.d_model, config_.d_ff));
    wi_1 = register_module("wi_1", linear(config_.d_model, config_.d_ff));
  } else {
    wi = register_module("wi", linear(config_.d_model, config_.d_ff));
  }
  wo = register_module("wo", linear(config_.d_ff, config_.d_model));
}

torch::Tensor T5DenseImpl::forward(const torch::Tensor& hidden) {
  torch::Tensor h;
  if (config_.is_gated_act) {
    const auto x = autocast_operand(hidden);  // once for both products
    h = activate(config_.dense_act_fn, wi_0(x)) * wi_1(x);
  } else {
    h = activate(config_.dense_act_fn, wi(hidden));
  }
  h = model::dropout(h, config_.dropout_rate, is_training());
  if (h.scalar_type() != wo->weight.scalar_type()) h = h.to(wo->weight.scalar_type());
  return wo(h);
}

T5AttentionImpl::T5AttentionImpl(const T5Config& config, bool relative_bias, bool bidirectional)
    : config_(config), has_relative_bias_(relative_bias), bidirectional_(bidirectional) {
  reset();
}

void T5AttentionImpl::reset() {
  const auto inner = config_.num_heads * config_.d_kv;
  const auto linear = [](std::int64_t in, std::int64_t out) {
    return Linear(torch::nn::LinearOptions(in, out).bias(false));
  };
  q = register_module("q", linear(config_.d_model, inner));
  k = register_module("k", linear(config_.d_model, inner));
  v = register_module("v", linear(config_.d_model, inner));
  o = register_module("o", linear(inner, config_.d_model));
  if (has_relative_bias_) {
    relative_attention_bias = register_module(
        "relative_attention_bias",
        torch::nn::Embedding(config_.relative_attention_num_buckets, config_.num_heads));
  }
}

KeyValue T5AttentionImpl::project_kv(const torch::Tensor& input) {
  const auto batch = input.size(0);
  const auto length = input.size(1);
  const auto states = autocast_operand(input);  // once for both products
  return {k(states).view({batch, length, config_.num_heads, config_.d_kv}).transpose(1, 2),
          v(states).view({batch, length, config_.num_heads, config_.d_kv}).transpose(1, 2)};
}

torch::Tensor T5AttentionImpl::attend(const torch::Tensor& hidden, const KeyValue& kv,
                                      const torch::Tensor& bias) {
  const auto batch = hidden.size(0);
  const auto length = hidden.size(1);
  const auto query =
      q(hidden).view({batch, length, config_.num_heads, config_.d_kv}).transpose(1, 2);
  // T5 folds any scaling into its weights: scale 1, the bias as SDPA's additive float mask.
  auto out = attention(query, kv.key, kv.value, bias, is_training() ? config_.dropout_rate : 0.0,
                       /*scale=*/1.0);
  out = out.transpose(1, 2).contiguous().reshape({batch, length, config_.num_heads * config_.d_kv});
  return o(out);
}

torch::Tensor T5AttentionImpl::compute_bias(std::int64_t q_len, std::int64_t k_len,
                                            std::int64_t offset, const torch::Device& device) {
  TORCH_CHECK(has_relative_bias_, "compute_bias on a T5 attention without relative_attention_bias");
  const auto options = torch::TensorOptions().dtype(torch::kLong).device(device);
  const auto context = torch::arange(q_len, options).unsqueeze(1) + offset;
  const auto memory = torch::arange(k_len, options).unsqueeze(0);
  const auto buckets = relative_position_bucket(memory - context, bidirectional_,
                                                config_.relative_attention_num_buckets,
                                                config_.relative_attention_max_distance);
  return relative_attention_bias(buckets).permute({2, 0, 1}).unsqueeze(0);
}

T5LayerSelfAttentionImpl::T5LayerSelfAttentionImpl(const T5Config& config, bool relative_bias,
                                                   bool bidirectional)
    : config_(config), relative_bias_(relative_bias), bidirectional_(bidirectional) {
  reset();
}

void T5LayerSelfAttentionImpl::reset() {
  SelfAttention =
      register_module("SelfAttention", T5Attention(config_, relative_bias_, bidirectional_));
  layer_norm =
      register_module("layer_norm", T5LayerNorm(config_.d_model, config_.layer_norm_epsilon));
}

T5LayerCrossAttentionImpl::T5LayerCrossAttentionImpl(const T5Config& config) : config_(config) {
  reset();
}

void T5LayerCrossAttentionImpl::reset() {
  EncDecAttention = register_module("EncDecAttention", T5Attention(config_, false, false));
  layer_norm =
      register_module("layer_norm", T5LayerNorm(config_.d_model, config_.layer_norm_epsilon));
}

T5LayerFFImpl::T5LayerFFImpl(const T5Config& config) : config_(config) { reset(); }

void T5LayerFFImpl::reset() {
  DenseReluDense = register_module("DenseReluDense", T5Dense(config_));
  layer_norm =
      register_module("layer_norm", T5LayerNorm(config_.d_model, config_.layer_norm_epsilon));
}

torch::Tensor T5LayerFFImpl::forward(const torch::Tensor& hidden) {
  const auto out = DenseReluDense(layer_norm(hidden));
  return hidden + model::dropout(out, config_.dropout_rate, is_training());
}

T5BlockImpl::T5BlockImpl(const T5Config& config, bool is_decoder, bool relative_bias)
    : config_(config), is_decoder_(is_decoder), relative_bias_(relative_bias) {
  reset();
}

void T5BlockImpl::reset() {
  layer = register_module("layer", torch::nn::ModuleList());
  self_attention = T5LayerSelfAttention(config_, relative_bias_, /*bidirectional=*/!is_decoder_);
  layer->push_back(self_attention);
  cross_attention = nullptr;
  if (is_decoder_) {
    cross_attention = T5LayerCrossAttention(config_);
    layer->push_back(cross_attention);
  }
  feed_forward = T5LayerFF(config_);
  layer->push_back(feed_forward);
}

// ---- cache --------------------------------------------------------------------------------

void T5DecoderCache::select(const torch::Tensor& index) {
  const auto pick = [&](torch::Tensor& t) {
    if (t.defined()) t = t.index_select(0, index);
  };
  const auto rows = self.empty() ? 0 : self.front().key.size(0);
  if (copies > 1) {
    const auto groups = torch::arange(rows, index.options()).div(copies, "floor");
    const bool stays = index.size(0) == rows && index.div(copies, "floor").equal(groups);
    if (!stays) {
      // Rows leave their groups: give every row its own cross-attention keys/values.
      for (auto& kv : cross) {
        kv.key = kv.key.repeat_interleave(copies, 0);
        kv.value = kv.value.repeat_interleave(copies, 0);
        pick(kv.key);
        pick(kv.value);
      }
      if (cross_mask.defined()) cross_mask = cross_mask.repeat_interleave(copies, 0);
      pick(cross_mask);
      copies = 1;
    }
  } else {
    for (auto& kv : cross) {
      pick(kv.key);
      pick(kv.value);
    }
    pick(cross_mask);
  }
  for (auto& kv : self) {
    pick(kv.key);
    pick(kv.value);
  }
}

// ---- stacks -------------------------------------------------------------------------------

T5StackImpl::T5StackImpl(const T5Config& config, bool is_decoder)
    : config_(config), is_decoder_(is_decoder) {
  reset();
}

void T5StackImpl::reset() {
  block = register_module("block", torch::nn::ModuleList());
  blocks.clear();
  const auto count = is_decoder_ ? config_.num_decoder_layers : config_.num_layers;
  for (std::int64_t i = 0; i < count; ++i) {
    // Block 0 owns the relative position bias and every block reuses it (T5, mT5); with
    // per-layer biases (UMT5) every block owns one.
    blocks.emplace_back(config_, is_decoder_,
                        /*relative_bias=*/i == 0 || config_.per_layer_relative_bias);
    block->push_back(blocks.back());
  }
  final_layer_norm =
      register_module("final_layer_norm", T5LayerNorm(config_.d_model, config_.layer_norm_epsilon));
}

torch::Tensor T5StackImpl::encoder_block(std::size_t i, const torch::Tensor& input,
                                         const LayerPrefix* prefix, const torch::Tensor& bias) {
  const auto batch = input.size(0);
  auto& layer = blocks[i]->self_attention;
  const auto normed = autocast_operand(layer->layer_norm(input));  // once for q, k and v
  auto kv = layer->SelfAttention->project_kv(normed);
  if (prefix != nullptr) {
    kv.key = torch::cat({expand_rows(prefix->key, batch).to(kv.key.dtype()), kv.key}, 2);
    kv.value = torch::cat({expand_rows(prefix->value, batch).to(kv.value.dtype()), kv.value}, 2);
  }
  const auto attended = layer->SelfAttention->attend(normed, kv, bias);
  const auto hidden =
      clamp_half(input + model::dropout(attended, config_.dropout_rate, is_training()));
  return clamp_half(blocks[i]->feed_forward(hidden));
}

torch::Tensor T5StackImpl::encode(const torch::Tensor& inputs_embeds,
                                  const torch::Tensor& attention_mask,
                                  const LayerPrefixes* prefixes) {
  TORCH_CHECK(!is_decoder_, "T5Stack::encode called on the decoder");
  const auto batch = inputs_embeds.size(0);
  const auto length = inputs_embeds.size(1);
  const auto prefix = prefix_length(prefixes, config_, blocks.size(), batch, "encoder");
  const auto keys = prefix + length;
  const auto device = inputs_embeds.device();

  // Position bias over [prefix | tokens], queries at positions prefix.. (see the header), from
  // block 0 (T5, mT5) or from each block (UMT5), with the padding masked.
  torch::Tensor mask;
  if (attention_mask.defined()) {
    mask = attention_mask.to(device).to(torch::kBool);
    if (prefix > 0) {
      mask = torch::cat({torch::ones({batch, prefix}, mask.options()), mask}, 1);
    }
    mask = mask.view({batch, 1, 1, keys});
  }
  const auto bias_of = [&](std::size_t b) {
    auto bias = blocks[b]
                    ->self_attention->SelfAttention->compute_bias(length, keys, prefix, device)
                    .to(inputs_embeds.scalar_type());
    if (mask.defined()) {
      bias = torch::where(mask, bias,
                          torch::scalar_tensor(masked_score(bias.scalar_type()), bias.options()))
                 .contiguous();
    }
    return bias;
  };
  auto bias = bias_of(0);
  // Layers without a prefix see the tokens' columns only.
  const auto tokens_only = [prefix](const torch::Tensor& b) {
    return prefix > 0 ? b.slice(-1, prefix).contiguous() : b;
  };
  auto token_bias = tokens_only(bias);

  const bool recompute = gradient_checkpointing && is_training() && torch::GradMode::is_enabled();
  auto hidden = model::dropout(inputs_embeds, config_.dropout_rate, is_training());
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    if (i > 0 && config_.per_layer_relative_bias) {
      bias = bias_of(i);
      token_bias = tokens_only(bias);
    }
    const LayerPrefix* p =
        prefixes != nullptr && prefixes->layers[i].key.defined() ? &prefixes->layers[i] : nullptr;
    const auto& layer_bias = p != nullptr ? bias : token_bias;
    if (!recompute) {
      hidden = encoder_block(i, hidden, p, layer_bias);
      continue;
    }
    // The bias (relative_attention_bias trains under full fine-tuning) and the prefixes are
    // inputs of the checkpointed block, so their gradients leave it.
    std::vector<torch::Tensor> inputs{hidden, layer_bias};
    if (p != nullptr) inputs.insert(inputs.end(), {p->key, p->value});
    hidden = checkpoint(
        [this, i](const std::vector<torch::Tensor>& x) {
          LayerPrefix lp;
          if (x.size() > 2) lp = LayerPrefix{x[2], x[3]};
          return encoder_block(i, x[0], x.size() > 2 ? &lp : nullptr, x[1]);
        },
        inputs);
  }
  hidden = final_layer_norm(hidden);
  return model::dropout(hidden, config_.dropout_rate, is_training());
}

KeyValue T5StackImpl::cross_kv(std::size_t i, const torch::Tensor& encoder_hidden,
                               const LayerPrefix* prefix) {
  auto cross = blocks[i]->cross_attention->EncDecAttention->project_kv(encoder_hidden);
  if (prefix != nullptr) {
    const auto sources = encoder_hidden.size(0);
    cross.key = torch::cat({expand_rows(prefix->key, sources).to(cross.key.dtype()), cross.key}, 2);
    cross.value =
        torch::cat({expand_rows(prefix->value, sources).to(cross.value.dtype()), cross.value}, 2);
  }
  return cross;
}

torch::Tensor T5StackImpl::cross_mask(const torch::Tensor& encoder_mask, std::int64_t cross_prefix,
                                      const torch::Tensor& encoder_hidden) {
  if (!encoder_mask.defined()) return {};
  const auto sources = encoder_hidden.size(0);
  auto mask = encoder_mask.to(encoder_hidden.device()).to(torch::kBool);
  if (cross_prefix > 0) {
    mask = torch::cat({torch::ones({sources, cross_prefix}, mask.options()), mask}, 1);
  }
  // Without padding transformers passes no mask at all; adding zeros would change nothing.
  if (mask.all().item<bool>()) return {};
  return torch::where(
      mask.view({sources, 1, 1, mask.size(1)}), torch::zeros({}, encoder_hidden.options()),
      torch::scalar_tensor(masked_score(encoder_hidden.scalar_type()), encoder_hidden.options()));
}

// Checks that every layer has a cross-attention prefix when any has; returns the length.
static std::int64_t checked_cross_prefix(const LayerPrefixes* cross_prefixes,
                                         const T5Config& config, std::size_t layers,
                                         std::int64_t sources) {
  const auto length = prefix_length(cross_prefixes, config, layers, sources, "cross-attention");
  if (length == 0) return 0;
  for (std::size_t i = 0; i < layers; ++i) {
    if (!cross_prefixes->layers[i].key.defined()) {
      throw Error(ErrorKind::Input, "T5 cross-attention prefixes: layer " + std::to_string(i) +
                                        " has none; give every layer a prefix or none");
    }
  }
  return length;
}

T5DecoderCache T5StackImpl::start_cache(const torch::Tensor& encoder_hidden,
                                        const torch::Tensor& encoder_mask,
                                        const LayerPrefixes* prefixes, std::int64_t copies,
                                        const LayerPrefixes* cross_prefixes) {
  TORCH_CHECK(is_decoder_, "T5Stack::start_cache called on the encoder");
  TORCH_CHECK(copies >= 1, "T5Stack::start_cache: copies must be >= 1, got ", copies);
  const auto sources = encoder_hidden.size(0);
  const auto rows = sources * copies;
  T5DecoderCache cache;
  cache.copies = copies;
  cache.prefix_length = prefix_length(prefixes, config_, blocks.size(), rows, "decoder");
  const auto cross_prefix = checked_cross_prefix(cross_prefixes, config_, blocks.size(), sources);
  const auto empty =
      torch::empty({rows, config_.num_heads, 0, config_.d_kv}, encoder_hidden.options());
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    cache.cross.push_back(
        cross_kv(i, encoder_hidden, cross_prefix > 0 ? &cross_prefixes->layers[i] : nullptr));
    if (prefixes != nullptr && prefixes->layers[i].key.defined()) {
      const auto& p = prefixes->layers[i];
      cache.self.push_back({expand_rows(p.key, rows).to(encoder_hidden.dtype()).contiguous(),
                            expand_rows(p.value, rows).to(encoder_hidden.dtype()).contiguous()});
    } else {
      cache.self.push_back({empty, empty});
    }
  }
  cache.cross_mask = cross_mask(encoder_mask, cross_prefix, encoder_hidden);
  return cache;
}

torch::Tensor T5StackImpl::decoder_bias(std::int64_t rows, std::int64_t length, std::int64_t prefix,
                                        std::int64_t past, const torch::Tensor& attention_mask,
                                        const torch::Tensor& like, std::size_t block) {
  const auto keys = past + length;
  const auto device = like.device();
  // The bias of the new queries only: positions past.., keys 0..keys-1.
  const auto owner = config_.per_layer_relative_bias ? block : 0;
  auto bias = blocks[owner]
                  ->self_attention->SelfAttention->compute_bias(length, keys, past, device)
                  .to(like.scalar_type());
  if (length == 1 && !attention_mask.defined()) return bias;
  const auto options = torch::TensorOptions().dtype(torch::kLong).device(device);
  auto mask = (torch::arange(keys, options).unsqueeze(0) <=
               torch::arange(length, options).unsqueeze(1) + past)
                  .view({1, 1, length, keys});
  if (attention_mask.defined()) {
    TORCH_CHECK(attention_mask.size(0) == rows && attention_mask.size(1) == keys - prefix,
                "T5 decoder attention_mask: expected [", rows, ", ", keys - prefix, "], got ",
                attention_mask.sizes());
    auto padding = attention_mask.to(device).to(torch::kBool);
    if (prefix > 0) {
      padding = torch::cat({torch::ones({rows, prefix}, padding.options()), padding}, 1);
    }
    mask = mask & padding.view({rows, 1, 1, keys});
  }
  return torch::where(mask, bias,
                      torch::scalar_tensor(masked_score(bias.scalar_type()), bias.options()))
      .contiguous();
}

torch::Tensor T5StackImpl::decoder_block(std::size_t i, const torch::Tensor& input,
                                         KeyValue& self_kv, const torch::Tensor& self_bias,
                                         const KeyValue& cross, const torch::Tensor& cross_mask,
                                         std::int64_t copies) {
  const auto rows = input.size(0);
  auto& self_layer = blocks[i]->self_attention;
  const auto normed = autocast_operand(self_layer->layer_norm(input));  // once for q, k and v
  const auto fresh = self_layer->SelfAttention->project_kv(normed);
  self_kv.key = torch::cat({self_kv.key, fresh.key}, 2);
  self_kv.value = torch::cat({self_kv.value, fresh.value}, 2);
  const auto attended = self_layer->SelfAttention->attend(normed, self_kv, self_bias);
  auto hidden = clamp_half(input + model::dropout(attended, config_.dropout_rate, is_training()));

  auto& cross_layer = blocks[i]->cross_attention;
  auto cross_normed = cross_layer->layer_norm(hidden);
  // A group of copies (beams) attends to its source's keys/values as one longer query.
  if (copies > 1) cross_normed = cross_normed.reshape({rows / copies, -1, hidden.size(2)});
  const auto crossed =
      cross_layer->EncDecAttention->attend(cross_normed, cross, cross_mask).reshape(hidden.sizes());
  hidden = clamp_half(hidden + model::dropout(crossed, config_.dropout_rate, is_training()));
  return clamp_half(blocks[i]->feed_forward(hidden));
}

torch::Tensor T5StackImpl::decode(const torch::Tensor& inputs_embeds,
                                  const torch::Tensor& attention_mask, T5DecoderCache& cache) {
  TORCH_CHECK(is_decoder_, "T5Stack::decode called on the encoder");
  TORCH_CHECK(cache.self.size() == blocks.size(), "T5 decoder cache built for another model");
  const auto rows = inputs_embeds.size(0);
  const auto length = inputs_embeds.size(1);
  const auto prefix = cache.prefix_length;
  const auto past = prefix + cache.tokens;  // positions before the first new token
  auto bias = decoder_bias(rows, length, prefix, past, attention_mask, inputs_embeds);
  auto token_bias = prefix > 0 ? bias.slice(-1, prefix).contiguous() : bias;

  auto hidden = model::dropout(inputs_embeds, config_.dropout_rate, is_training());
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    if (i > 0 && config_.per_layer_relative_bias) {
      bias = decoder_bias(rows, length, prefix, past, attention_mask, inputs_embeds, i);
      token_bias = prefix > 0 ? bias.slice(-1, prefix).contiguous() : bias;
    }
    auto& kv = cache.self[i];
    const bool with_prefix = kv.key.size(2) == prefix + cache.tokens && prefix > 0;
    hidden = decoder_block(i, hidden, kv, with_prefix ? bias : token_bias, cache.cross[i],
                           cache.cross_mask, cache.copies);
  }
  cache.tokens += length;
  hidden = final_layer_norm(hidden);
  return model::dropout(hidden, config_.dropout_rate, is_training());
}

torch::Tensor T5StackImpl::decode_all(const torch::Tensor& inputs_embeds,
                                      const torch::Tensor& attention_mask,
                                      const torch::Tensor& encoder_hidden,
                                      const torch::Tensor& encoder_mask,
                                      const LayerPrefixes* prefixes,
                                      const LayerPrefixes* cross_prefixes) {
  TORCH_CHECK(is_decoder_, "T5Stack::decode_all called on the encoder");
  const auto rows = inputs_embeds.size(0);
  const auto length = inputs_embeds.size(1);
  const auto prefix = prefix_length(prefixes, config_, blocks.size(), rows, "decoder");
  const auto cross_prefix =
      checked_cross_prefix(cross_prefixes, config_, blocks.size(), encoder_hidden.size(0));
  auto bias = decoder_bias(rows, length, prefix, prefix, attention_mask, inputs_embeds);
  auto token_bias = prefix > 0 ? bias.slice(-1, prefix).contiguous() : bias;
  const auto mask = cross_mask(encoder_mask, cross_prefix, encoder_hidden);
  const auto empty =
      torch::empty({rows, config_.num_heads, 0, config_.d_kv}, inputs_embeds.options());

  // Block i from its inputs: [hidden, self bias, encoder output, (self prefix key, value),
  // (cross prefix key, value)].
  const auto run_block = [this, rows, mask, empty](std::size_t i, bool self_prefix,
                                                   bool cross_prefixed,
                                                   const std::vector<torch::Tensor>& x) {
    std::size_t next = 3;
    KeyValue self_kv{empty, empty};
    if (self_prefix) {
      self_kv = {expand_rows(x[next], rows).to(x[0].dtype()).contiguous(),
                 expand_rows(x[next + 1], rows).to(x[0].dtype()).contiguous()};
      next += 2;
    }
    LayerPrefix cp;
    if (cross_prefixed) cp = LayerPrefix{x[next], x[next + 1]};
    const auto cross = cross_kv(i, x[2], cross_prefixed ? &cp : nullptr);
    return decoder_block(i, x[0], self_kv, x[1], cross, mask, 1);
  };
  const bool recompute = gradient_checkpointing && is_training() && torch::GradMode::is_enabled();
  auto hidden = model::dropout(inputs_embeds, config_.dropout_rate, is_training());
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    if (i > 0 && config_.per_layer_relative_bias) {
      bias = decoder_bias(rows, length, prefix, prefix, attention_mask, inputs_embeds, i);
      token_bias = prefix > 0 ? bias.slice(-1, prefix).contiguous() : bias;
    }
    const bool self_prefix = prefixes != nullptr && prefixes->layers[i].key.defined() && prefix > 0;
    std::vector<torch::Tensor> inputs{hidden, self_prefix ? bias : token_bias, encoder_hidden};
    if (self_prefix)
      inputs.insert(inputs.end(), {prefixes->layers[i].key, prefixes->layers[i].value});
    if (cross_prefix > 0)
      inputs.insert(inputs.end(), {cross_prefixes->layers[i].key, cross_prefixes->layers[i].value});
    const bool cross_prefixed = cross_prefix > 0;
    if (recompute) {
      hidden = checkpoint(
          [run_block, i, self_prefix, cross_prefixed](const std::vector<torch::Tensor>& x) {
            return run_block(i, self_prefix, cross_prefixed, x);
          },
          inputs);
    } else {
      hidden = run_block(i, self_prefix, cross_prefixed, inputs);
    }
  }
  hidden = final_layer_norm(hidden);
  return model::dropout(hidden, config_.dropout_rate, is_training());
}

// ---- the model ----------------------------------------------------------------------------

T5Impl::T5Impl(T5Options options) : options_(std::move(options)) { reset(); }

void T5Impl::reset() {
  const auto& c = options_.config;
  shared = register_module("shared", torch::nn::Embedding(c.vocab_size, c.d_model));
  encoder = register_module("encoder", T5Stack(c, /*is_decoder=*/false));
  decoder = register_module("decoder", T5Stack(c, /*is_decoder=*/true));
  lm_head = nullptr;
  if (options_.own_lm_head()) {
    lm_head = register_module(
        "lm_head", Linear(torch::nn::LinearOptions(c.d_model, c.vocab_size).bias(false)));
  }
}

torch::Tensor T5Impl::embed(const torch::Tensor& input_ids) { return shared(input_ids); }

torch::Tensor T5Impl::encode(const torch::Tensor& inputs_embeds,
                             const torch::Tensor& attention_mask, const LayerPrefixes* prefixes) {
  return encoder->encode(inputs_embeds, attention_mask, prefixes);
}

torch::Tensor T5Impl::encode(const EncoderInputs& inputs) {
  return encoder->encode(inputs.embeds, inputs.mask, inputs.prefixes);
}

torch::Tensor T5Impl::logits(const EncoderInputs& inputs, const torch::Tensor& decoder_embeds,
                             const torch::Tensor& decoder_mask,
                             const LayerPrefixes* decoder_prefixes,
                             const LayerPrefixes* cross_prefixes) {
  return forward(inputs.embeds, inputs.mask, decoder_embeds, decoder_mask, inputs.prefixes,
                 decoder_prefixes, cross_prefixes)
      .logits;
}

std::unique_ptr<DecoderState> T5Impl::start_decoding(const torch::Tensor& encoder_hidden,
                                                     const torch::Tensor& encoder_mask,
                                                     const LayerPrefixes* self_prefixes,
                                                     std::int64_t copies,
                                                     const LayerPrefixes* cross_prefixes) {
  return std::make_unique<T5DecoderCache>(
      decoder->start_cache(encoder_hidden, encoder_mask, self_prefixes, copies, cross_prefixes));
}

torch::Tensor T5Impl::lm_logits(const torch::Tensor& decoder_hidden) {
  const auto& c = options_.config;
  const auto hidden = c.scale_decoder_outputs
                          ? decoder_hidden * std::pow(static_cast<double>(c.d_model), -0.5)
                          : decoder_hidden;
  return lm_head ? lm_head(hidden) : tied_output_.project(hidden, shared->weight);
}

T5Output T5Impl::forward(const torch::Tensor& inputs_embeds, const torch::Tensor& attention_mask,
                         const torch::Tensor& decoder_inputs_embeds,
                         const torch::Tensor& decoder_attention_mask,
                         const LayerPrefixes* encoder_prefixes,
                         const LayerPrefixes* decoder_prefixes,
                         const LayerPrefixes* cross_prefixes) {
  T5Output out;
  out.encoder_hidden = encode(inputs_embeds, attention_mask, encoder_prefixes);
  out.decoder_hidden =
      decoder->decode_all(decoder_inputs_embeds, decoder_attention_mask, out.encoder_hidden,
                          attention_mask, decoder_prefixes, cross_prefixes);
  out.logits = lm_logits(out.decoder_hidden);
  return out;
}

T5Output T5Impl::forward_ids(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                             const torch::Tensor& decoder_input_ids,
                             const torch::Tensor& decoder_attention_mask) {
  return forward(embed(input_ids), attention_mask, embed(decoder_input_ids),
                 decoder_attention_mask);
}

torch::Tensor T5Impl::shift_right(const torch::Tensor& labels) const {
  auto shifted = torch::empty_like(labels);
  shifted.select(-1, 0).fill_(options_.config.decoder_start_token_id);
  if (labels.size(-1) > 1) {
    shifted.narrow(-1, 1, labels.size(-1) - 1).copy_(labels.narrow(-1, 0, labels.size(-1) - 1));
  }
  return shifted.masked_fill(shifted == -100, options_.config.pad_token_id);
}

std::unique_ptr<DecoderState> T5Impl::start(const torch::Tensor& input_ids,
                                            const torch::Tensor& attention_mask,
                                            std::int64_t copies) {
  const auto ids = input_ids.to(device());
  const auto mask = attention_mask.defined() ? attention_mask.to(device()) : attention_mask;
  // Each source is encoded once and its cross-attention keys/values are computed once; its
  // `copies` rows (beams) share them.
  const auto hidden = encode(embed(ids), mask);
  return std::make_unique<T5DecoderCache>(decoder->start_cache(hidden, mask, nullptr, copies));
}

torch::Tensor T5Impl::step(DecoderState& state, const torch::Tensor& tokens) {
  auto* cache = dynamic_cast<T5DecoderCache*>(&state);
  TORCH_CHECK(cache != nullptr, "T5::step needs the state T5::start returned");
  const auto ids = tokens.to(device()).view({-1, 1});
  const auto hidden = decoder->decode(embed(ids), torch::Tensor(), *cache);
  return lm_logits(hidden).select(1, 0).to(torch::kFloat32);
}

SpecialTokens T5Impl::special_tokens() const {
  const auto& c = options_.config;
  return {c.decoder_start_token_id, c.eos_token_ids, c.pad_token_id};
}

torch::Device T5Impl::device() const { return shared->weight.device(); }

void T5Impl::set_decode_compute_type(ComputeType type) {
  set_inference_compute_type(*decoder, type);
  if (lm_head) lm_head->set_inference_compute_type(type);
  tied_output_.set_type(type);
}

T5 load_t5(const std::string& dir, const torch::Device& device) {
  const auto config = T5Config::from_json(io::read_model_config(dir), dir + "/config.json");
  const auto state = io::read_state_dict(dir);
  const bool own_lm_head = state.tensors.count("lm_head.weight") != 0;
  T5 model(T5Options(config).own_lm_head(own_lm_head));
  const auto report = io::load_into(*model, state);
  if (!report.missing.empty()) {
    std::string names;
    for (std::size_t i = 0; i < report.missing.size() && i < 8; ++i) {
      names += (i ? ", " : "") + report.missing[i];
    }
    if (report.missing.size() > 8) names += ", ...";
    throw Error(ErrorKind::Input,
                dir + ": the checkpoint lacks " + std::to_string(report.missing.size()) +
                    " tensor(s) that its config.json calls for: " + names,
                "is config.json from the same model as the weights?");
  }
  for (const auto& name : report.unexpected) {
    log::debug("{}: unused checkpoint tensor {}", dir, name);
  }
  if (!own_lm_head) log::debug("{}: no lm_head.weight, output projection tied to shared", dir);
  model->to(device);
  model->eval();
  return model;
}

}  // namespace pft::model
