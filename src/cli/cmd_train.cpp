#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "pft/app/train.h"
#include "pft/task/preflight.h"
#include "pft/util/error.h"
#include "pft/util/log.h"

namespace pft::cli {

namespace {

struct TrainOptions {
  std::string output;
  std::string resume;
  bool overwrite = false;
  bool resume_anyway = false;
  bool dry_run = false;
};

int run_train(const Program& program, const TrainOptions& options) {
  if (options.overwrite && !options.resume.empty()) {
    throw Error(ErrorKind::Usage, "--overwrite starts a new run; it cannot go with --resume");
  }
  if (options.resume_anyway && options.resume.empty()) {
    throw Error(ErrorKind::Usage, "--resume-anyway goes with --resume RUN_DIR");
  }
  config::RunConfig config;
  if (options.resume.empty()) {
    config = load_config(program.common, config::Purpose::Train);
    if (!options.output.empty()) config.train.output_dir = options.output;
  } else {
    // A resumed run uses the config it started with; --set may not change it.
    if (!program.common.config.empty() || !program.common.sets.empty() || !options.output.empty()) {
      throw Error(ErrorKind::Usage,
                  "--resume continues a run with its own config.resolved.json; drop --config, "
                  "--set and --output");
    }
    config = app::resumed_config(options.resume);
  }
  if (options.dry_run) {
    task::preflight(config, config::Purpose::Train);
    std::cout << config::to_json(config).dump(2) << "\n";
    return 0;
  }
  app::TrainOptions train_options;
  train_options.mode = !options.resume.empty() ? train::RunStart::Resume
                       : options.overwrite     ? train::RunStart::Overwrite
                                               : train::RunStart::Fresh;
  train_options.resume_anyway = options.resume_anyway;
  train_options.device = program.common.device;
  const auto summary = app::train_run(config, train_options);
  const auto& run_dir = config.train.output_dir;
  log::info("done: {} steps in {:.1f} s; final loss {:.4f}", summary.steps, summary.seconds,
            summary.final_loss);
  for (const auto& [k, v] : summary.final_metrics) log::info("eval {}: {:.4f}", k, v);
  if (summary.best_step >= 0) {
    log::info("best {} {:.4f} at step {} (adapter in {}/best/adapter)", summary.metric_name,
              summary.best_metric, summary.best_step, run_dir);
  }
  log::info("adapter: {}; summary: {}/summary.json", summary.adapter_dir, run_dir);
  return 0;
}

}  // namespace

void setup_train(Program& program) {
  auto options = std::make_shared<TrainOptions>();
  auto* sub = program.app.add_subcommand("train",
                                         "Train a PEFT method (or full fine-tuning) "
                                         "from a JSON config");
  add_common_options(*sub, program.common);
  sub->add_option("--output", options->output,
                  "Run directory (overrides train.output_dir); must be empty or new");
  sub->add_option("--resume", options->resume, "Continue the run in RUN_DIR exactly");
  sub->add_flag("--overwrite", options->overwrite,
                "Replace the earlier run in the run directory (its files only) with a new one");
  sub->add_flag("--resume-anyway", options->resume_anyway,
                "With --resume: continue although the config, base model or data changed since "
                "the run started (each difference is logged)");
  sub->add_flag("--dry-run", options->dry_run,
                "Run every check that needs no model weights (config, data, template, labels), "
                "print the config resolved (defaults filled in) as JSON, exit 0");
  sub->callback([&program, options] {
    program.action = [&program, options]() -> int { return run_train(program, *options); };
  });
}

}  // namespace pft::cli
