#include <iostream>
#include <memory>

#include "cli/commands.h"

namespace pft::cli {

namespace {
struct TrainOptions {
  std::string output;
  std::string resume;
  bool dry_run = false;
};
}  // namespace

void setup_train(Program& program) {
  auto options = std::make_shared<TrainOptions>();
  auto* sub = program.app.add_subcommand("train", "Train a PEFT method (or full fine-tuning) "
                                                  "from a JSON config");
  add_common_options(*sub, program.common);
  sub->add_option("--output", options->output, "Run directory (overrides train.output_dir)");
  sub->add_option("--resume", options->resume, "Continue the run in RUN_DIR exactly");
  sub->add_flag("--dry-run", options->dry_run,
                "Validate the config, print it resolved (defaults filled in) as JSON, exit 0");
  sub->callback([&program, options] {
    program.action = [&program, options] {
      auto config = load_config(program.common, config::Purpose::Train);
      if (!options->output.empty()) config.train.output_dir = options->output;
      if (options->dry_run) {
        std::cout << config::to_json(config).dump(2) << "\n";
        return 0;
      }
      not_available("pft train (training)");
    };
  });
}

}  // namespace pft::cli
