#pragma once
// Exporting an adapter merged into its base model as a plain Hugging Face checkpoint folder
// (`pft export --merge`): load the base and the adapter, fold the method into the weights in
// fp32, check that the merged model computes what the unmerged one did, and write the folder
// atomically.

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <string>

namespace pft::app {

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
  std::string model_type;      // the checkpoint's model family
  std::string head;            // the head exported (model::head_name), from the adapter's task_type
  std::string peft_type;       // LORA, IA3, BITFIT, FULL
  double weight_change = 0.0;  // largest change the adapter made to any base weight
  double max_logit_diff = 0.0;  // merged vs unmerged, on the check inputs
  std::int64_t tensors = 0;     // tensors written
  std::string output_dir;       // the folder written (normalised: no trailing slash)
};

/// Does the export. Errors (pft::Error): a method that cannot be merged (bottleneck
/// adapters add layers), a merge that changes no weight, a check that fails, an output
/// folder that exists and is not empty, one that another export is writing (a lock file
/// beside it names the holder).
ExportResult export_merged(const ExportOptions& options);

}  // namespace pft::app
