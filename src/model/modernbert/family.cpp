#include "pft/model/modernbert/family.h"

#include <fmt/format.h>

#include "pft/io/checkpoint.h"
#include "pft/model/bert/load_class.h"
#include "pft/model/hf_loader.h"
#include "pft/model/modernbert/modernbert.h"
#include "pft/util/log.h"

namespace pft::model {

namespace {

constexpr const char* kClassifier = "classifier";

// PEFT has no defaults for modernbert (it asks for target_modules); pft's: the fused
// query/key/value projection for LoRA, it and the feed-forward output for IA3, and the
// bottleneck adapters after the attention and feed-forward outputs.
PeftTargets modernbert_peft_targets() {
  return {
      {"LORA", {"Wqkv"}},
      {"IA3", {"Wqkv", "mlp.Wo"}},
      {"IA3.feedforward", {"mlp.Wo"}},
      {"BOTTLENECK_ADAPTER.attention", {R"(.*layers\.\d+\.attn\.Wo)"}},
      {"BOTTLENECK_ADAPTER.feed_forward", {R"(.*layers\.\d+\.mlp\.Wo)"}},
  };
}

template <class Holder>
LoadedModel load_class(const LoadRequest& request, Head head, const std::string& class_name) {
  auto config = ModernBertConfig::from_json(io::read_model_config(request.path),
                                            request.path + "/config.json");
  const bool has_labels = head != Head::MaskedLM;
  HfClassSpec spec;
  spec.class_name = class_name;
  spec.base_prefix = "model";
  spec.base_parts = {"embeddings", "layers", "final_norm"};
  if (has_labels) {
    // The prediction head is pretrained with the masked LM; a checkpoint without it gets it
    // fresh, as transformers does.
    spec.fresh_prefixes = {"head.", "classifier."};
    spec.label_tensor = "classifier.weight";
  }
  const bool tied = config.tie_word_embeddings;
  spec.never_loaded = [tied](const std::string& name) { return tied && name == "decoder.weight"; };
  spec.head_prefix = "head.";
  spec.head_hint = "this checkpoint has no masked-LM head (head.*, decoder.*); use one saved from "
                   "ModernBertForMaskedLM";
  spec.hint = "is this a modernbert checkpoint, and does its config.json describe it?";

  const ClassState state = read_class_state(request.path, spec);
  if (has_labels && !request.labels.empty()) {
    check_class_count(state, spec, request.path, config.id2label, request.labels);
    config.id2label = request.labels;
  }
  Holder model(config);
  model->model->gradient_checkpointing = request.gradient_checkpointing;
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
  info.model_type = "modernbert";
  info.task_type = peft_task_type(head);
  info.base_model_name_or_path = request.path;
  info.hidden_size = config.hidden_size;
  info.num_layers = config.num_hidden_layers;
  info.num_heads = config.num_attention_heads;
  info.num_kv_heads = config.num_attention_heads;
  info.head_dim = config.head_dim();
  info.vocab_size = config.vocab_size;
  info.pad_token_id = config.pad_token_id.value_or(0);
  if (has_labels) info.modules_to_save = {kClassifier};  // `head` is pretrained (the MLM's)
  info.word_embeddings = "model.embeddings.tok_embeddings.weight";
  info.peft_targets = modernbert_peft_targets();
  // transformers' ModernBERT takes no cached keys/values (PEFT cannot run prefix tuning).
  info.takes_key_value_prefixes = false;
  if (has_labels) out.labels = config.id2label;
  return out;
}

}  // namespace

FamilyDescriptor modernbert_family() {
  FamilyDescriptor f;
  f.model_type = "modernbert";
  f.description = "ModernBERT (encoder)";
  f.heads[Head::SequenceClassification] = [](const LoadRequest& r) {
    return load_class<ModernBertForSequenceClassification>(
        r, Head::SequenceClassification, "ModernBertForSequenceClassification");
  };
  f.heads[Head::TokenClassification] = [](const LoadRequest& r) {
    return load_class<ModernBertForTokenClassification>(r, Head::TokenClassification,
                                                        "ModernBertForTokenClassification");
  };
  f.heads[Head::MaskedLM] = [](const LoadRequest& r) {
    return load_class<ModernBertForMaskedLM>(r, Head::MaskedLM, "ModernBertForMaskedLM");
  };
  f.new_head_modules[Head::SequenceClassification] = {kClassifier};
  f.new_head_modules[Head::TokenClassification] = {kClassifier};
  f.peft_targets = modernbert_peft_targets();
  f.example_config = {{"model_type", "modernbert"},
                      {"vocab_size", 99},
                      {"hidden_size", 32},
                      {"intermediate_size", 40},
                      {"num_hidden_layers", 3},
                      {"num_attention_heads", 4},
                      {"local_attention", 4},
                      {"global_attn_every_n_layers", 2},
                      {"max_position_embeddings", 64},
                      {"pad_token_id", 0}};
  return f;
}

}  // namespace pft::model
