#pragma once
// Hugging Face checkpoint folders: config.json plus weights in model.safetensors, a sharded
// model.safetensors.index.json, or pytorch_model.bin. Weights are looked up by their
// Hugging Face state-dict names.

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

namespace pft::io {

/// All tensors of a checkpoint by name, plus the file each came from (for messages).
struct StateDict {
  std::map<std::string, torch::Tensor> tensors;
  std::map<std::string, std::string> source_file;
};

/// Reads DIR/config.json; errors name the file and the key.
nlohmann::json read_model_config(const std::string& dir);

/// Reads every weight file of the folder (safetensors preferred, then the sharded index,
/// then pytorch_model.bin).
StateDict read_state_dict(const std::string& dir);

/// What load_into found: tensors the model expects but the checkpoint lacks, and tensors
/// the checkpoint has that the model does not use (listed, not fatal, as transformers does).
struct LoadReport {
  std::vector<std::string> missing;
  std::vector<std::string> unexpected;
};

/// Copies tensors into `module`'s parameters and buffers by name. `prefixes` are tried in
/// order to strip a task-model prefix ("bert.", ...). Shape mismatches are errors naming the
/// tensor, expected and actual shape.
LoadReport load_into(torch::nn::Module& module, const StateDict& state,
                     const std::vector<std::string>& prefixes = {""});

}  // namespace pft::io
