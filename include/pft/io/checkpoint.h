#pragma once
// Hugging Face checkpoint folders: config.json plus weights in model.safetensors, a sharded
// model.safetensors.index.json, or pytorch_model.bin (also sharded through
// pytorch_model.bin.index.json). Weights are looked up by their Hugging Face state-dict
// names. See docs/checkpoints.md.

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

namespace pft::io {

/// All tensors of a checkpoint by name, plus the file each came from (for messages).
/// Tensors read from safetensors may view the mapped file (see safetensors.h); they keep
/// the mapping alive themselves.
struct StateDict {
  std::map<std::string, torch::Tensor> tensors;
  std::map<std::string, std::string> source_file;
};

/// Reads DIR/config.json; errors name the file and the line/column (bad JSON) or the key. DIR
/// may also name its config.json; any other file is "not a model folder".
nlohmann::json read_model_config(const std::string& dir);

/// The files of a model folder that decide what pft computes with it: config.json, the weight
/// files read_state_dict() reads (shards included) and the tokenizer files present (vocab.txt,
/// spiece.model, tokenizer.json, tokenizer_config.json, special_tokens_map.json); sorted.
/// pft::Error (Input) as read_state_dict() when the folder has no weights.
std::vector<std::string> model_files(const std::string& dir);

/// Reads every weight file of the folder: model.safetensors first, then
/// model.safetensors.index.json (shards), then pytorch_model.bin, then
/// pytorch_model.bin.index.json. `path` may also name one weight file (.safetensors, .bin,
/// or an index .json) directly. Throws pft::Error (Input) naming the file and tensor at fault.
StateDict read_state_dict(const std::string& path);

/// What load_into found: tensors the model expects but the checkpoint lacks, and tensors
/// the checkpoint has that the model does not use (listed, not fatal, as transformers does).
/// Names are the model's for `missing` and the checkpoint's for `unexpected`; both sorted.
struct LoadReport {
  std::vector<std::string> missing;
  std::vector<std::string> unexpected;
  std::size_t loaded = 0;  // parameters and buffers filled from the checkpoint
};

/// Copies tensors into `module`'s parameters and buffers by name (under NoGradGuard,
/// converting dtype and device to the module's). For a model name N, every prefix P of
/// `prefixes` is tried in order: the checkpoint key P+N (a task checkpoint such as
/// "bert.embeddings..." loaded into a base model), then, when N starts with P, N without P
/// (a base checkpoint loaded into a model that nests it under P). Legacy names are renamed
/// first as transformers does ("LayerNorm.gamma"/"LayerNorm.beta" -> "LayerNorm.weight"/
/// "LayerNorm.bias"). Every shape is checked before any weight is touched: a mismatch is a
/// pft::Error (Input) naming the tensor, its file, the expected and the found shape.
LoadReport load_into(torch::nn::Module& module, const StateDict& state,
                     const std::vector<std::string>& prefixes = {""});

/// One tensor as `pft inspect` lists it.
struct TensorSummary {
  std::string name;
  std::string dtype;  // safetensors spelling ("F32"), or LibTorch's name when it has none
  std::vector<int64_t> shape;
  int64_t numel = 0;
  std::string file;  // the weight file it came from
};

/// A checkpoint's tensors, sorted by name, with totals.
struct CheckpointSummary {
  std::string path;
  std::vector<TensorSummary> tensors;
  std::vector<std::string> files;                 // weight files read, sorted
  int64_t parameters = 0;                         // elements of floating-point tensors
  int64_t elements = 0;                           // elements of all tensors (integer buffers too)
  uint64_t bytes = 0;                             // tensor data bytes
  std::map<std::string, int64_t> dtype_elements;  // elements per dtype
  std::map<std::string, std::string> metadata;    // __metadata__ of a single safetensors file
};

/// Reads `path` (anything read_state_dict takes) and summarizes it.
CheckpointSummary summarize_checkpoint(const std::string& path);
/// Machine-readable form (`pft inspect --json`).
nlohmann::json to_json(const CheckpointSummary& summary);
/// A table of name, dtype, shape, then the totals.
std::string to_text(const CheckpointSummary& summary);

/// The checkpoint name after transformers' legacy renames (exposed for tests).
std::string normalize_checkpoint_name(const std::string& name);

}  // namespace pft::io
