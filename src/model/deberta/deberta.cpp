#include "pft/model/deberta/deberta.h"

#include <algorithm>
#include <cmath>
#include <limits>
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

Linear make_linear(std::int64_t in, std::int64_t out, bool bias = true) {
  return Linear(torch::nn::LinearOptions(in, out).bias(bias));
}

torch::nn::LayerNorm make_norm(std::int64_t width, double eps) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({width}).eps(eps));
}

Activation activation_of(const std::string& name, const std::string& source, const char* key,
                         bool tanh_allowed = false) {
  return config_activation(name, source, key, tanh_allowed);
}

// The "|"-separated or listed names of a config value (pos_att_type, norm_rel_ebd), lower-case.
std::vector<std::string> name_list(const nlohmann::json& value) {
  std::vector<std::string> out;
  const auto add = [&](std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::size_t start = 0;
    while (start <= text.size()) {
      auto end = text.find('|', start);
      if (end == std::string::npos) end = text.size();
      auto part = text.substr(start, end - start);
      part.erase(0, part.find_first_not_of(" \t"));
      part.erase(part.find_last_not_of(" \t") + 1);
      if (!part.empty()) out.push_back(part);
      start = end + 1;
    }
  };
  if (value.is_string()) {
    add(value.get<std::string>());
  } else if (value.is_array()) {
    for (const auto& v : value) {
      if (v.is_string()) add(v.get<std::string>());
    }
  }
  return out;
}

}  // namespace

// ---- config -----------------------------------------------------------------------------

DebertaV2Config DebertaV2Config::from_json(const nlohmann::json& doc, const std::string& source) {
  check_config_document(doc, source, "deberta-v2");
  DebertaV2Config c;
  c.source = source;
  const JsonKeys keys(doc, source);
  keys.integer("vocab_size", c.vocab_size);
  keys.integer("hidden_size", c.hidden_size);
  keys.integer("num_hidden_layers", c.num_hidden_layers);
  keys.integer("num_attention_heads", c.num_attention_heads);
  keys.integer("intermediate_size", c.intermediate_size);
  keys.string("hidden_act", c.hidden_act);
  keys.number("hidden_dropout_prob", c.hidden_dropout_prob);
  keys.number("attention_probs_dropout_prob", c.attention_probs_dropout_prob);
  keys.integer("max_position_embeddings", c.max_position_embeddings);
  keys.integer("type_vocab_size", c.type_vocab_size);
  keys.number("initializer_range", c.initializer_range);
  keys.number("layer_norm_eps", c.layer_norm_eps);
  keys.boolean("relative_attention", c.relative_attention);
  keys.integer("max_relative_positions", c.max_relative_positions);
  keys.integer("position_buckets", c.position_buckets);
  keys.nullable_integer("pad_token_id", c.pad_token_id);
  keys.boolean("position_biased_input", c.position_biased_input);
  keys.boolean("share_att_key", c.share_att_key);
  keys.integer("conv_kernel_size", c.conv_kernel_size);
  keys.integer("conv_groups", c.conv_groups);
  keys.string("conv_act", c.conv_act);
  keys.integer("embedding_size", c.embedding_size);
  keys.integer("attention_head_size", c.attention_head_size);
  keys.integer("pooler_hidden_size", c.pooler_hidden_size);
  keys.number("pooler_dropout", c.pooler_dropout);
  keys.string("pooler_hidden_act", c.pooler_hidden_act);
  if (const auto it = doc.find("cls_dropout"); it != doc.end() && !it->is_null()) {
    double p = 0;
    keys.number("cls_dropout", p);
    c.cls_dropout = p;
  }
  keys.boolean("legacy", c.legacy);
  keys.boolean("tie_word_embeddings", c.tie_word_embeddings);
  if (const auto it = doc.find("pos_att_type"); it != doc.end() && !it->is_null()) {
    if (!it->is_string() && !it->is_array()) {
      keys.fail("pos_att_type", "expected a list of \"c2p\"/\"p2c\" or a string such as "
                                "\"p2c|c2p\", got " + JsonKeys::describe(*it));
    }
    for (const auto& kind : name_list(*it)) {
      if (kind == "c2p") {
        c.c2p = true;
      } else if (kind == "p2c") {
        c.p2c = true;
      } else {
        keys.fail("pos_att_type", "expected \"c2p\" and/or \"p2c\", got \"" + kind + "\"");
      }
    }
  }
  if (const auto it = doc.find("norm_rel_ebd"); it != doc.end() && !it->is_null()) {
    for (const auto& kind : name_list(*it)) {
      if (kind == "layer_norm") {
        c.norm_rel_ebd = true;
      } else if (kind != "none") {
        keys.fail("norm_rel_ebd", "expected \"none\" or \"layer_norm\", got \"" + kind + "\"");
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

void DebertaV2Config::validate() const {
  const auto fail = [&](const std::string& key, const std::string& what) {
    throw Error(ErrorKind::Config, source + ": " + key + ": " + what);
  };
  for (const auto& [key, value] :
       {std::pair<const char*, std::int64_t>{"vocab_size", vocab_size},
        {"hidden_size", hidden_size},
        {"num_hidden_layers", num_hidden_layers},
        {"num_attention_heads", num_attention_heads},
        {"intermediate_size", intermediate_size},
        {"max_position_embeddings", max_position_embeddings},
        {"conv_groups", conv_groups}}) {
    if (value < 1) fail(key, "must be >= 1, got " + std::to_string(value));
  }
  if (attention_head_size == 0 && hidden_size % num_attention_heads != 0) {
    fail("hidden_size", std::to_string(hidden_size) + " is not a multiple of num_attention_heads (" +
                            std::to_string(num_attention_heads) + ")");
  }
  if (attention_head_size < 0) fail("attention_head_size", "must be >= 1");
  if (embedding_size < 0) fail("embedding_size", "must be >= 1");
  if (type_vocab_size < 0) fail("type_vocab_size", "must be >= 0");
  if (conv_kernel_size < 0) fail("conv_kernel_size", "must be >= 0");
  if (conv_kernel_size > 0 && hidden_size % conv_groups != 0) {
    fail("conv_groups", "must divide hidden_size (" + std::to_string(hidden_size) + ")");
  }
  if (pooler_hidden_size != 0 && pooler_hidden_size != hidden_size) {
    fail("pooler_hidden_size", "must equal hidden_size (" + std::to_string(hidden_size) +
                                   "): the classifier reads the pooler's output");
  }
  if (!legacy && embedding_width() != hidden_size) {
    fail("embedding_size", "must equal hidden_size with \"legacy\": false (the masked-LM head "
                           "multiplies hidden states by the word embeddings)");
  }
  if (pad_token_id && (*pad_token_id < 0 || *pad_token_id >= vocab_size)) {
    fail("pad_token_id", "must be in [0, vocab_size), got " + std::to_string(*pad_token_id));
  }
  if (position_buckets > 0 && position_buckets < 2) {
    fail("position_buckets", "must be >= 2 when set (log buckets need a middle), got " +
                                 std::to_string(position_buckets));
  }
  if (relative_attention && position_buckets > 0 && max_relative() <= position_buckets / 2 + 1) {
    fail("max_relative_positions",
         "must exceed position_buckets / 2 + 1 for log buckets, got " + std::to_string(max_relative()));
  }
  if (!(layer_norm_eps > 0.0)) fail("layer_norm_eps", "must be > 0");
  activation_of(hidden_act, source, "hidden_act");
  activation_of(pooler_hidden_act, source, "pooler_hidden_act");
  activation_of(conv_act, source, "conv_act", true);
  if (id2label.empty()) fail("id2label", "needs at least one label");
}

// ---- relative positions -----------------------------------------------------------------

torch::Tensor deberta_relative_positions(std::int64_t length, std::int64_t bucket_size,
                                         std::int64_t max_position, const torch::Device& device) {
  const auto ids = torch::arange(length, torch::TensorOptions().dtype(torch::kLong).device(device));
  auto rel = ids.unsqueeze(1) - ids.unsqueeze(0);
  if (bucket_size <= 0 || max_position <= 0) return rel;
  // make_log_bucket_position, in float32 as transformers computes it.
  const auto sign = torch::sign(rel);
  const std::int64_t mid = bucket_size / 2;
  const auto abs_pos = torch::where(rel.lt(mid).logical_and(rel.gt(-mid)),
                                    torch::full_like(rel, mid - 1), torch::abs(rel));
  const auto denominator =
      torch::log(torch::tensor(static_cast<float>(static_cast<double>(max_position - 1) /
                                                  static_cast<double>(mid)),
                               torch::TensorOptions().dtype(torch::kFloat).device(device)));
  const auto log_pos =
      torch::ceil(torch::log(abs_pos.to(torch::kFloat) / static_cast<double>(mid)) / denominator *
                  static_cast<double>(mid - 1)) +
      static_cast<double>(mid);
  const auto bucket = torch::where(abs_pos.le(mid), rel.to(torch::kFloat), log_pos * sign);
  return bucket.to(torch::kLong);
}

// ---- modules ----------------------------------------------------------------------------

DebertaV2EmbeddingsImpl::DebertaV2EmbeddingsImpl(DebertaV2Config config_)
    : config(std::move(config_)) {
  reset();
}

void DebertaV2EmbeddingsImpl::reset() {
  const auto width = config.embedding_width();
  auto options = torch::nn::EmbeddingOptions(config.vocab_size, width);
  if (config.pad_token_id) options.padding_idx(*config.pad_token_id);
  word_embeddings = register_module("word_embeddings", torch::nn::Embedding(options));
  if (config.position_biased_input) {
    position_embeddings = register_module(
        "position_embeddings", torch::nn::Embedding(config.max_position_embeddings, width));
  }
  if (config.type_vocab_size > 0) {
    token_type_embeddings = register_module(
        "token_type_embeddings", torch::nn::Embedding(config.type_vocab_size, width));
  }
  if (width != config.hidden_size) {
    embed_proj = register_module("embed_proj", make_linear(width, config.hidden_size, false));
  }
  LayerNorm = register_module("LayerNorm", make_norm(config.hidden_size, config.layer_norm_eps));
}

torch::Tensor DebertaV2EmbeddingsImpl::embed(const torch::Tensor& input_ids) {
  if (input_ids.dim() != 2) {
    throw Error(ErrorKind::Runtime, "DeBERTa forward: input_ids must be [batch, seq]");
  }
  check_id_range(input_ids, config.vocab_size, "input ids", "vocab_size", config.source);
  return word_embeddings(input_ids);
}

torch::Tensor DebertaV2EmbeddingsImpl::forward(const torch::Tensor& inputs_embeds,
                                               const torch::Tensor& mask,
                                               const torch::Tensor& types) {
  const auto seq = inputs_embeds.size(1);
  auto h = inputs_embeds;
  if (position_embeddings) {
    if (seq > config.max_position_embeddings) {
      throw Error(ErrorKind::Input, "a sequence of " + std::to_string(seq) +
                                        " tokens is longer than max_position_embeddings (" +
                                        std::to_string(config.max_position_embeddings) + ") of " +
                                        config.source);
    }
    h = h + position_embeddings->weight.narrow(0, 0, seq).unsqueeze(0);
  }
  if (token_type_embeddings) {
    if (types.defined()) {
      h = h + token_type_embeddings(types.to(h.device()));
    } else {
      h = h + token_type_embeddings->weight[0];
    }
  }
  if (embed_proj) h = embed_proj(h);
  h = LayerNorm(h);
  if (mask.defined()) h = h * mask.to(h.device(), h.scalar_type()).unsqueeze(-1);
  return pft::model::dropout(h, config.hidden_dropout_prob, is_training());
}

DisentangledSelfAttentionImpl::DisentangledSelfAttentionImpl(DebertaV2Config config_)
    : config(std::move(config_)) {
  reset();
}

void DisentangledSelfAttentionImpl::reset() {
  const auto d = config.hidden_size;
  const auto all = config.all_head_size();
  query_proj = register_module("query_proj", make_linear(d, all));
  key_proj = register_module("key_proj", make_linear(d, all));
  value_proj = register_module("value_proj", make_linear(d, all));
  if (config.relative_attention && !config.share_att_key) {
    if (config.c2p) pos_key_proj = register_module("pos_key_proj", make_linear(d, all));
    if (config.p2c) pos_query_proj = register_module("pos_query_proj", make_linear(d, all));
  }
}

torch::Tensor DisentangledSelfAttentionImpl::heads_first(const torch::Tensor& x) const {
  const auto heads = config.num_attention_heads;
  return x.view({x.size(0), x.size(1), heads, -1})
      .permute({0, 2, 1, 3})
      .contiguous()
      .view({-1, x.size(1), x.size(-1) / heads});
}

torch::Tensor DisentangledSelfAttentionImpl::forward(const torch::Tensor& hidden_states,
                                                     const torch::Tensor& mask,
                                                     const torch::Tensor& relative_pos,
                                                     const torch::Tensor& rel_embeddings,
                                                     std::int64_t rel_offset) {
  const auto batch = hidden_states.size(0);
  const auto seq = hidden_states.size(1);
  const auto heads = config.num_attention_heads;
  const auto q = heads_first(query_proj(hidden_states));
  const auto k = heads_first(key_proj(hidden_states));
  const auto v = heads_first(value_proj(hidden_states));
  const bool relative = config.relative_attention;
  const int factor = 1 + (relative && config.c2p ? 1 : 0) + (relative && config.p2c ? 1 : 0);
  // transformers: sqrt of a float32 tensor, in the query's dtype.
  const auto scale = static_cast<double>(
      std::sqrt(static_cast<float>(q.size(-1)) * static_cast<float>(factor)));
  auto scores = torch::bmm(q, k.transpose(-1, -2) / scale);
  if (relative) {
    // transformers projects all 2 * span relative embeddings and gathers the columns the
    // positions index; only rows rel_offset.. are ever gathered, so only they are projected
    // (the gathered scores are the same).
    const auto span = config.attention_span();
    const auto rel = pft::model::dropout(rel_embeddings, config.hidden_dropout_prob, is_training())
                         .unsqueeze(0);
    const auto per_batch = [&](Linear& proj) {
      return heads_first(proj(rel)).repeat({batch, 1, 1});
    };
    torch::Tensor score;
    if (config.c2p) {
      const auto pos_key = per_batch(config.share_att_key ? key_proj : pos_key_proj);
      const auto c2p_pos = torch::clamp(relative_pos + span, 0, 2 * span - 1) - rel_offset;
      auto c2p = torch::bmm(q, pos_key.transpose(-1, -2));
      c2p = torch::gather(c2p, -1, c2p_pos.unsqueeze(0).expand({q.size(0), seq, seq}));
      score = c2p / scale;
    }
    if (config.p2c) {
      const auto pos_query = per_batch(config.share_att_key ? query_proj : pos_query_proj);
      const auto p2c_pos = torch::clamp(-relative_pos + span, 0, 2 * span - 1) - rel_offset;
      auto p2c = torch::bmm(k, pos_query.transpose(-1, -2));
      p2c = torch::gather(p2c, -1, p2c_pos.unsqueeze(0).expand({q.size(0), seq, seq}))
                .transpose(-1, -2);
      score = score.defined() ? score + p2c / scale : p2c / scale;
    }
    if (score.defined()) scores = scores + score;
  }
  scores = scores.view({-1, heads, seq, seq});
  if (mask.defined()) {
    // transformers fills with torch.finfo(dtype).min: a fully masked (padded) query row gets
    // uniform weights, not NaN.
    double lowest = std::numeric_limits<float>::lowest();
    if (scores.scalar_type() == torch::kBFloat16) {
      lowest = static_cast<double>(std::numeric_limits<c10::BFloat16>::lowest());
    } else if (scores.scalar_type() == torch::kHalf) {
      lowest = static_cast<double>(std::numeric_limits<c10::Half>::lowest());
    } else if (scores.scalar_type() == torch::kDouble) {
      lowest = std::numeric_limits<double>::lowest();
    }
    scores = scores.masked_fill(mask.logical_not(), lowest);
  }
  auto probs = torch::softmax(scores, -1);
  probs = pft::model::dropout(probs, config.attention_probs_dropout_prob, is_training());
  auto context = torch::bmm(probs.view({-1, seq, seq}), v);
  return context.view({batch, heads, seq, -1}).permute({0, 2, 1, 3}).reshape({batch, seq, -1});
}

DebertaV2OutputImpl::DebertaV2OutputImpl(DebertaV2Config config_, std::int64_t in_features_)
    : config(std::move(config_)), in_features(in_features_) {
  reset();
}

void DebertaV2OutputImpl::reset() {
  dense = register_module("dense", make_linear(in_features, config.hidden_size));
  LayerNorm = register_module("LayerNorm", make_norm(config.hidden_size, config.layer_norm_eps));
}

torch::Tensor DebertaV2OutputImpl::forward(const torch::Tensor& x, const torch::Tensor& residual) {
  return LayerNorm(pft::model::dropout(dense(x), config.hidden_dropout_prob, is_training()) +
                   residual);
}

DebertaV2AttentionImpl::DebertaV2AttentionImpl(DebertaV2Config config_)
    : config(std::move(config_)) {
  reset();
}

void DebertaV2AttentionImpl::reset() {
  self = register_module("self", DisentangledSelfAttention(config));
  output = register_module("output", DebertaV2Output(config, config.all_head_size()));
}

torch::Tensor DebertaV2AttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& mask,
                                              const torch::Tensor& relative_pos,
                                              const torch::Tensor& rel_embeddings,
                                              std::int64_t rel_offset) {
  return output(self(x, mask, relative_pos, rel_embeddings, rel_offset), x);
}

DebertaV2IntermediateImpl::DebertaV2IntermediateImpl(DebertaV2Config config_)
    : config(std::move(config_)) {
  reset();
}

void DebertaV2IntermediateImpl::reset() {
  activation = activation_of(config.hidden_act, config.source, "hidden_act");
  dense = register_module("dense", make_linear(config.hidden_size, config.intermediate_size));
}

torch::Tensor DebertaV2IntermediateImpl::forward(const torch::Tensor& x) {
  return activate(activation, dense(x));
}

DebertaV2LayerImpl::DebertaV2LayerImpl(DebertaV2Config config_) : config(std::move(config_)) {
  reset();
}

void DebertaV2LayerImpl::reset() {
  attention = register_module("attention", DebertaV2Attention(config));
  intermediate = register_module("intermediate", DebertaV2Intermediate(config));
  output = register_module("output", DebertaV2Output(config, config.intermediate_size));
}

torch::Tensor DebertaV2LayerImpl::forward(const torch::Tensor& x, const torch::Tensor& mask,
                                          const torch::Tensor& relative_pos,
                                          const torch::Tensor& rel_embeddings,
                                          std::int64_t rel_offset) {
  const auto attended = attention(x, mask, relative_pos, rel_embeddings, rel_offset);
  return output(intermediate(attended), attended);
}

DebertaV2ConvLayerImpl::DebertaV2ConvLayerImpl(DebertaV2Config config_)
    : config(std::move(config_)) {
  reset();
}

void DebertaV2ConvLayerImpl::reset() {
  activation = activation_of(config.conv_act, config.source, "conv_act", true);
  const auto k = config.conv_kernel_size;
  conv = register_module(
      "conv", torch::nn::Conv1d(torch::nn::Conv1dOptions(config.hidden_size, config.hidden_size, k)
                                    .padding((k - 1) / 2)
                                    .groups(config.conv_groups)));
  LayerNorm = register_module("LayerNorm", make_norm(config.hidden_size, config.layer_norm_eps));
}

torch::Tensor DebertaV2ConvLayerImpl::forward(const torch::Tensor& hidden,
                                              const torch::Tensor& residual,
                                              const torch::Tensor& mask) {
  auto out = conv(hidden.permute({0, 2, 1}).contiguous()).permute({0, 2, 1}).contiguous();
  const auto real = mask.to(out.device(), out.scalar_type()).unsqueeze(-1);
  out = out.masked_fill(real.eq(0).expand(out.sizes()), 0);
  out = activate(activation, pft::model::dropout(out, config.hidden_dropout_prob, is_training()));
  return LayerNorm(residual + out) * real;
}

DebertaV2EncoderImpl::DebertaV2EncoderImpl(DebertaV2Config config_) : config(std::move(config_)) {
  reset();
}

void DebertaV2EncoderImpl::reset() {
  layer = torch::nn::ModuleList();
  for (std::int64_t i = 0; i < config.num_hidden_layers; ++i) layer->push_back(DebertaV2Layer(config));
  layer = register_module("layer", layer);
  if (config.relative_attention) {
    rel_embeddings = register_module(
        "rel_embeddings", torch::nn::Embedding(2 * config.attention_span(), config.hidden_size));
  }
  if (config.norm_rel_ebd) {
    LayerNorm = register_module("LayerNorm", make_norm(config.hidden_size, config.layer_norm_eps));
  }
  if (config.conv_kernel_size > 0) conv = register_module("conv", DebertaV2ConvLayer(config));
}

torch::Tensor DebertaV2EncoderImpl::forward(const torch::Tensor& hidden, const torch::Tensor& mask) {
  const auto seq = hidden.size(1);
  // The pairwise mask: query i may attend key j when both are real.
  const auto real = mask.to(hidden.device(), torch::kBool);
  const auto pairwise = real.unsqueeze(1).unsqueeze(2).logical_and(real.unsqueeze(1).unsqueeze(3));
  torch::Tensor relative_pos, rel;
  std::int64_t rel_offset = 0;
  if (config.relative_attention) {
    relative_pos = deberta_relative_positions(seq, config.position_buckets, config.max_relative(),
                                              hidden.device());
    // The rows of the relative embeddings these positions index (c2p: rel + span, p2c:
    // -rel + span, clamped; relative positions are antisymmetric, so one window serves both).
    const auto span = config.attention_span();
    const auto [lo, hi] = torch::aminmax(torch::clamp(relative_pos + span, 0, 2 * span - 1));
    rel_offset = lo.item<std::int64_t>();
    // LayerNorm acts on each row alone: norming the window equals the window of the normed.
    rel = rel_embeddings->weight.narrow(0, rel_offset, hi.item<std::int64_t>() - rel_offset + 1);
    if (LayerNorm) rel = LayerNorm(rel);
  }
  const bool recompute = gradient_checkpointing && is_training() && torch::GradMode::is_enabled();
  auto h = hidden;
  for (std::size_t i = 0; i < layer->size(); ++i) {
    auto block = layer->ptr<DebertaV2LayerImpl>(i);
    if (recompute) {
      // The relative embeddings are a trainable input of every layer: passed as a tensor so
      // that the recomputed pass sends their gradient back.
      const std::vector<torch::Tensor> inputs =
          rel.defined() ? std::vector<torch::Tensor>{h, rel} : std::vector<torch::Tensor>{h};
      h = checkpoint(
          [block, pairwise, relative_pos, rel_offset](const std::vector<torch::Tensor>& x) {
            return block->forward(x[0], pairwise, relative_pos,
                                  x.size() > 1 ? x[1] : torch::Tensor(), rel_offset);
          },
          inputs);
    } else {
      h = block->forward(h, pairwise, relative_pos, rel, rel_offset);
    }
    if (i == 0 && conv) h = conv(hidden, h, mask);
  }
  return h;
}

DebertaV2ModelImpl::DebertaV2ModelImpl(DebertaV2Config config_) : config(std::move(config_)) {
  config.validate();
  reset();
}

void DebertaV2ModelImpl::reset() {
  embeddings = register_module("embeddings", DebertaV2Embeddings(config));
  encoder = register_module("encoder", DebertaV2Encoder(config));
}

torch::Tensor DebertaV2ModelImpl::forward(const EncoderInputs& inputs) {
  if (inputs.prefixes != nullptr) {
    throw Error(ErrorKind::Runtime, "deberta-v2 takes no key/value prefixes (prefix tuning)");
  }
  const auto& embeds = inputs.embeds;
  const auto mask = inputs.mask.defined()
                        ? inputs.mask.to(embeds.device(), embeds.scalar_type())
                        : torch::ones({embeds.size(0), embeds.size(1)}, embeds.options());
  return encoder(embeddings(embeds, mask, inputs.types), mask);
}

// ---- heads ------------------------------------------------------------------------------

DebertaV2ForMaskedLMImpl::DebertaV2ForMaskedLMImpl(DebertaV2Config config_)
    : config(std::move(config_)) {
  reset();
}

void DebertaV2ForMaskedLMImpl::reset() {
  activation = activation_of(config.hidden_act, config.source, "hidden_act");
  deberta = register_module("deberta", DebertaV2Model(config));
  const auto holder = [](torch::nn::Module& parent, const std::string& name) {
    return parent.register_module(name, std::make_shared<torch::nn::Module>(name));
  };
  if (config.legacy) {
    // cls.predictions.{transform.{dense,LayerNorm}, decoder, bias}
    auto predictions = holder(*holder(*this, "cls"), "predictions");
    auto transform = holder(*predictions, "transform");
    const auto width = config.embedding_width();
    dense = transform->register_module("dense", make_linear(config.hidden_size, width));
    norm = transform->register_module("LayerNorm", make_norm(width, config.layer_norm_eps));
    bias = predictions->register_parameter("bias", torch::zeros({config.vocab_size}));
    if (!config.tie_word_embeddings) {
      decoder = predictions->register_module("decoder", make_linear(width, config.vocab_size));
    }
  } else {
    // lm_predictions.lm_head.{dense, LayerNorm, bias}
    auto head = holder(*holder(*this, "lm_predictions"), "lm_head");
    dense = head->register_module("dense", make_linear(config.hidden_size, config.hidden_size));
    norm = head->register_module("LayerNorm", make_norm(config.hidden_size, config.layer_norm_eps));
    bias = head->register_parameter("bias", torch::zeros({config.vocab_size}));
  }
}

torch::Tensor DebertaV2ForMaskedLMImpl::predict(const torch::Tensor& hidden_states) {
  const auto h = norm(activate(activation, dense(hidden_states)));
  if (decoder) return decoder(h);
  return project(h, deberta->embeddings->word_embeddings->weight, bias);
}

DebertaV2ForSequenceClassificationImpl::DebertaV2ForSequenceClassificationImpl(
    DebertaV2Config config_)
    : config(std::move(config_)) {
  reset();
}

void DebertaV2ForSequenceClassificationImpl::reset() {
  activation = activation_of(config.pooler_hidden_act, config.source, "pooler_hidden_act");
  deberta = register_module("deberta", DebertaV2Model(config));
  auto pooler = register_module("pooler", std::make_shared<torch::nn::Module>("pooler"));
  pooler_dense =
      pooler->register_module("dense", make_linear(config.hidden_size, config.hidden_size));
  classifier =
      register_module("classifier", make_linear(config.hidden_size, config.num_labels()));
}

torch::Tensor DebertaV2ForSequenceClassificationImpl::classify(const EncoderInputs& inputs) {
  const auto first = deberta(inputs).select(1, 0);
  const auto pooled = activate(
      activation, pooler_dense(pft::model::dropout(first, config.pooler_dropout, is_training())));
  return classifier(pft::model::dropout(
      pooled, config.cls_dropout.value_or(config.hidden_dropout_prob), is_training()));
}

DebertaV2ForTokenClassificationImpl::DebertaV2ForTokenClassificationImpl(DebertaV2Config config_)
    : config(std::move(config_)) {
  reset();
}

void DebertaV2ForTokenClassificationImpl::reset() {
  deberta = register_module("deberta", DebertaV2Model(config));
  classifier =
      register_module("classifier", make_linear(config.hidden_size, config.num_labels()));
}

torch::Tensor DebertaV2ForTokenClassificationImpl::classify_tokens(const EncoderInputs& inputs) {
  return classifier(
      pft::model::dropout(deberta(inputs), config.hidden_dropout_prob, is_training()));
}

}  // namespace pft::model
