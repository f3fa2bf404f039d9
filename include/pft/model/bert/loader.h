#pragma once
// Building BERT models from Hugging Face checkpoint folders.
//
// Checkpoints of transformers' BertModel name tensors without a prefix
// (`embeddings.word_embeddings.weight`), those of its task classes with `bert.` and their
// head (`cls.predictions.*`, `classifier.*`). Every loader accepts both layouts: names are
// mapped onto the model being built, and then loading is a name lookup
// (io::load_into). What the model needs and the checkpoint lacks is an error, except for
// the parts transformers initialises fresh when a checkpoint has no task head
// (`classifier.*`, and the pooler of the sequence-classification model): those are
// initialised as transformers does and a warning says so. Tensors the model does not use
// (another class's head, a pooler the model has none of) are listed in a log line and
// ignored; so are the tensors transformers itself never loads (`embeddings.position_ids`,
// the tied `cls.predictions.decoder.*`).

#include <torch/torch.h>

#include <string>
#include <vector>

#include "pft/io/checkpoint.h"
#include "pft/model/bert/bert.h"
#include "pft/model/bert/config.h"

namespace pft::model {

/// Reads DIR/config.json into a BertConfig (errors name the file and the key).
BertConfig read_bert_config(const std::string& dir);

struct BertLoadOptions {
  /// Class names of a classification head, in index order. Empty: the checkpoint's
  /// id2label. When the checkpoint has a classifier, its class count must match.
  std::vector<std::string> labels;
  /// Where the model is moved after loading.
  torch::Device device = torch::kCPU;
};

/// What loading found, beyond the model itself.
struct BertLoadInfo {
  BertConfig config;      // as used (labels included)
  io::LoadReport report;  // names relative to the built model
  std::vector<std::string>
      initialized;       // parameters initialised fresh (absent from the checkpoint)
  double seconds = 0.0;  // wall time: config + weights + model build
};

/// Each loader reads DIR/config.json and the folder's weights, builds the model, loads it,
/// moves it to `options.device` and returns it in eval mode. Errors (pft::Error, Input or
/// Config) name the folder and the tensors at fault. `info`, when given, receives details.
BertModel load_bert_model(const std::string& dir, const BertLoadOptions& options = {},
                          BertLoadInfo* info = nullptr);
BertForMaskedLM load_bert_for_masked_lm(const std::string& dir, const BertLoadOptions& options = {},
                                        BertLoadInfo* info = nullptr);
BertForSequenceClassification load_bert_for_sequence_classification(
    const std::string& dir, const BertLoadOptions& options = {}, BertLoadInfo* info = nullptr);
BertForTokenClassification load_bert_for_token_classification(const std::string& dir,
                                                              const BertLoadOptions& options = {},
                                                              BertLoadInfo* info = nullptr);

}  // namespace pft::model
