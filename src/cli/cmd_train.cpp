#include <iostream>
#include <memory>

#include <algorithm>
#include <filesystem>
#include <optional>

#include "cli/commands.h"
#include "pft/peft/identity.h"
#include "pft/task/preflight.h"
#include "pft/app/run.h"
#include "pft/train/distributed.h"
#include "pft/train/fingerprint.h"
#include "pft/train/run_dir.h"
#include "pft/train/trainer.h"
#include "pft/util/error.h"
#include "pft/util/fs.h"
#include "pft/util/log.h"
#include "pft/util/runtime.h"

namespace pft::cli {

namespace {
namespace fs = std::filesystem;

struct TrainOptions {
  std::string output;
  std::string resume;
  bool overwrite = false;
  bool resume_anyway = false;
  bool dry_run = false;
};

config::RunConfig run_config(const Program& program, const TrainOptions& options) {
  if (options.resume.empty()) {
    auto config = load_config(program.common, config::Purpose::Train);
    if (!options.output.empty()) config.train.output_dir = options.output;
    return config;
  }
  // A resumed run uses the config it started with; --set may not change it.
  const auto saved = (fs::path(options.resume) / "config.resolved.json").string();
  if (!fs::exists(saved)) {
    throw Error(ErrorKind::Usage,
                "--resume " + options.resume + ": not a run directory (no config.resolved.json)");
  }
  if (!program.common.config.empty() || !program.common.sets.empty() || !options.output.empty()) {
    throw Error(ErrorKind::Usage,
                "--resume continues a run with its own config.resolved.json; drop --config, --set "
                "and --output");
  }
  auto config = config::load(saved, {}, config::Purpose::Train);
  config.train.output_dir = options.resume;
  return config;
}

// --resume: what determines the results must be what the run started with.
void check_fingerprint(const std::string& run_dir, const nlohmann::json& current, bool anyway) {
  const auto path = (fs::path(run_dir) / train::kFingerprintFile).string();
  if (!fs::exists(path)) {
    log::warn("{}: missing (a run started by an older pft); the run's inputs are not checked",
              path);
    return;
  }
  nlohmann::json recorded;
  try {
    recorded = nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::Input, path + ": malformed JSON: " + e.what());
  }
  const auto differences = train::fingerprint_differences(recorded, current);
  if (differences.empty()) return;
  if (anyway) {
    for (const auto& d : differences) log::warn("--resume-anyway: {}", d);
    return;
  }
  std::string message =
      "--resume " + run_dir + ": what determines the run's results changed since it started:";
  for (const auto& d : differences) message += "\n  " + d;
  throw Error(ErrorKind::Config, message,
              "--resume-anyway continues all the same (and logs each difference); or start a new "
              "run");
}

int run_train(const Program& program, const TrainOptions& options) {
  if (options.overwrite && !options.resume.empty()) {
    throw Error(ErrorKind::Usage, "--overwrite starts a new run; it cannot go with --resume");
  }
  if (options.resume_anyway && options.resume.empty()) {
    throw Error(ErrorKind::Usage, "--resume-anyway goes with --resume RUN_DIR");
  }
  const auto config = run_config(program, options);
  task::preflight(config, config::Purpose::Train);
  if (options.dry_run) {
    std::cout << config::to_json(config).dump(2) << "\n";
    return 0;
  }
  const std::string run_dir = config.train.output_dir;
  const auto mode = !options.resume.empty() ? train::RunStart::Resume
                    : options.overwrite     ? train::RunStart::Overwrite
                                            : train::RunStart::Fresh;
  // Launched by torchrun: join the process group first; rank 0 alone writes files.
  std::unique_ptr<train::Distributed> distributed;
  auto device = resolve_device(program.common.device);
  const auto env = train::DistributedEnv::from_environment();
  const bool main_rank = !env || env->rank == 0;
  if (main_rank) train::check_run_dir(run_dir, mode);
  const auto fingerprint = train::run_fingerprint(config);
  if (mode == train::RunStart::Resume)
    check_fingerprint(run_dir, fingerprint, options.resume_anyway);
  if (env) {
    // One GPU per rank: --device cuda (or auto) means the local rank's GPU.
    if (device.is_cuda() && program.common.device.find(':') == std::string::npos) {
      device = torch::Device(
          torch::kCUDA,
          static_cast<torch::DeviceIndex>(env->local_rank %
                                          std::max<std::size_t>(torch::cuda::device_count(), 1)));
    }
    distributed = std::make_unique<train::Distributed>(
        *env, config.train.distributed_backend,
        std::chrono::seconds(config.train.distributed_timeout), device);
  }
  // Everything is loaded and checked before the run directory is touched.
  auto run = app::build_run(config, device, /*training=*/true);
  train::Trainer trainer(*run.task, run.adapted, config.train, device, run_dir);
  trainer.set_distributed(distributed.get());
  trainer.set_adapter_identity(peft::adapter_identity(config.model.path, run.labels));
  std::optional<train::RunDirectory> owned;
  if (main_rank) {
    owned = train::RunDirectory::claim(run_dir, mode);
    log::add_file((fs::path(run_dir) / "train.log").string());
    if (mode != train::RunStart::Resume) {
      write_file_atomic((fs::path(run_dir) / "config.resolved.json").string(),
                        config::to_json(config).dump(2) + "\n");
      write_file_atomic((fs::path(run_dir) / train::kFingerprintFile).string(),
                        fingerprint.dump(2) + "\n");
    }
  }
  const auto summary = trainer.run(mode == train::RunStart::Resume);
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
