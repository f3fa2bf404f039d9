#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "cli/commands.h"
#include "pft/peft/identity.h"
#include "pft/task/preflight.h"
#include "pft/app/run.h"
#include "pft/train/precision.h"
#include "pft/util/error.h"
#include "pft/util/expect.h"
#include "pft/util/log.h"
#include "pft/util/runtime.h"

namespace pft::cli {

namespace {
struct EvalOptions {
  std::string model;
  std::string adapter;
  std::string data;
  std::string predictions;
  std::vector<std::string> expect;
  bool json = false;
};

// --predictions must not name a file the run reads (it would be overwritten).
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

int run_eval(const Program& program, const EvalOptions& options) {
  // --model, --data and --predictions are config overrides, checked like any --set.
  CommonOptions common = program.common;
  if (!options.model.empty()) common.sets.push_back("model.path=" + options.model);
  if (!options.data.empty()) common.sets.push_back("data.eval=" + options.data);
  if (!options.predictions.empty())
    common.sets.push_back("eval.predictions=" + options.predictions);
  const auto config = load_config(common, config::Purpose::Eval);
  std::vector<Expectation> expectations;
  for (const auto& text : options.expect) expectations.push_back(parse_expectation(text));
  task::preflight(config, config::Purpose::Eval);
  refuse_overwriting_inputs(config);
  const auto device = resolve_device(common.device);
  auto run = app::build_run(config, device, /*training=*/false, options.adapter);
  if (!options.adapter.empty())
    peft::check_adapter_identity(options.adapter, config.model.path, run.labels);
  run.adapted.model->eval();
  train::EvalResult result;
  const auto start = std::chrono::steady_clock::now();
  {
    torch::NoGradGuard no_grad;
    // bf16/fp16 named in train.precision serve evaluation too; `auto` speeds up training
    // only, so that `pft eval` gives fp32 numbers (comparable with an fp32 reference).
    const auto precision = config.train.precision == "auto"
                               ? train::Precision::FP32
                               : train::parse_precision(config.train.precision, device);
    train::AutocastGuard autocast(precision, device);
    result = run.task->evaluate(config.eval.predictions);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (result.examples == 0)
    throw Error(ErrorKind::Input, config.data.eval + ": no examples to evaluate");
  if (result.metrics.empty() && config.eval.predictions.empty()) {
    throw Error(ErrorKind::Input,
                config.data.eval +
                    ": no example has a label, so there is nothing to score; pass "
                    "--predictions FILE to write the predictions");
  }
  if (options.json) {
    nlohmann::ordered_json doc;
    doc["examples"] = result.examples;
    doc["seconds"] = seconds;
    doc["examples_per_second"] = static_cast<double>(result.examples) / std::max(seconds, 1e-9);
    doc["metrics"] = result.metrics;
    if (!config.eval.predictions.empty()) doc["predictions"] = config.eval.predictions;
    std::cout << doc.dump() << std::endl;
  } else {
    for (const auto& [name, value] : result.metrics)
      std::cout << fmt::format("{}: {:.4f}", name, value) << "\n";
    if (result.metrics.empty())
      std::cout << result.examples << " examples, no labels: no metrics\n";
  }
  log::info("evaluated {} examples in {:.2f} s", result.examples, seconds);
  check_expectations(expectations, result.metrics);
  return exit_codes::kOk;
}

}  // namespace

void setup_eval(Program& program) {
  auto options = std::make_shared<EvalOptions>();
  auto* sub = program.app.add_subcommand("eval", "Evaluate a model (and adapter) on labelled data");
  add_common_options(*sub, program.common);
  sub->add_option("--model", options->model,
                  "Hugging Face checkpoint folder (overrides model.path)");
  sub->add_option("--adapter", options->adapter,
                  "PEFT adapter folder to apply (pft's or Python PEFT's)");
  sub->add_option("--data", options->data, "Data file (overrides data.eval)");
  sub->add_option("--predictions", options->predictions,
                  "Write one JSON line per example here (overrides eval.predictions)");
  sub->add_option("--expect", options->expect,
                  "Fail with exit 3 unless the metric holds, e.g. \"accuracy>=0.85\" (repeatable)");
  sub->add_flag("--json", options->json, "Print the metrics as one JSON object on stdout");
  sub->callback([&program, options] {
    program.action = [&program, options]() -> int { return run_eval(program, *options); };
  });
}

}  // namespace pft::cli
