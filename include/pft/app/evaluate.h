#pragma once
// `pft eval` as a library call: the data checks, the run builder (with the adapter when
// given) and the task's batched evaluation, timed.

#include <string>

#include "pft/config/config.h"
#include "pft/train/trainer.h"

namespace pft::app {

struct EvalOptions {
  /// A PEFT adapter folder (pft's or Python PEFT's); empty: the base model alone.
  std::string adapter;
  /// The --device value as given.
  std::string device = "auto";
};

struct EvalReport {
  train::EvalResult result;
  /// The evaluation loop's time (model loading and tokenization excluded).
  double seconds = 0;
};

/// Evaluates config.data.eval (metrics when its examples are labelled; predictions into
/// config.eval.predictions when set). Refuses data with no examples, unlabelled data without
/// a predictions file, a predictions file that is one of the run's inputs, and an adapter
/// trained on another label order.
EvalReport evaluate(const config::RunConfig& config, const EvalOptions& options);

}  // namespace pft::app
