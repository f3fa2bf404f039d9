#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "pft/train/plot.h"

namespace pft::cli {

namespace {
struct PlotOptions {
  std::string run_dir;
  std::string output;
};
}  // namespace

void setup_plot(Program& program) {
  auto options = std::make_shared<PlotOptions>();
  auto* sub = program.app.add_subcommand(
      "plot",
      "Draw a run's training loss and evaluation metric against step (SVG) from its metrics.jsonl; "
      "works on a finished, running or interrupted run");
  add_common_options(*sub, program.common);
  sub->add_option("RUN_DIR", options->run_dir, "Run directory (holds metrics.jsonl)")->required();
  sub->add_option("--output,-o", options->output,
                  "SVG file to write (default: RUN_DIR/training.svg)");
  sub->callback([&program, options] {
    program.action = [options] {
      const auto out = train::plot_run(options->run_dir, options->output);
      std::cout << out << "\n";
      return 0;
    };
  });
}

}  // namespace pft::cli
