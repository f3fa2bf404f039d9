#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "pft/io/checkpoint.h"

namespace pft::cli {

namespace {
struct InspectOptions {
  std::string path;
  bool json = false;
};
}  // namespace

void setup_inspect(Program& program) {
  auto options = std::make_shared<InspectOptions>();
  auto* sub = program.app.add_subcommand(
      "inspect", "List a checkpoint's tensors (name, dtype, shape) and its parameter count");
  add_common_options(*sub, program.common);
  sub->add_option("path", options->path,
                  "A model folder (model.safetensors, sharded index or pytorch_model.bin) or one "
                  "weight file")
      ->required();
  sub->add_flag("--json", options->json, "Print one JSON object instead of a table");
  sub->callback([&program, options] {
    program.action = [options] {
      const auto summary = io::summarize_checkpoint(options->path);
      if (options->json) {
        std::cout << io::to_json(summary).dump(2) << "\n";
      } else {
        std::cout << io::to_text(summary);
      }
      return 0;
    };
  });
}

}  // namespace pft::cli
