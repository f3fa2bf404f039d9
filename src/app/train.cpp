#include "pft/app/train.h"

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>

#include "pft/app/run.h"
#include "pft/peft/identity.h"
#include "pft/task/preflight.h"
#include "pft/train/distributed.h"
#include "pft/train/fingerprint.h"
#include "pft/util/error.h"
#include "pft/util/fs.h"
#include "pft/util/log.h"
#include "pft/util/runtime.h"

namespace pft::app {

namespace {
namespace fs = std::filesystem;

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

}  // namespace

config::RunConfig resumed_config(const std::string& run_dir) {
  const auto saved = (fs::path(run_dir) / "config.resolved.json").string();
  if (!fs::exists(saved)) {
    throw Error(ErrorKind::Usage,
                "--resume " + run_dir + ": not a run directory (no config.resolved.json)");
  }
  auto config = config::load(saved, {}, config::Purpose::Train);
  config.train.output_dir = run_dir;
  return config;
}

train::TrainSummary train_run(const config::RunConfig& config, const TrainOptions& options) {
  task::preflight(config, config::Purpose::Train);
  const std::string run_dir = config.train.output_dir;
  // Launched by torchrun: join the process group first; rank 0 alone writes files.
  std::unique_ptr<train::Distributed> distributed;
  auto device = resolve_device(options.device);
  const auto env = train::DistributedEnv::from_environment();
  const bool main_rank = !env || env->rank == 0;
  if (main_rank) train::check_run_dir(run_dir, options.mode);
  const auto fingerprint = train::run_fingerprint(config);
  if (options.mode == train::RunStart::Resume)
    check_fingerprint(run_dir, fingerprint, options.resume_anyway);
  if (env) {
    // One GPU per rank: --device cuda (or auto) means the local rank's GPU.
    if (device.is_cuda() && options.device.find(':') == std::string::npos) {
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
  auto run = build_run(config, device, /*training=*/true);
  train::Trainer trainer(*run.task, run.adapted, config.train, device, run_dir);
  trainer.set_distributed(distributed.get());
  trainer.set_adapter_identity(peft::adapter_identity(config.model.path, run.labels));
  std::optional<train::RunDirectory> owned;
  if (main_rank) {
    owned = train::RunDirectory::claim(run_dir, options.mode);
    log::add_file((fs::path(run_dir) / "train.log").string());
    if (options.mode != train::RunStart::Resume) {
      write_file_atomic((fs::path(run_dir) / "config.resolved.json").string(),
                        config::to_json(config).dump(2) + "\n");
      write_file_atomic((fs::path(run_dir) / train::kFingerprintFile).string(),
                        fingerprint.dump(2) + "\n");
    }
  }
  return trainer.run(options.mode == train::RunStart::Resume);
}

}  // namespace pft::app
