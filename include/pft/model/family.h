#pragma once
// A model family (BERT, T5, ...) is one folder under model/ (`model/bert/`, `model/t5/`)
// holding its config, modules, loader and a FamilyDescriptor, and one line in
// register_families() (model/registry.h). The descriptor answers everything the rest of pft
// asks of a family: which heads it has and how to load each, what PEFT methods need to know
// of a loaded model (ModelInfo), and the family's default PEFT targets, one table per method
// (as Hugging Face PEFT keeps them in one constants file). Outside model/, nothing compares
// model types: tasks ask for a head and an interface (model/interfaces.h), methods ask
// ModelInfo.

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace pft::model {

/// The heads a family may offer; each task asks for one.
enum class Head {
  SequenceClassification,  // SequenceClassifier
  TokenClassification,     // TokenClassifier
  MaskedLM,                // MaskedLM
  Seq2SeqLM,               // EncoderDecoderLM
};

/// "sequence_classification", "token_classification", "masked_lm", "seq2seq_lm".
std::string head_name(Head head);
/// PEFT's task_type of a model with this head: SEQ_CLS, TOKEN_CLS, FEATURE_EXTRACTION (a
/// pretrained masked-LM head, as PEFT saves it), SEQ_2_SEQ_LM.
std::string peft_task_type(Head head);
/// The head of a PEFT task_type, or nullptr when there is none.
const Head* head_of_task_type(const std::string& task_type);

/// Default target modules of PEFT methods, keyed by the method's peft_type, and for methods
/// with several target kinds by "PEFT_TYPE.kind" ("IA3.feedforward",
/// "BOTTLENECK_ADAPTER.attention"). Values are what the method matches: module-name
/// suffixes, or regular expressions where the method says so.
using PeftTargets = std::map<std::string, std::vector<std::string>>;

/// What PEFT methods and tasks need to know of a loaded model.
struct ModelInfo {
  std::string model_type;  // config.json's model_type
  std::string task_type;   // PEFT's, from the head
  std::string base_model_name_or_path;
  std::int64_t hidden_size = 0;
  std::int64_t num_layers = 0;          // per stack (the encoder's for encoder-decoders)
  std::int64_t num_decoder_layers = 0;  // encoder-decoders: decoder blocks
  std::int64_t num_heads = 0;
  std::int64_t num_kv_heads = 0;  // key/value heads (grouped-query attention); = num_heads
  std::int64_t head_dim = 0;
  std::int64_t vocab_size = 0;
  /// The id that pads input rows (config.json's pad_token_id; 0 when it has none). RoBERTa's
  /// positions count from it, so padded rows must carry it.
  std::int64_t pad_token_id = 0;
  /// Module paths that train fully and are saved with the adapter (a new head), relative to
  /// the model root, e.g. {"classifier"}.
  std::vector<std::string> modules_to_save;
  /// Path of the input word-embedding matrix (prompt tuning's TEXT/SAMPLE_VOCAB init, the
  /// template's soft tokens), e.g. "bert.embeddings.word_embeddings.weight".
  std::string word_embeddings;
  /// The family's default PEFT targets.
  PeftTargets peft_targets;
  /// Whether transformers' forward of the family takes cached keys/values, through which
  /// PEFT's prefix tuning works; false (DistilBERT) refuses prefix tuning.
  bool takes_key_value_prefixes = true;

  /// peft_targets[key], empty when the family has none for it.
  std::vector<std::string> default_targets(const std::string& key) const;
};

/// What to load.
struct LoadRequest {
  std::string path;  // Hugging Face checkpoint folder
  Head head = Head::SequenceClassification;
  torch::Device device = torch::kCPU;
  /// Class names of a classification head, in index order (empty: the checkpoint's id2label).
  std::vector<std::string> labels;
  /// Recompute layer activations in the backward pass (model/checkpointing.h).
  bool gradient_checkpointing = false;
};

/// A loaded model: the module tree (for PEFT surgery, parameters, state) and what it is.
struct LoadedModel {
  std::shared_ptr<torch::nn::Module> module;
  ModelInfo info;
  Head head = Head::SequenceClassification;
  /// Class names of a classification head as used (empty for other heads).
  std::vector<std::string> labels;

  /// The model as interface I (model/interfaces.h), or nullptr when it is not one.
  template <class I>
  I* as() const {
    return dynamic_cast<I*>(module.get());
  }
};

struct FamilyDescriptor {
  std::string model_type;   // config.json's model_type
  std::string description;  // for messages and docs, e.g. "BERT (encoder)"
  /// Heads, each with its loader. The loader reads the folder's config.json and weights,
  /// builds the model on the request's device in float32, in eval mode; errors name the
  /// folder and the tensors.
  std::map<Head, std::function<LoadedModel(const LoadRequest&)>> heads;
  /// Modules of a head that a checkpoint without it gets freshly initialised (a
  /// classifier); when a checkpoint has their weights, its id2label names the classes.
  std::map<Head, std::vector<std::string>> new_head_modules;
  /// PEFT's default targets for this family.
  PeftTargets peft_targets;
  /// A small config.json of the family (model_type included), from which tests and
  /// benchmarks have transformers write random checkpoints of every head.
  nlohmann::json example_config;

  bool has(Head head) const { return heads.count(head) != 0; }
  /// The names of the heads, for messages ("sequence_classification, masked_lm").
  std::string head_names() const;
};

/// Every family pft knows, by model_type.
class FamilyRegistry {
 public:
  void add(FamilyDescriptor family);
  /// The family of `model_type`, nullptr when none.
  const FamilyDescriptor* find(const std::string& model_type) const;
  /// The family of `model_type`; an unknown one is a pft::Error (Config) naming `source`
  /// and listing the families.
  const FamilyDescriptor& at(const std::string& model_type, const std::string& source) const;
  std::vector<std::string> model_types() const;
  const std::vector<FamilyDescriptor>& families() const { return families_; }

 private:
  std::vector<FamilyDescriptor> families_;
};

/// config.json's model_type of checkpoint folder `dir` (errors name the file).
std::string read_model_type(const std::string& dir);

/// Class names a checkpoint's trained `head` carries: config.json's id2label when the
/// checkpoint holds weights of the family's new_head_modules for it; empty otherwise.
std::vector<std::string> checkpoint_labels(const FamilyDescriptor& family, Head head,
                                           const std::string& dir);

}  // namespace pft::model
