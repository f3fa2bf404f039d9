#include "pft/model/roberta/family.h"

#include "pft/model/bert/family.h"
#include "pft/model/bert/load_class.h"
#include "pft/model/roberta/roberta.h"

namespace pft::model {

namespace {

constexpr const char* kClassifier = "classifier";

// How transformers loads a RoBERTa class: names under `roberta.`, the tied decoder never.
HfClassSpec spec_of(bool xlm, Head head, const std::string& class_name, bool tied) {
  HfClassSpec spec;
  spec.class_name = class_name;
  spec.base_prefix = "roberta";
  spec.base_parts = {"embeddings", "encoder", "pooler"};
  if (head != Head::MaskedLM) spec.fresh_prefixes = {"classifier."};
  if (head == Head::SequenceClassification) spec.label_tensor = "classifier.out_proj.weight";
  if (head == Head::TokenClassification) spec.label_tensor = "classifier.weight";
  spec.never_loaded = [tied](const std::string& name) {
    return is_unloaded_embedding_buffer(name) ||
           (tied && (name == "lm_head.decoder.weight" || name == "lm_head.decoder.bias"));
  };
  spec.head_prefix = "lm_head.";
  spec.head_hint = "this checkpoint has no masked-LM head (lm_head.*); use one saved from " +
                   std::string(xlm ? "XLMRobertaForMaskedLM" : "RobertaForMaskedLM");
  spec.hint = std::string("is this a ") + (xlm ? "xlm-roberta" : "roberta") +
              " checkpoint, and does its config.json describe it?";
  return spec;
}

template <class Holder>
LoadedModel load_class(const LoadRequest& request, bool xlm, Head head,
                       const std::string& class_name) {
  return load_bert_class<Holder>(
      request,
      [&](const nlohmann::json& doc, const std::string& source) {
        return BertConfig::from_json(doc, source, roberta_config_defaults(xlm));
      },
      [&](const BertConfig& config) {
        return spec_of(xlm, head, class_name, config.tie_word_embeddings);
      },
      head, [](Holder& model, bool on) { model->roberta->encoder->gradient_checkpointing = on; });
}

FamilyDescriptor family(bool xlm) {
  const std::string prefix = xlm ? "XLMRoberta" : "Roberta";
  FamilyDescriptor f;
  f.model_type = xlm ? "xlm-roberta" : "roberta";
  f.description = xlm ? "XLM-RoBERTa (encoder)" : "RoBERTa (encoder)";
  f.heads[Head::SequenceClassification] = [xlm, prefix](const LoadRequest& r) {
    return load_class<RobertaForSequenceClassification>(
        r, xlm, Head::SequenceClassification,
        prefix + "ForSequenceClassification");
  };
  f.heads[Head::TokenClassification] = [xlm, prefix](const LoadRequest& r) {
    return load_class<RobertaForTokenClassification>(
        r, xlm, Head::TokenClassification, prefix + "ForTokenClassification");
  };
  f.heads[Head::MaskedLM] = [xlm, prefix](const LoadRequest& r) {
    return load_class<RobertaForMaskedLM>(r, xlm, Head::MaskedLM, prefix + "ForMaskedLM");
  };
  f.new_head_modules[Head::SequenceClassification] = {kClassifier};
  f.new_head_modules[Head::TokenClassification] = {kClassifier};
  // PEFT's defaults for roberta are BERT's (the module names are the same); for xlm-roberta
  // PEFT has LoRA's and no IA3 default, and pft uses roberta's.
  f.peft_targets = bert_family().peft_targets;
  f.example_config = {{"model_type", f.model_type},
                      {"vocab_size", 99},
                      {"hidden_size", 32},
                      {"num_hidden_layers", 2},
                      {"num_attention_heads", 4},
                      {"intermediate_size", 37},
                      {"max_position_embeddings", 66},
                      {"type_vocab_size", 1},
                      {"pad_token_id", 1}};
  return f;
}

}  // namespace

FamilyDescriptor roberta_family() { return family(/*xlm=*/false); }
FamilyDescriptor xlm_roberta_family() { return family(/*xlm=*/true); }

}  // namespace pft::model
