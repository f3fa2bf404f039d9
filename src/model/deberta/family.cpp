#include "pft/model/deberta/family.h"

#include "pft/io/checkpoint.h"
#include "pft/model/bert/load_class.h"
#include "pft/model/deberta/deberta.h"
#include "pft/model/hf_loader.h"

namespace pft::model {

namespace {

constexpr const char* kClassifier = "classifier";

// PEFT's defaults for deberta-v2: LoRA on query_proj and value_proj, IA3 on key_proj,
// value_proj and the feed-forward output (output.dense, which also names the attention's
// output projection, as in PEFT); bottleneck adapters after both outputs, as BERT's.
PeftTargets deberta_peft_targets() {
  return {
      {"LORA", {"query_proj", "value_proj"}},
      {"IA3", {"key_proj", "value_proj", "output.dense"}},
      {"IA3.feedforward", {"output.dense"}},
      {"BOTTLENECK_ADAPTER.attention", {R"(.*layer\.\d+\.attention\.output\.dense)"}},
      {"BOTTLENECK_ADAPTER.feed_forward", {R"(.*layer\.\d+\.output\.dense)"}},
  };
}

template <class Holder>
LoadedModel load_class(const LoadRequest& request, Head head, const std::string& class_name) {
  auto config = DebertaV2Config::from_json(io::read_model_config(request.path),
                                           request.path + "/config.json");
  const bool has_labels = head != Head::MaskedLM;
  HfClassSpec spec;
  spec.class_name = class_name;
  spec.base_prefix = "deberta";
  spec.base_parts = {"embeddings", "encoder"};
  if (head == Head::SequenceClassification) {
    spec.fresh_prefixes = {"pooler.", "classifier."};
  } else if (head == Head::TokenClassification) {
    spec.fresh_prefixes = {"classifier."};
  }
  if (has_labels) spec.label_tensor = "classifier.weight";
  const bool legacy = config.legacy;
  const bool tied = config.tie_word_embeddings;
  // transformers ignores these: a tied decoder (its weight is the word embeddings, its bias
  // cls.predictions.bias), position embeddings of a model without absolute positions, and the
  // replaced-token-detection head (mask_predictions) of pretraining checkpoints.
  const bool positions = config.position_biased_input;
  spec.never_loaded = [legacy, tied, positions](const std::string& name) {
    if (legacy && tied && name.rfind("cls.predictions.decoder.", 0) == 0) return true;
    if (!positions && name == "deberta.embeddings.position_embeddings.weight") return true;
    return name.rfind("mask_predictions.", 0) == 0 || is_unloaded_embedding_buffer(name);
  };
  spec.head_prefix = legacy ? "cls." : "lm_predictions.";
  spec.head_hint = "this checkpoint has no masked-LM head (cls.predictions or "
                   "lm_predictions.lm_head); use one saved from DebertaV2ForMaskedLM";
  spec.hint = "is this a deberta-v2 checkpoint, and does its config.json describe it?";

  const ClassState state = read_class_state(request.path, spec);
  if (has_labels && !request.labels.empty()) {
    check_class_count(state, spec, request.path, config.id2label, request.labels);
    config.id2label = request.labels;
  }
  Holder model(config);
  model->deberta->encoder->gradient_checkpointing = request.gradient_checkpointing;
  const auto loaded = finish_class_load(*model, state, spec, request.path,
                                        config.initializer_range, request.device);
  log_class_loaded(class_name, request.path, config.num_hidden_layers, config.hidden_size,
                   config.num_attention_heads,
                   has_labels ? std::optional<std::int64_t>(config.num_labels()) : std::nullopt,
                   loaded.seconds);
  LoadedModel out;
  out.module = model.ptr();
  out.head = head;
  auto& info = out.info;
  info.model_type = "deberta-v2";
  info.task_type = peft_task_type(head);
  info.base_model_name_or_path = request.path;
  info.hidden_size = config.hidden_size;
  info.num_layers = config.num_hidden_layers;
  info.num_heads = config.num_attention_heads;
  info.num_kv_heads = config.num_attention_heads;
  info.head_dim = config.head_size();
  info.vocab_size = config.vocab_size;
  info.pad_token_id = config.pad_token_id.value_or(0);
  // The new head trains fully: PEFT's SEQ_CLS modules_to_save ("classifier", matched as a
  // suffix) and, for sequences, the pooler, which transformers initialises fresh as well.
  if (head == Head::SequenceClassification) info.modules_to_save = {"pooler", kClassifier};
  if (head == Head::TokenClassification) info.modules_to_save = {kClassifier};
  info.word_embeddings = "deberta.embeddings.word_embeddings.weight";
  info.peft_targets = deberta_peft_targets();
  // transformers' DeBERTa takes no cached keys/values (PEFT cannot run prefix tuning).
  info.takes_key_value_prefixes = false;
  if (has_labels) out.labels = config.id2label;
  return out;
}

}  // namespace

FamilyDescriptor deberta_v2_family() {
  FamilyDescriptor f;
  f.model_type = "deberta-v2";
  f.description = "DeBERTa-v2 / DeBERTa-v3 (encoder)";
  f.heads[Head::SequenceClassification] = [](const LoadRequest& r) {
    return load_class<DebertaV2ForSequenceClassification>(r, Head::SequenceClassification,
                                                          "DebertaV2ForSequenceClassification");
  };
  f.heads[Head::TokenClassification] = [](const LoadRequest& r) {
    return load_class<DebertaV2ForTokenClassification>(r, Head::TokenClassification,
                                                       "DebertaV2ForTokenClassification");
  };
  f.heads[Head::MaskedLM] = [](const LoadRequest& r) {
    return load_class<DebertaV2ForMaskedLM>(r, Head::MaskedLM, "DebertaV2ForMaskedLM");
  };
  f.new_head_modules[Head::SequenceClassification] = {"pooler", kClassifier};
  f.new_head_modules[Head::TokenClassification] = {kClassifier};
  f.peft_targets = deberta_peft_targets();
  f.example_config = {{"model_type", "deberta-v2"},
                      {"vocab_size", 99},
                      {"hidden_size", 32},
                      {"intermediate_size", 37},
                      {"num_hidden_layers", 2},
                      {"num_attention_heads", 4},
                      {"max_position_embeddings", 64},
                      {"relative_attention", true},
                      {"pos_att_type", {"p2c", "c2p"}},
                      {"position_buckets", 16},
                      {"max_relative_positions", 32},
                      {"norm_rel_ebd", "layer_norm"},
                      {"share_att_key", true},
                      {"position_biased_input", false}};
  return f;
}

}  // namespace pft::model
