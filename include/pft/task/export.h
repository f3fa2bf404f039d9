#pragma once
// Exporting an adapter merged into its base model as a plain Hugging Face checkpoint folder
// (`pft export --merge`): load the base and the adapter, fold the method into the weights in
// fp32, check that the merged model computes what the unmerged one did, and write the folder
// atomically.

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <string>

#include "pft/model/t5.h"
#include "pft/peft/method.h"
#include "pft/task/seq2seq_peft.h"

namespace pft::task {

struct ExportOptions {
  std::string adapter_dir;
  std::string model_dir;
  std::string output_dir;
  /// Optional JSON file receiving the check inputs and both sets of logits.
  std::string check_file;
  torch::Device device = torch::kCPU;
  /// Largest merged-vs-unmerged logit difference accepted.
  double tolerance = 1e-4;
};

struct ExportResult {
  std::string model_type;       // bert | t5
  std::string peft_type;        // LORA, IA3, BITFIT, FULL
  double weight_change = 0.0;   // largest change the adapter made to any base weight
  double max_logit_diff = 0.0;  // merged vs unmerged, on the check inputs
  std::int64_t tensors = 0;     // tensors written
};

/// Does the export. Errors (pft::Error): a method that cannot be merged (bottleneck
/// adapters add layers), a merge that changes no weight, a check that fails, an output
/// folder that exists and is not empty.
ExportResult export_merged(const ExportOptions& options);

}  // namespace pft::task
