#include "pft/model/bert/loader.h"


#include "pft/model/bert/load_class.h"
#include "pft/model/hf_loader.h"
#include "pft/util/error.h"
#include "pft/util/log.h"

#include <fmt/ranges.h>

namespace pft::model {

namespace {

// How one BERT class is loaded: `fresh` names the parts transformers initialises when the
// checkpoint lacks them.
HfClassSpec bert_spec(const char* class_name, bool prefixed, std::vector<std::string> fresh,
                      bool has_labels, const BertConfig& config) {
  HfClassSpec spec;
  spec.class_name = class_name;
  spec.base_prefix = "bert";
  spec.base_parts = {"embeddings", "encoder", "pooler"};
  spec.prefixed = prefixed;
  spec.fresh_prefixes = std::move(fresh);
  if (has_labels) spec.label_tensor = "classifier.weight";
  // Non-persistent buffers some versions saved, and, when tied, the masked-LM decoder whose
  // weight is the word embeddings and whose bias is `cls.predictions.bias`.
  const bool tied = config.tie_word_embeddings;
  spec.never_loaded = [tied](const std::string& name) {
    return is_unloaded_embedding_buffer(name) ||
           (tied &&
            (name == "cls.predictions.decoder.weight" || name == "cls.predictions.decoder.bias"));
  };
  spec.head_prefix = "cls.";
  spec.head_hint =
      "this checkpoint has no masked-LM head (cls.predictions.*); use one saved from "
      "BertForMaskedLM or BertForPreTraining";
  spec.hint = "is this a BERT checkpoint, and does its config.json describe it?";
  return spec;
}

template <class Holder>
Holder load_as(const std::string& dir, const BertLoadOptions& options, BertLoadInfo* info,
               const char* class_name, bool prefixed, std::vector<std::string> fresh,
               bool has_labels) {
  BertConfig config = read_bert_config(dir);
  const auto spec = bert_spec(class_name, prefixed, std::move(fresh), has_labels, config);
  const ClassState state = read_class_state(dir, spec);
  if (has_labels && !options.labels.empty()) {
    check_class_count(state, spec, dir, config.id2label, options.labels);
    config.set_labels(options.labels);
    config.validate();
  }
  Holder model(config);
  auto loaded =
      finish_class_load(*model, state, spec, dir, config.initializer_range, options.device);
  log_class_loaded(class_name, dir, config.num_hidden_layers, config.hidden_size,
                   config.num_attention_heads,
                   has_labels ? std::optional<std::int64_t>(config.num_labels()) : std::nullopt,
                   loaded.seconds);
  if (info != nullptr) {
    info->config = config;
    info->report = std::move(loaded.report);
    info->initialized = std::move(loaded.initialized);
    info->seconds = loaded.seconds;
  }
  return model;
}

}  // namespace

BertConfig read_bert_config(const std::string& dir) {
  return BertConfig::from_json(io::read_model_config(dir), dir + "/config.json");
}

BertModel load_bert_model(const std::string& dir, const BertLoadOptions& options,
                          BertLoadInfo* info) {
  return load_as<BertModel>(dir, options, info, "BertModel", /*prefixed=*/false, {"pooler."},
                            /*has_labels=*/false);
}

BertForMaskedLM load_bert_for_masked_lm(const std::string& dir, const BertLoadOptions& options,
                                        BertLoadInfo* info) {
  return load_as<BertForMaskedLM>(dir, options, info, "BertForMaskedLM", /*prefixed=*/true, {},
                                  /*has_labels=*/false);
}

BertForSequenceClassification load_bert_for_sequence_classification(const std::string& dir,
                                                                    const BertLoadOptions& options,
                                                                    BertLoadInfo* info) {
  return load_as<BertForSequenceClassification>(dir, options, info,
                                                "BertForSequenceClassification",
                                                /*prefixed=*/true, {"classifier.", "bert.pooler."},
                                                /*has_labels=*/true);
}

BertForTokenClassification load_bert_for_token_classification(const std::string& dir,
                                                              const BertLoadOptions& options,
                                                              BertLoadInfo* info) {
  return load_as<BertForTokenClassification>(dir, options, info, "BertForTokenClassification",
                                             /*prefixed=*/true, {"classifier."},
                                             /*has_labels=*/true);
}

}  // namespace pft::model
