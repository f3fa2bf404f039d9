#pragma once
// Loading a task class of a family built from BERT's blocks (RoBERTa, XLM-R, ELECTRA): the
// family gives its config defaults and how its class is named and loaded (HfClassSpec); this
// reads config.json over the defaults, applies the requested labels, builds the class, loads
// it (model/hf_loader.h) and describes it for PEFT (ModelInfo).

#include <string>

#include <fmt/format.h>

#include "pft/io/checkpoint.h"
#include "pft/model/bert/bert.h"
#include "pft/model/bert/config.h"
#include "pft/model/bert/family.h"
#include "pft/model/family.h"
#include "pft/model/hf_loader.h"
#include "pft/util/log.h"

namespace pft::model {

/// Loads `Holder` (a TORCH_MODULE of a task class) from request.path: `read_config(json,
/// source)` gives its BertConfig, `make_spec(config)` says how the class loads (whether the
/// decoder is tied, say), `set_checkpointing(model, on)` switches gradient checkpointing.
template <class Holder, class ReadConfig, class MakeSpec, class SetCheckpointing>
LoadedModel load_bert_class(const LoadRequest& request, ReadConfig&& read_config,
                            MakeSpec&& make_spec, Head head,
                            SetCheckpointing&& set_checkpointing) {
  BertConfig config =
      read_config(io::read_model_config(request.path), request.path + "/config.json");
  const HfClassSpec spec = make_spec(config);
  const bool has_labels =
      head == Head::SequenceClassification || head == Head::TokenClassification;
  const ClassState state = read_class_state(request.path, spec);
  if (has_labels && !request.labels.empty()) {
    check_class_count(state, spec, request.path, config.id2label, request.labels);
    config.set_labels(request.labels);
    config.validate();
  }
  Holder model(config);
  set_checkpointing(model, request.gradient_checkpointing);
  const auto loaded = finish_class_load(*model, state, spec, request.path,
                                        config.initializer_range, request.device);
  log_class_loaded(spec.class_name, request.path, config.num_hidden_layers, config.hidden_size,
                   config.num_attention_heads,
                   has_labels ? std::optional<std::int64_t>(config.num_labels()) : std::nullopt,
                   loaded.seconds);
  LoadedModel out;
  out.module = model.ptr();
  out.head = head;
  out.info = bert_model_info(config, request.path, head);
  out.info.word_embeddings = spec.base_prefix + ".embeddings.word_embeddings.weight";
  if (has_labels) out.labels = config.id2label;
  return out;
}

/// True for the buffers transformers never loads into an encoder of BERT's blocks
/// (`embeddings.position_ids`, `embeddings.token_type_ids`), which some versions saved.
bool is_unloaded_embedding_buffer(const std::string& name);

}  // namespace pft::model
