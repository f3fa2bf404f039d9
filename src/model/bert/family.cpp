#include "pft/model/bert/family.h"

#include "pft/model/bert/load_class.h"
#include "pft/model/bert/loader.h"
#include "pft/util/log.h"

namespace pft::model {

namespace {

constexpr const char* kClassifier = "classifier";

// Hugging Face PEFT's defaults for BERT (peft/utils/constants.py), and pft's placement of
// bottleneck adapters (regular expressions over module paths).
PeftTargets bert_peft_targets() {
  return {
      {"LORA", {"query", "value"}},
      {"IA3", {"key", "value", "output.dense"}},
      {"IA3.feedforward", {"output.dense"}},
      {"BOTTLENECK_ADAPTER.attention", {R"(.*layer\.\d+\.attention\.output\.dense)"}},
      {"BOTTLENECK_ADAPTER.feed_forward", {R"(.*layer\.\d+\.output\.dense)"}},
  };
}

template <class Load>
LoadedModel load_head(const LoadRequest& request, Head head, Load load) {
  BertLoadOptions options;
  options.device = request.device;
  options.labels = request.labels;
  BertLoadInfo info;
  auto model = load(request.path, options, &info);
  model->bert->encoder->gradient_checkpointing = request.gradient_checkpointing;
  log::info("model: {} ({} layers, hidden {}), loaded in {:.2f} s", request.path,
            info.config.num_hidden_layers, info.config.hidden_size, info.seconds);
  LoadedModel out;
  out.module = model.ptr();
  out.head = head;
  out.info = bert_model_info(info.config, request.path, head);
  if (head == Head::SequenceClassification || head == Head::TokenClassification) {
    out.labels = info.config.id2label;
  }
  return out;
}

}  // namespace

bool is_unloaded_embedding_buffer(const std::string& name) {
  const auto ends_with = [&](const std::string& suffix) {
    return name.size() >= suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return ends_with("embeddings.position_ids") || ends_with("embeddings.token_type_ids");
}

ModelInfo bert_model_info(const BertConfig& config, const std::string& path, Head head) {
  ModelInfo info;
  info.model_type = config.model_type;
  info.task_type = peft_task_type(head);
  info.base_model_name_or_path = path;
  info.hidden_size = config.hidden_size;
  info.num_layers = config.num_hidden_layers;
  info.num_heads = config.num_attention_heads;
  info.num_kv_heads = config.num_attention_heads;
  info.head_dim = config.head_dim();
  info.vocab_size = config.vocab_size;
  info.pad_token_id = config.pad_token_id.value_or(0);
  // A new classification head trains fully; the masked-LM head is pretrained.
  if (head == Head::SequenceClassification || head == Head::TokenClassification) {
    info.modules_to_save = {kClassifier};
  }
  info.word_embeddings = "bert.embeddings.word_embeddings.weight";
  info.peft_targets = bert_peft_targets();
  return info;
}

FamilyDescriptor bert_family() {
  FamilyDescriptor f;
  f.model_type = "bert";
  f.description = "BERT (encoder)";
  f.heads[Head::SequenceClassification] = [](const LoadRequest& r) {
    return load_head(r, Head::SequenceClassification, load_bert_for_sequence_classification);
  };
  f.heads[Head::TokenClassification] = [](const LoadRequest& r) {
    return load_head(r, Head::TokenClassification, load_bert_for_token_classification);
  };
  f.heads[Head::MaskedLM] = [](const LoadRequest& r) {
    return load_head(r, Head::MaskedLM, load_bert_for_masked_lm);
  };
  f.new_head_modules[Head::SequenceClassification] = {kClassifier};
  f.new_head_modules[Head::TokenClassification] = {kClassifier};
  f.peft_targets = bert_peft_targets();
  f.example_config = {
      {"model_type", "bert"},          {"vocab_size", 99},         {"hidden_size", 32},
      {"num_hidden_layers", 2},        {"num_attention_heads", 4}, {"intermediate_size", 37},
      {"max_position_embeddings", 64}, {"type_vocab_size", 2}};
  return f;
}

}  // namespace pft::model
