#include <filesystem>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "pft/train/plot.h"
#include "pft/util/error.h"
#include "pft/util/fs.h"

namespace fs = std::filesystem;

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
      const std::string metrics = (fs::path(options->run_dir) / "metrics.jsonl").string();
      if (!fs::exists(metrics)) {
        throw Error(ErrorKind::Input,
                    options->run_dir + ": not a run directory (no metrics.jsonl)");
      }
      const std::string out = options->output.empty()
                                  ? (fs::path(options->run_dir) / "training.svg").string()
                                  : options->output;
      write_file_atomic(out, train::plot_svg(metrics));
      std::cout << out << "\n";
      return 0;
    };
  });
}

}  // namespace pft::cli
