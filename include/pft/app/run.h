#pragma once
// The one run builder (ARCHITECTURE.md: one path for every subcommand): `pft train`,
// `pft eval` and `pft generate` build the same objects from the same config — tokenizer,
// model (the family from the model registry, the head the task needs), PEFT method
// (attached, base frozen; from the config when training, from an adapter folder otherwise)
// and, except for generation, the task with its data. Only the loop differs.

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "pft/config/config.h"
#include "pft/model/family.h"
#include "pft/peft/method.h"
#include "pft/tokenizer/tokenizer.h"
#include "pft/train/trainer.h"

namespace pft::app {

struct Run {
  config::RunConfig config;
  torch::Device device = torch::kCPU;
  std::unique_ptr<tokenizer::Tokenizer> tokenizer;
  /// The family's model as loaded (its module is adapted.model).
  model::LoadedModel model;
  peft::AdaptedModel adapted;
  /// The task with its data; null for a generation run.
  std::unique_ptr<train::TrainableTask> task;
  std::vector<std::string> labels;
};

/// Builds a run. `training`: the training data is loaded and the method attached from the
/// config; otherwise, with `adapter_dir`, the method comes from the adapter's own
/// adapter_config.json and its weights are loaded. Seeds the global generator with
/// train.seed first, so that initialisation is reproducible.
Run build_run(const config::RunConfig& config, torch::Device device, bool training,
              const std::string& adapter_dir = {});

/// Builds a generation run: tokenizer and encoder-decoder model with the adapter in
/// `adapter_dir` (may be empty) attached and loaded; no task, no data.
Run build_generation_run(const config::RunConfig& config, torch::Device device,
                         const std::string& adapter_dir = {});

/// The model family of a config: model.type, or the checkpoint's model_type under `auto`
/// (errors name the file or key and list the families).
const model::FamilyDescriptor& family_of(const model::FamilyRegistry& registry,
                                         const config::RunConfig& config);

}  // namespace pft::app
