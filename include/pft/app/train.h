#pragma once
// `pft train` as a library call: checks, run directory ownership, the fingerprint that
// --resume compares, distributed set-up under torchrun, the run builder and the trainer.

#include <string>

#include "pft/config/config.h"
#include "pft/train/run_dir.h"
#include "pft/train/trainer.h"

namespace pft::app {

struct TrainOptions {
  /// How the run directory is taken: a new run, an overwrite of an earlier one, or a resume.
  train::RunStart mode = train::RunStart::Fresh;
  /// With Resume: continue although the run's inputs changed (each difference is logged).
  bool resume_anyway = false;
  /// The --device value as given ("auto", "cpu", "cuda", "cuda:1"); under torchrun a device
  /// without an index means the local rank's GPU.
  std::string device = "auto";
};

/// The config a run in `run_dir` started with (its config.resolved.json), for --resume.
config::RunConfig resumed_config(const std::string& run_dir);

/// Trains the run `config` describes into config.train.output_dir. Every check that needs no
/// model weights runs first (task::preflight), then the model is built, and only then is the
/// run directory claimed and written.
train::TrainSummary train_run(const config::RunConfig& config, const TrainOptions& options);

}  // namespace pft::app
