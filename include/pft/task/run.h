#pragma once
// Everything one run loads, built the same way for `pft train` and `pft eval` from the same
// config: tokenizer, model, PEFT method (attached, base frozen), and the task with its data.

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "pft/config/config.h"
#include "pft/peft/method.h"
#include "pft/tokenizer/tokenizer.h"
#include "pft/train/trainer.h"

namespace pft::task {

struct Run {
  config::RunConfig config;
  torch::Device device = torch::kCPU;
  std::unique_ptr<tokenizer::Tokenizer> tokenizer;
  peft::AdaptedModel adapted;
  std::unique_ptr<train::TrainableTask> task;
  std::vector<std::string> labels;
};

/// Builds a run. `training`: the training data is loaded and the method attached from the
/// config; otherwise, with `adapter_dir`, the method comes from the adapter's own
/// adapter_config.json and its weights are loaded. Seeds the global generator with
/// train.seed first, so that initialisation is reproducible.
Run build_run(const config::RunConfig& config, torch::Device device, bool training,
              const std::string& adapter_dir = {});

/// The method an adapter folder was saved with, built from its adapter_config.json (not yet
/// attached or loaded). An unknown peft_type is a pft::Error (Input).
std::unique_ptr<peft::PeftMethod> method_for_eval(const std::string& adapter_dir);

}  // namespace pft::task
