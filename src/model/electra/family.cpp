#include "pft/model/electra/family.h"

#include "pft/model/bert/family.h"
#include "pft/model/bert/load_class.h"
#include "pft/model/electra/electra.h"

namespace pft::model {

namespace {

constexpr const char* kClassifier = "classifier";

// How transformers loads an ELECTRA class: names under `electra.`; a tied generator head
// never loads its weight (the word embeddings are used).
HfClassSpec spec_of(Head head, const std::string& class_name, bool tied) {
  HfClassSpec spec;
  spec.class_name = class_name;
  spec.base_prefix = "electra";
  spec.base_parts = {"embeddings", "embeddings_project", "encoder"};
  if (head != Head::MaskedLM) spec.fresh_prefixes = {"classifier."};
  if (head == Head::SequenceClassification) spec.label_tensor = "classifier.out_proj.weight";
  if (head == Head::TokenClassification) spec.label_tensor = "classifier.weight";
  spec.never_loaded = [tied](const std::string& name) {
    return is_unloaded_embedding_buffer(name) || (tied && name == "generator_lm_head.weight");
  };
  spec.head_prefix = "generator_";
  spec.head_hint =
      "this checkpoint has no masked-LM head (generator_predictions.*, generator_lm_head.*): an "
      "ELECTRA discriminator has none; use a generator saved from ElectraForMaskedLM";
  spec.hint = "is this an electra checkpoint, and does its config.json describe it?";
  return spec;
}

template <class Holder>
LoadedModel load_class(const LoadRequest& request, Head head, const std::string& class_name) {
  return load_bert_class<Holder>(
      request,
      [&](const nlohmann::json& doc, const std::string& source) {
        return BertConfig::from_json(doc, source, electra_config_defaults());
      },
      [&](const BertConfig& config) {
        return spec_of(head, class_name, config.tie_word_embeddings);
      },
      head, [](Holder& model, bool on) { model->electra->encoder->gradient_checkpointing = on; });
}

}  // namespace

FamilyDescriptor electra_family() {
  FamilyDescriptor f;
  f.model_type = "electra";
  f.description = "ELECTRA (encoder)";
  f.heads[Head::SequenceClassification] = [](const LoadRequest& r) {
    return load_class<ElectraForSequenceClassification>(r, Head::SequenceClassification,
                                                        "ElectraForSequenceClassification");
  };
  f.heads[Head::TokenClassification] = [](const LoadRequest& r) {
    return load_class<ElectraForTokenClassification>(r, Head::TokenClassification,
                                                     "ElectraForTokenClassification");
  };
  f.heads[Head::MaskedLM] = [](const LoadRequest& r) {
    return load_class<ElectraForMaskedLM>(r, Head::MaskedLM, "ElectraForMaskedLM");
  };
  f.new_head_modules[Head::SequenceClassification] = {kClassifier};
  f.new_head_modules[Head::TokenClassification] = {kClassifier};
  // PEFT's LoRA default for electra is BERT's (query, value); PEFT has no IA3 default for
  // it, and BERT's module names fit.
  f.peft_targets = bert_family().peft_targets;
  f.example_config = {{"model_type", "electra"},
                      {"vocab_size", 99},
                      {"embedding_size", 16},
                      {"hidden_size", 32},
                      {"num_hidden_layers", 2},
                      {"num_attention_heads", 4},
                      {"intermediate_size", 37},
                      {"max_position_embeddings", 64}};
  return f;
}

}  // namespace pft::model
