#include <iostream>
#include <memory>

#include <algorithm>
#include <filesystem>

#include "cli/commands.h"
#include "pft/app/run.h"
#include "pft/train/distributed.h"
#include "pft/train/trainer.h"
#include "pft/util/error.h"
#include "pft/util/fs.h"
#include "pft/util/log.h"
#include "pft/util/runtime.h"

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
  auto* sub = program.app.add_subcommand("train",
                                         "Train a PEFT method (or full fine-tuning) "
                                         "from a JSON config");
  add_common_options(*sub, program.common);
  sub->add_option("--output", options->output, "Run directory (overrides train.output_dir)");
  sub->add_option("--resume", options->resume, "Continue the run in RUN_DIR exactly");
  sub->add_flag("--dry-run", options->dry_run,
                "Validate the config, print it resolved (defaults filled in) as JSON, exit 0");
  sub->callback([&program, options] {
    program.action = [&program, options]() -> int {
      namespace fs = std::filesystem;
      config::RunConfig config;
      if (!options->resume.empty()) {
        // A resumed run uses the config it started with; --set may not change it.
        const auto saved = (fs::path(options->resume) / "config.resolved.json").string();
        if (!fs::exists(saved)) {
          throw Error(ErrorKind::Usage, "--resume " + options->resume +
                                            ": not a run directory (no config.resolved.json)");
        }
        if (!program.common.config.empty() || !program.common.sets.empty()) {
          throw Error(ErrorKind::Usage,
                      "--resume continues a run with its own config.resolved.json; "
                      "drop --config and --set");
        }
        config = config::load(saved, {}, config::Purpose::Train);
        config.train.output_dir = options->resume;
      } else {
        config = load_config(program.common, config::Purpose::Train);
        if (!options->output.empty()) config.train.output_dir = options->output;
      }
      if (options->dry_run) {
        std::cout << config::to_json(config).dump(2) << "\n";
        return 0;
      }
      const std::string run_dir = config.train.output_dir;
      // Launched by torchrun: join the process group first; rank 0 alone writes files.
      std::unique_ptr<train::Distributed> distributed;
      auto device = resolve_device(program.common.device);
      if (const auto env = train::DistributedEnv::from_environment()) {
        // One GPU per rank: --device cuda (or auto) means the local rank's GPU.
        if (device.is_cuda() && program.common.device.find(':') == std::string::npos) {
          device = torch::Device(
              torch::kCUDA,
              static_cast<torch::DeviceIndex>(
                  env->local_rank % std::max<std::size_t>(torch::cuda::device_count(), 1)));
        }
        distributed = std::make_unique<train::Distributed>(
            *env, config.train.distributed_backend,
            std::chrono::seconds(config.train.distributed_timeout), device);
      }
      const bool main_rank = !distributed || distributed->is_main();
      fs::create_directories(run_dir);
      if (main_rank) log::add_file((fs::path(run_dir) / "train.log").string());
      if (main_rank && options->resume.empty()) {
        write_file_atomic((fs::path(run_dir) / "config.resolved.json").string(),
                          config::to_json(config).dump(2) + "\n");
      }
      auto run = app::build_run(config, device, /*training=*/true);
      train::Trainer trainer(*run.task, run.adapted, config.train, device, run_dir);
      trainer.set_distributed(distributed.get());
      const auto summary = trainer.run(!options->resume.empty());
      log::info("done: {} steps in {:.1f} s; final loss {:.4f}", summary.steps, summary.seconds,
                summary.final_loss);
      for (const auto& [k, v] : summary.final_metrics) log::info("eval {}: {:.4f}", k, v);
      if (summary.best_step >= 0) {
        log::info("best {} {:.4f} at step {} (adapter in {}/best/adapter)", summary.metric_name,
                  summary.best_metric, summary.best_step, run_dir);
      }
      log::info("adapter: {}; summary: {}/summary.json", summary.adapter_dir, run_dir);
      return 0;
    };
  });
}

}  // namespace pft::cli
