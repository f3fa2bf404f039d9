#include <iostream>
#include <memory>

#include "pft/util/log.h"

#include "cli/commands.h"
#include "pft/app/export.h"
#include "pft/util/runtime.h"

namespace pft::cli {

namespace {
struct ExportCliOptions {
  AdapterOptions merge;
  std::string model;
  std::string output;
  std::string check;
};
}  // namespace

void setup_export(Program& program) {
  auto options = std::make_shared<ExportCliOptions>();
  auto* sub = program.app.add_subcommand(
      "export",
      "Merge an adapter (LoRA, IA3, BitFit, full) into its base model and write a Hugging Face "
      "checkpoint folder");
  add_common_options(*sub, program.common);
  add_adapter_options(*sub, options->merge, "--merge",
                      "Adapter folder to merge (adapter_config.json + weights)")
      ->required();
  sub->add_option("--model", options->model, "Base model: Hugging Face checkpoint folder")
      ->required();
  sub->add_option("--output", options->output,
                  "New checkpoint folder (must not exist, or be empty)")
      ->required();
  sub->add_option(
      "--check-file", options->check,
      "Also write the check inputs and the merged and unmerged logits to this JSON file");
  sub->callback([&program, options] {
    program.action = [&program, options]() -> int {
      app::ExportOptions o;
      o.adapter_dir = options->merge.resolve();
      o.model_dir = options->model;
      o.output_dir = options->output;
      o.check_file = options->check;
      o.device = resolve_device(program.common.device);
      const auto r = app::export_merged(o);
      std::cout << fmt::format("merged {} adapter into {} model: largest weight change {:.6g}\n",
                               r.peft_type, r.model_type, r.weight_change);
      std::cout << fmt::format("max |merged - unmerged| logits: {:.3g}\n", r.max_logit_diff);
      std::cout << fmt::format("wrote {} tensors to {}\n", r.tensors, r.output_dir);
      return 0;
    };
  });
}

}  // namespace pft::cli
