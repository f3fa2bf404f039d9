#pragma once
// BertConfig: the architecture of a BERT checkpoint, read from the `config.json` that
// Hugging Face's `BertConfig.save_pretrained` writes. It is also the options struct of every
// BERT module (include/pft/model/bert/bert.h), as transformers passes its config to each layer.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pft::model {

/// Activation functions of the feed-forward block and the masked-LM transform, under the
/// names transformers' ACT2FN uses in `hidden_act`.
enum class Activation {
  Gelu,             // "gelu": exact, erf-based
  GeluNew,          // "gelu_new": tanh approximation, as transformers' NewGELUActivation
  GeluPytorchTanh,  // "gelu_pytorch_tanh": torch's gelu(approximate="tanh")
  Relu,             // "relu"
  Silu,             // "silu" / "swish"
  Tanh,             // not a hidden_act: RoBERTa's classification head
};

struct BertConfig {
  /// config.json's model_type. The families built from BERT's blocks (RoBERTa, XLM-R) read
  /// their configs with their own defaults, model_type included (from_json's `defaults`).
  std::string model_type = "bert";
  std::int64_t vocab_size = 30522;               // rows of embeddings.word_embeddings
  std::int64_t hidden_size = 768;                // model width; a multiple of the head count
  /// ELECTRA: width of the embeddings, projected to hidden_size by `embeddings_project` when
  /// they differ (0: hidden_size). Read from config.json for model_type "electra" only.
  std::int64_t embedding_size = 0;
  std::int64_t num_hidden_layers = 12;           // encoder.layer.0 .. N-1
  std::int64_t num_attention_heads = 12;         // heads per self-attention
  std::int64_t intermediate_size = 3072;         // width of the feed-forward block
  std::string hidden_act = "gelu";               // see Activation
  double hidden_dropout_prob = 0.1;              // dropout after embeddings and sublayers
  double attention_probs_dropout_prob = 0.1;     // dropout on attention weights (training only)
  std::optional<double> classifier_dropout;      // classification heads; unset: hidden_dropout_prob
  std::int64_t max_position_embeddings = 512;    // longest input, prefix positions included
  std::int64_t type_vocab_size = 2;              // token_type_ids take values below this
  double layer_norm_eps = 1e-12;                 // epsilon of every LayerNorm
  double initializer_range = 0.02;               // std of the normal init of fresh weights
  std::optional<std::int64_t> pad_token_id = 0;  // row of word_embeddings zeroed at init
  bool tie_word_embeddings = true;               // masked-LM decoder shares word_embeddings
  std::string position_embedding_type = "absolute";  // only "absolute" is supported
  /// Position ids as RoBERTa/XLM-R count them (transformers'
  /// create_position_ids_from_input_ids): real tokens pad_token_id + 1, + 2, ... (after a
  /// prefix of P keys: from pad_token_id + 1 + P), padding pad_token_id; the position table's
  /// pad_token_id row gets no gradient. BERT (false): 0, 1, 2, ... Set by the family, not
  /// read from config.json.
  bool padding_offset_positions = false;
  /// Class names in index order: from `id2label`, else `num_labels` names "LABEL_i"
  /// (transformers' defaults; 2 labels when neither key is present).
  std::vector<std::string> id2label{"LABEL_0", "LABEL_1"};
  std::map<std::string, std::int64_t> label2id{{"LABEL_0", 0}, {"LABEL_1", 1}};
  /// Where the config came from ("DIR/config.json"), for messages.
  std::string source = "(built in code)";

  std::int64_t num_labels() const { return static_cast<std::int64_t>(id2label.size()); }
  std::int64_t head_dim() const { return hidden_size / num_attention_heads; }
  /// Width of the word embeddings (and of inputs_embeds).
  std::int64_t embedding_width() const { return embedding_size > 0 ? embedding_size : hidden_size; }
  /// hidden_act parsed; throws pft::Error (Config) when it names no supported activation.
  Activation activation() const;
  /// Dropout of the classification heads, as transformers chooses it.
  double classifier_dropout_prob() const {
    return classifier_dropout ? *classifier_dropout : hidden_dropout_prob;
  }

  /// Reads a parsed config.json over `defaults` (transformers' defaults of the config class
  /// of defaults.model_type). Unknown keys are ignored (config.json carries many that do not
  /// concern the architecture); a known key of the wrong type, a value out of range or an
  /// unsupported feature (relative position embeddings, decoder mode, a `model_type` other
  /// than defaults.model_type) is a pft::Error (Config) naming `source`, the key and the
  /// value.
  static BertConfig from_json(const nlohmann::json& doc, const std::string& source,
                              const BertConfig& defaults);
  /// from_json over BERT's defaults.
  static BertConfig from_json(const nlohmann::json& doc, const std::string& source);

  /// Checks every constraint; throws pft::Error (Config) naming `source`, the key, the value
  /// and the rule. from_json calls it; call it again after editing fields in code.
  void validate() const;

  /// Reads the labels of a parsed config.json as transformers does: `id2label` (with
  /// `num_labels`, when present, agreeing), else `num_labels` names "LABEL_i"; `label2id`
  /// must be id2label's inverse. Errors (pft::Error, Config) name `source` and the key.
  void read_labels(const nlohmann::json& doc);

  /// Replaces the labels with `names` (num_labels follows), as `from_pretrained(num_labels=)`
  /// or a task's label list does.
  void set_labels(const std::vector<std::string>& names);
};

/// Parses an activation name of transformers ("gelu", "gelu_new", "gelu_pytorch_tanh",
/// "relu", "silu", "swish"); nullopt for anything else.
std::optional<Activation> parse_activation(const std::string& name);

}  // namespace pft::model
