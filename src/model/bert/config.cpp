#include "pft/model/bert/config.h"

#include <sstream>

#include "pft/util/error.h"
#include "pft/util/json.h"
#include "pft/util/strings.h"

using nlohmann::json;

namespace pft::model {

namespace {

std::string show(double value) {
  std::ostringstream s;
  s << value;
  return s.str();
}

[[noreturn]] void fail(const std::string& source, const std::string& key, const std::string& what) {
  throw Error(ErrorKind::Config, source + ": " + key + ": " + what);
}

}  // namespace

std::optional<Activation> parse_activation(const std::string& name) {
  if (name == "gelu") return Activation::Gelu;
  if (name == "gelu_new") return Activation::GeluNew;
  if (name == "gelu_pytorch_tanh") return Activation::GeluPytorchTanh;
  if (name == "relu") return Activation::Relu;
  if (name == "silu" || name == "swish") return Activation::Silu;
  return std::nullopt;
}

Activation BertConfig::activation() const {
  const auto act = parse_activation(hidden_act);
  if (!act) {
    fail(source, "hidden_act",
         "expected one of gelu, gelu_new, gelu_pytorch_tanh, relu, silu or swish, got \"" +
             hidden_act + "\"");
  }
  return *act;
}

void BertConfig::set_labels(const std::vector<std::string>& names) {
  id2label = names;
  label2id.clear();
  for (std::size_t i = 0; i < names.size(); ++i) {
    label2id[names[i]] = static_cast<std::int64_t>(i);
  }
}

BertConfig BertConfig::from_json(const json& doc, const std::string& source) {
  return from_json(doc, source, BertConfig());
}

BertConfig BertConfig::from_json(const json& doc, const std::string& source,
                                 const BertConfig& defaults) {
  if (!doc.is_object()) {
    throw Error(ErrorKind::Config,
                source + ": expected a JSON object, got " + JsonKeys::describe(doc));
  }
  BertConfig c = defaults;
  c.source = source;
  const JsonKeys keys(doc, source);

  std::string model_type;
  keys.string("model_type", model_type);
  if (!model_type.empty() && model_type != c.model_type) {
    fail(source, "model_type",
         "expected \"" + c.model_type + "\", got \"" + model_type +
             "\" (each model_type is read by its own family)");
  }
  keys.integer("vocab_size", c.vocab_size);
  keys.integer("hidden_size", c.hidden_size);
  if (c.model_type == "electra") keys.integer("embedding_size", c.embedding_size);
  keys.integer("num_hidden_layers", c.num_hidden_layers);
  keys.integer("num_attention_heads", c.num_attention_heads);
  keys.integer("intermediate_size", c.intermediate_size);
  keys.string("hidden_act", c.hidden_act);
  keys.number("hidden_dropout_prob", c.hidden_dropout_prob);
  keys.number("attention_probs_dropout_prob", c.attention_probs_dropout_prob);
  if (double value = 0.0; keys.number("classifier_dropout", value)) c.classifier_dropout = value;
  keys.integer("max_position_embeddings", c.max_position_embeddings);
  keys.integer("type_vocab_size", c.type_vocab_size);
  keys.number("layer_norm_eps", c.layer_norm_eps);
  keys.number("initializer_range", c.initializer_range);
  keys.nullable_integer("pad_token_id", c.pad_token_id);
  keys.boolean("tie_word_embeddings", c.tie_word_embeddings);
  keys.string("position_embedding_type", c.position_embedding_type);

  bool is_decoder = false;
  bool add_cross_attention = false;
  keys.boolean("is_decoder", is_decoder);
  keys.boolean("add_cross_attention", add_cross_attention);
  if (is_decoder)
    fail(source, "is_decoder", "BERT as a decoder (causal, with a cache) is not supported");
  if (add_cross_attention) {
    fail(source, "add_cross_attention", "BERT with cross-attention is not supported");
  }

  c.read_labels(doc);
  c.validate();
  return c;
}

void BertConfig::read_labels(const json& doc) {
  const JsonKeys keys(doc, source);
  // Labels: id2label wins (num_labels follows from it, as in transformers); otherwise
  // num_labels makes default names.
  if (auto names = keys.id2label()) {
    set_labels(*names);
    std::int64_t count = num_labels();
    keys.integer("num_labels", count);
    if (count != num_labels()) {
      fail(source, "num_labels",
           "is " + std::to_string(count) + " but id2label has " +
               std::to_string(num_labels()) + " entries");
    }
  } else if (std::int64_t count = 0; keys.integer("num_labels", count)) {
    if (count < 1) fail(source, "num_labels", "must be >= 1, got " + std::to_string(count));
    std::vector<std::string> names;
    for (std::int64_t i = 0; i < count; ++i) names.push_back("LABEL_" + std::to_string(i));
    set_labels(names);
  }
  // label2id is the inverse of id2label in every file transformers writes; a file whose
  // label2id disagrees is inconsistent, and id2label is what the model's outputs follow.
  if (const auto it = doc.find("label2id"); it != doc.end() && !it->is_null()) {
    if (!it->is_object())
      fail(source, "label2id", "expected an object, got " + JsonKeys::describe(*it));
    for (const auto& [name, index] : it->items()) {
      const auto own = label2id.find(name);
      if (!index.is_number_integer() || own == label2id.end() ||
          own->second != index.get<std::int64_t>()) {
        fail(source, "label2id." + name,
             "disagrees with id2label (got " + JsonKeys::describe(index) + "); id2label lists " +
                 join_alternatives(id2label));
      }
    }
  }
}

void BertConfig::validate() const {
  const auto positive = [&](const char* key, std::int64_t value) {
    if (value < 1) fail(source, key, "must be >= 1, got " + std::to_string(value));
  };
  positive("vocab_size", vocab_size);
  positive("hidden_size", hidden_size);
  positive("num_hidden_layers", num_hidden_layers);
  positive("num_attention_heads", num_attention_heads);
  positive("intermediate_size", intermediate_size);
  positive("max_position_embeddings", max_position_embeddings);
  positive("type_vocab_size", type_vocab_size);
  if (embedding_size < 0) {
    fail(source, "embedding_size", "must be >= 1, got " + std::to_string(embedding_size));
  }
  if (hidden_size % num_attention_heads != 0) {
    fail(source, "hidden_size",
         std::to_string(hidden_size) + " is not a multiple of num_attention_heads (" +
             std::to_string(num_attention_heads) + ")");
  }
  activation();
  const auto probability = [&](const char* key, double p) {
    if (!(p >= 0.0 && p < 1.0)) fail(source, key, "must be in [0, 1), got " + show(p));
  };
  probability("hidden_dropout_prob", hidden_dropout_prob);
  probability("attention_probs_dropout_prob", attention_probs_dropout_prob);
  if (classifier_dropout) probability("classifier_dropout", *classifier_dropout);
  if (!(layer_norm_eps > 0.0)) {
    fail(source, "layer_norm_eps", "must be > 0, got " + show(layer_norm_eps));
  }
  if (!(initializer_range >= 0.0)) {
    fail(source, "initializer_range", "must be >= 0, got " + show(initializer_range));
  }
  if (pad_token_id && (*pad_token_id < 0 || *pad_token_id >= vocab_size)) {
    fail(source, "pad_token_id",
         "must be in [0, vocab_size) = [0, " + std::to_string(vocab_size) + "), got " +
             std::to_string(*pad_token_id));
  }
  if (position_embedding_type != "absolute") {
    fail(source, "position_embedding_type",
         "only \"absolute\" position embeddings are supported, got \"" + position_embedding_type +
             "\"");
  }
  if (padding_offset_positions && !pad_token_id) {
    fail(source, "pad_token_id", "is null, but " + model_type + " counts positions from it");
  }
  if (id2label.empty()) fail(source, "id2label", "needs at least one label");
  if (label2id.size() != id2label.size()) {
    fail(source, "id2label", "label names must be distinct; got " + join_alternatives(id2label));
  }
}

}  // namespace pft::model
