#include "pft/model/distilbert/family.h"

#include "pft/model/bert/load_class.h"
#include "pft/model/distilbert/distilbert.h"

namespace pft::model {

namespace {

constexpr const char* kClassifier = "classifier";

// PEFT has no defaults for distilbert (it asks for target_modules); pft's are the attention
// projections BERT's defaults name (query/value -> q_lin/v_lin; IA3 key, value and the
// feed-forward output), and its bottleneck-adapter placements.
PeftTargets distilbert_peft_targets() {
  return {
      {"LORA", {"q_lin", "v_lin"}},
      {"IA3", {"k_lin", "v_lin", "lin2"}},
      {"IA3.feedforward", {"lin2"}},
      {"BOTTLENECK_ADAPTER.attention", {R"(.*layer\.\d+\.attention\.out_lin)"}},
      {"BOTTLENECK_ADAPTER.feed_forward", {R"(.*layer\.\d+\.ffn\.lin2)"}},
  };
}

HfClassSpec spec_of(Head head, const std::string& class_name, bool tied) {
  HfClassSpec spec;
  spec.class_name = class_name;
  spec.base_prefix = "distilbert";
  spec.base_parts = {"embeddings", "transformer"};
  if (head == Head::SequenceClassification) {
    spec.fresh_prefixes = {"pre_classifier.", "classifier."};
  } else if (head == Head::TokenClassification) {
    spec.fresh_prefixes = {"classifier."};
  }
  if (head != Head::MaskedLM) spec.label_tensor = "classifier.weight";
  spec.never_loaded = [tied](const std::string& name) {
    return is_unloaded_embedding_buffer(name) || (tied && name == "vocab_projector.weight");
  };
  spec.head_prefix = "vocab_";
  spec.head_hint =
      "this checkpoint has no masked-LM head (vocab_transform, vocab_layer_norm, "
      "vocab_projector); use one saved from DistilBertForMaskedLM";
  spec.hint = "is this a distilbert checkpoint, and does its config.json describe it?";
  return spec;
}

template <class Holder>
LoadedModel load_class(const LoadRequest& request, Head head, const std::string& class_name) {
  auto out = load_bert_class<Holder>(
      request, distilbert_config,
      [&](const BertConfig& config) {
        return spec_of(head, class_name, config.tie_word_embeddings);
      },
      head,
      [](Holder& model, bool on) { model->distilbert->transformer->gradient_checkpointing = on; });
  out.info.peft_targets = distilbert_peft_targets();
  out.info.takes_key_value_prefixes = false;
  // The new head trains fully: PEFT's SEQ_CLS modules_to_save ("classifier", matched as a
  // suffix) takes pre_classifier too.
  if (head == Head::SequenceClassification) out.info.modules_to_save = {"pre_classifier", kClassifier};
  return out;
}

}  // namespace

FamilyDescriptor distilbert_family() {
  FamilyDescriptor f;
  f.model_type = "distilbert";
  f.description = "DistilBERT (encoder)";
  f.heads[Head::SequenceClassification] = [](const LoadRequest& r) {
    return load_class<DistilBertForSequenceClassification>(
        r, Head::SequenceClassification, "DistilBertForSequenceClassification");
  };
  f.heads[Head::TokenClassification] = [](const LoadRequest& r) {
    return load_class<DistilBertForTokenClassification>(r, Head::TokenClassification,
                                                        "DistilBertForTokenClassification");
  };
  f.heads[Head::MaskedLM] = [](const LoadRequest& r) {
    return load_class<DistilBertForMaskedLM>(r, Head::MaskedLM, "DistilBertForMaskedLM");
  };
  // PEFT saves the new head (pre_classifier and classifier) as modules_to_save.
  f.new_head_modules[Head::SequenceClassification] = {"pre_classifier", kClassifier};
  f.new_head_modules[Head::TokenClassification] = {kClassifier};
  f.peft_targets = distilbert_peft_targets();
  f.example_config = {{"model_type", "distilbert"}, {"vocab_size", 99},  {"dim", 32},
                      {"n_layers", 2},              {"n_heads", 4},      {"hidden_dim", 37},
                      {"max_position_embeddings", 64}};
  return f;
}

}  // namespace pft::model
