#include <iostream>
#include <memory>

#include "pft/util/log.h"

#include <filesystem>

#include "cli/commands.h"
#include "pft/app/export.h"
#include "pft/util/error.h"
#include "pft/util/file_lock.h"
#include "pft/util/runtime.h"

namespace pft::cli {

namespace {
struct ExportCliOptions {
  std::string merge;
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
  sub->add_option("--merge", options->merge,
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
      namespace fs = std::filesystem;
      app::ExportOptions o;
      o.adapter_dir = options->merge;
      o.model_dir = options->model;
      // "OUT/" names the folder OUT: the lock and the temporary folder are its siblings.
      o.output_dir = fs::path(options->output).lexically_normal().string();
      while (o.output_dir.size() > 1 && o.output_dir.back() == '/') o.output_dir.pop_back();
      const fs::path out(o.output_dir);
      if (out.filename().empty() || out.filename() == "." || out.filename() == "..") {
        throw Error(ErrorKind::Usage, "--output " + options->output + ": name the new folder");
      }
      // One export at a time into one folder: the lock beside it goes when the export ends.
      if (out.has_parent_path()) fs::create_directories(out.parent_path());
      const auto lock = FileLock::acquire(
          (out.parent_path() / ("." + out.filename().string() + ".lock")).string(),
          "--output " + o.output_dir, /*remove_on_release=*/true);
      o.check_file = options->check;
      o.device = resolve_device(program.common.device);
      const auto r = app::export_merged(o);
      std::cout << fmt::format("merged {} adapter into {} model: largest weight change {:.6g}\n",
                               r.peft_type, r.model_type, r.weight_change);
      std::cout << fmt::format("max |merged - unmerged| logits: {:.3g}\n", r.max_logit_diff);
      std::cout << fmt::format("wrote {} tensors to {}\n", r.tensors, o.output_dir);
      return 0;
    };
  });
}

}  // namespace pft::cli
