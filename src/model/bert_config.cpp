#include "pft/model/bert_config.h"

#include <sstream>

#include "pft/util/error.h"
#include "pft/util/strings.h"

using nlohmann::json;

namespace pft::model {

namespace {

std::string show(const json& value) {
  std::string text = value.dump();
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return std::string(value.type_name()) + " " + text;
}

std::string show(double value) {
  std::ostringstream s;
  s << value;
  return s.str();
}

[[noreturn]] void fail(const std::string& source, const std::string& key, const std::string& what) {
  throw Error(ErrorKind::Config, source + ": " + key + ": " + what);
}

// Readers of one key: absent keys keep the default; present keys must have the right type.
void read_int(const json& doc, const std::string& source, const char* key, std::int64_t& out) {
  const auto it = doc.find(key);
  if (it == doc.end()) return;
  if (!it->is_number_integer()) fail(source, key, "expected an integer, got " + show(*it));
  out = it->get<std::int64_t>();
}

void read_number(const json& doc, const std::string& source, const char* key, double& out) {
  const auto it = doc.find(key);
  if (it == doc.end()) return;
  if (!it->is_number()) fail(source, key, "expected a number, got " + show(*it));
  out = it->get<double>();
}

void read_string(const json& doc, const std::string& source, const char* key, std::string& out) {
  const auto it = doc.find(key);
  if (it == doc.end()) return;
  if (!it->is_string()) fail(source, key, "expected a string, got " + show(*it));
  out = it->get<std::string>();
}

void read_bool(const json& doc, const std::string& source, const char* key, bool& out) {
  const auto it = doc.find(key);
  if (it == doc.end()) return;
  if (!it->is_boolean()) fail(source, key, "expected true or false, got " + show(*it));
  out = it->get<bool>();
}

// id2label is written by transformers as {"0": "neg", "1": "pos"}: string keys holding
// every index from 0 to n-1 exactly once.
std::vector<std::string> read_id2label(const json& value, const std::string& source) {
  if (!value.is_object()) {
    fail(source, "id2label", "expected an object {\"0\": \"name\", ...}, got " + show(value));
  }
  std::vector<std::string> names(value.size());
  std::vector<bool> seen(value.size(), false);
  for (const auto& [key, name] : value.items()) {
    std::size_t used = 0;
    long long index = -1;
    try {
      index = std::stoll(key, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != key.size() || index < 0 || index >= static_cast<long long>(names.size())) {
      fail(source, "id2label",
           "expected the keys \"0\" .. \"" + std::to_string(names.size() - 1) + "\", got \"" + key +
               "\"");
    }
    if (!name.is_string()) {
      fail(source, "id2label." + key, "expected a string, got " + show(name));
    }
    names[static_cast<std::size_t>(index)] = name.get<std::string>();
    seen[static_cast<std::size_t>(index)] = true;
  }
  for (std::size_t i = 0; i < seen.size(); ++i) {
    if (!seen[i]) fail(source, "id2label", "index " + std::to_string(i) + " is missing");
  }
  return names;
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
  if (!doc.is_object()) {
    throw Error(ErrorKind::Config, source + ": expected a JSON object, got " + show(doc));
  }
  BertConfig c;
  c.source = source;

  std::string model_type;
  read_string(doc, source, "model_type", model_type);
  if (!model_type.empty() && model_type != "bert") {
    fail(source, "model_type",
         "expected \"bert\", got \"" + model_type +
             "\" (other BERT-like families such as RoBERTa differ in position ids and are not "
             "supported by the BERT model)");
  }
  read_int(doc, source, "vocab_size", c.vocab_size);
  read_int(doc, source, "hidden_size", c.hidden_size);
  read_int(doc, source, "num_hidden_layers", c.num_hidden_layers);
  read_int(doc, source, "num_attention_heads", c.num_attention_heads);
  read_int(doc, source, "intermediate_size", c.intermediate_size);
  read_string(doc, source, "hidden_act", c.hidden_act);
  read_number(doc, source, "hidden_dropout_prob", c.hidden_dropout_prob);
  read_number(doc, source, "attention_probs_dropout_prob", c.attention_probs_dropout_prob);
  if (const auto it = doc.find("classifier_dropout"); it != doc.end() && !it->is_null()) {
    double value = 0.0;
    read_number(doc, source, "classifier_dropout", value);
    c.classifier_dropout = value;
  }
  read_int(doc, source, "max_position_embeddings", c.max_position_embeddings);
  read_int(doc, source, "type_vocab_size", c.type_vocab_size);
  read_number(doc, source, "layer_norm_eps", c.layer_norm_eps);
  read_number(doc, source, "initializer_range", c.initializer_range);
  if (const auto it = doc.find("pad_token_id"); it != doc.end()) {
    if (it->is_null()) {
      c.pad_token_id.reset();
    } else {
      std::int64_t value = 0;
      read_int(doc, source, "pad_token_id", value);
      c.pad_token_id = value;
    }
  }
  read_bool(doc, source, "tie_word_embeddings", c.tie_word_embeddings);
  read_string(doc, source, "position_embedding_type", c.position_embedding_type);

  bool is_decoder = false;
  bool add_cross_attention = false;
  read_bool(doc, source, "is_decoder", is_decoder);
  read_bool(doc, source, "add_cross_attention", add_cross_attention);
  if (is_decoder)
    fail(source, "is_decoder", "BERT as a decoder (causal, with a cache) is not supported");
  if (add_cross_attention) {
    fail(source, "add_cross_attention", "BERT with cross-attention is not supported");
  }

  // Labels: id2label wins (num_labels follows from it, as in transformers); otherwise
  // num_labels makes default names.
  if (const auto it = doc.find("id2label"); it != doc.end() && !it->is_null()) {
    c.set_labels(read_id2label(*it, source));
    std::int64_t num_labels = c.num_labels();
    read_int(doc, source, "num_labels", num_labels);
    if (num_labels != c.num_labels()) {
      fail(source, "num_labels",
           "is " + std::to_string(num_labels) + " but id2label has " +
               std::to_string(c.num_labels()) + " entries");
    }
  } else if (doc.contains("num_labels")) {
    std::int64_t num_labels = 0;
    read_int(doc, source, "num_labels", num_labels);
    if (num_labels < 1)
      fail(source, "num_labels", "must be >= 1, got " + std::to_string(num_labels));
    std::vector<std::string> names;
    for (std::int64_t i = 0; i < num_labels; ++i) names.push_back("LABEL_" + std::to_string(i));
    c.set_labels(names);
  }
  // label2id is the inverse of id2label in every file transformers writes; a file whose
  // label2id disagrees is inconsistent, and id2label is what the model's outputs follow.
  if (const auto it = doc.find("label2id"); it != doc.end() && !it->is_null()) {
    if (!it->is_object()) fail(source, "label2id", "expected an object, got " + show(*it));
    for (const auto& [name, index] : it->items()) {
      const auto own = c.label2id.find(name);
      if (!index.is_number_integer() || own == c.label2id.end() ||
          own->second != index.get<std::int64_t>()) {
        fail(source, "label2id." + name,
             "disagrees with id2label (got " + show(index) + "); id2label lists " +
                 join_alternatives(c.id2label));
      }
    }
  }

  c.validate();
  return c;
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
  if (id2label.empty()) fail(source, "id2label", "needs at least one label");
  if (label2id.size() != id2label.size()) {
    fail(source, "id2label", "label names must be distinct; got " + join_alternatives(id2label));
  }
}

}  // namespace pft::model
