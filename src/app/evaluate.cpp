#include "pft/app/evaluate.h"

#include <torch/torch.h>

#include <chrono>
#include <filesystem>
#include <utility>

#include "pft/app/run.h"
#include "pft/peft/identity.h"
#include "pft/task/preflight.h"
#include "pft/train/precision.h"
#include "pft/util/error.h"
#include "pft/util/runtime.h"

namespace pft::app {

namespace {

// The predictions file must not be a file the run reads (it would be overwritten).
void refuse_overwriting_inputs(const config::RunConfig& c) {
  namespace fs = std::filesystem;
  const auto& out = c.eval.predictions;
  if (out.empty()) return;
  for (const auto& [key, path] :
       {std::pair<const char*, const std::string&>{"data.eval", c.data.eval},
        {"data.train", c.data.train},
        {"data.test", c.data.test},
        {"prompt.demos", c.prompt.demos}}) {
    std::error_code ec;
    const bool same =
        !path.empty() && (fs::equivalent(out, path, ec) ||
                          fs::weakly_canonical(out, ec) == fs::weakly_canonical(path, ec));
    if (same) {
      throw Error(ErrorKind::Usage,
                  "--predictions " + out + ": is " + key +
                      " itself; writing the predictions there would destroy the data");
    }
  }
}

}  // namespace

EvalReport evaluate(const config::RunConfig& config, const EvalOptions& options) {
  task::preflight(config, config::Purpose::Eval);
  refuse_overwriting_inputs(config);
  const auto device = resolve_device(options.device);
  auto run = build_run(config, device, /*training=*/false, options.adapter);
  if (!options.adapter.empty())
    peft::check_adapter_identity(options.adapter, config.model.path, run.labels);
  run.adapted.model->eval();
  EvalReport report;
  const auto start = std::chrono::steady_clock::now();
  {
    torch::NoGradGuard no_grad;
    // bf16/fp16 named in train.precision serve evaluation too; `auto` speeds up training
    // only, so that `pft eval` gives fp32 numbers (comparable with an fp32 reference).
    const auto precision = config.train.precision == "auto"
                               ? train::Precision::FP32
                               : train::parse_precision(config.train.precision, device);
    train::AutocastGuard autocast(precision, device);
    report.result = run.task->evaluate(config.eval.predictions);
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (report.result.examples == 0)
    throw Error(ErrorKind::Input, config.data.eval + ": no examples to evaluate");
  if (report.result.metrics.empty() && config.eval.predictions.empty()) {
    throw Error(ErrorKind::Input,
                config.data.eval +
                    ": no example has a label, so there is nothing to score; pass "
                    "--predictions FILE to write the predictions");
  }
  return report;
}

}  // namespace pft::app
