#pragma once
// What every family's loader does with a Hugging Face checkpoint folder, whatever the
// architecture: map the checkpoint's tensor names onto the class being built (a bare base
// model's `embeddings.*` loaded into a task class nests under its base attribute, `bert.` or
// `roberta.`, and a task checkpoint loaded into a bare model drops it), check the class count
// of a classification head against the labels asked for, then load by name
// (io::load_into): what the class needs and the checkpoint lacks is an error, except the
// parts transformers initialises fresh when a checkpoint has no such head (initialised as
// transformers does, with a warning); tensors the class does not use are listed in a log
// line and ignored, as transformers does.
//
// A family's loader reads its config, calls read_class_state(), check_class_count() when it
// has labels, builds the model and hands it to finish_class_load().

#include <torch/torch.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "pft/io/checkpoint.h"

namespace pft::model {

/// How one transformers class is loaded.
struct HfClassSpec {
  std::string class_name;  // transformers' class, for messages ("RobertaForMaskedLM")
  /// The base model's attribute in the family's task classes ("bert", "roberta").
  std::string base_prefix;
  /// First name components of the base model's tensors ("embeddings", "encoder", "pooler").
  std::vector<std::string> base_parts;
  /// The class nests the base model under base_prefix (task classes); false for the bare
  /// base model.
  bool prefixed = true;
  /// Missing tensors under these name prefixes are initialised fresh instead of failing.
  std::vector<std::string> fresh_prefixes;
  /// The tensor whose first dimension is the class count ("classifier.weight"); empty for a
  /// class without labels.
  std::string label_tensor;
  /// Checkpoint names (after renaming) transformers never loads into this class: buffers
  /// some versions saved, a tied decoder. May be empty.
  std::function<bool(const std::string&)> never_loaded;
  /// Shown when tensors are missing and all of them start with head_prefix (a checkpoint
  /// without this class's head), else `hint`.
  std::string head_prefix;
  std::string head_hint;
  std::string hint;
};

/// A checkpoint's tensors under the names of the class being built.
struct ClassState {
  io::StateDict tensors;
  std::vector<std::string> ignored;  // checkpoint names transformers never loads
  std::chrono::steady_clock::time_point started;
};

/// Reads every weight file of `dir` (io::read_state_dict) and maps the names for `spec`;
/// legacy LayerNorm names (gamma/beta) are renamed as transformers does. A name present twice
/// after mapping is a pft::Error (Input) naming the folder.
ClassState read_class_state(const std::string& dir, const HfClassSpec& spec);

/// When `labels` are given and the checkpoint holds spec.label_tensor, its class count must
/// equal theirs: otherwise a pft::Error (Config) naming the folder, both counts and
/// `checkpoint_labels` (the config's id2label).
void check_class_count(const ClassState& state, const HfClassSpec& spec, const std::string& dir,
                       const std::vector<std::string>& checkpoint_labels,
                       const std::vector<std::string>& labels);

/// What loading found.
struct ClassLoadReport {
  io::LoadReport report;                 // names relative to the built model
  std::vector<std::string> initialized;  // parameters initialised fresh
  double seconds = 0.0;                  // wall time since read_class_state began
};

/// Loads `state` into `model` by name, initialises the allowed missing parameters fresh
/// (Linear weights ~ N(0, initializer_range), biases zero, with a warning), logs what was
/// unused, moves the model to `device` and puts it in eval mode. Missing tensors outside
/// spec.fresh_prefixes are a pft::Error (Input) naming the folder and the tensors.
ClassLoadReport finish_class_load(torch::nn::Module& model, const ClassState& state,
                                  const HfClassSpec& spec, const std::string& dir,
                                  double initializer_range, const torch::Device& device);

/// Logs "loaded CLASS from DIR (N layers, hidden H, A heads[, L labels]) in S s".
void log_class_loaded(const std::string& class_name, const std::string& dir,
                      std::int64_t layers, std::int64_t hidden, std::int64_t heads,
                      std::optional<std::int64_t> labels, double seconds);

/// "a, b, c" or "a, ..., (N more)" for messages.
std::string list_tensor_names(const std::vector<std::string>& names, std::size_t at_most = 8);

}  // namespace pft::model
