#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include <algorithm>

#include "cli/commands.h"
#include "pft/app/evaluate.h"
#include "pft/util/error.h"
#include "pft/util/expect.h"
#include "pft/util/log.h"
#include "pft/util/runtime.h"

namespace pft::cli {

namespace {
struct EvalOptions {
  std::string model;
  AdapterOptions adapter;
  std::string data;
  std::string predictions;
  std::vector<std::string> expect;
  bool json = false;
};

int run_eval(const Program& program, EvalOptions& options) {
  // --model, --data and --predictions are config overrides, checked like any --set.
  CommonOptions common = program.common;
  if (!options.model.empty()) common.sets.push_back("model.path=" + options.model);
  if (!options.data.empty()) common.sets.push_back("data.eval=" + options.data);
  if (!options.predictions.empty())
    common.sets.push_back("eval.predictions=" + options.predictions);
  const auto config = load_config(common, config::Purpose::Eval);
  std::vector<Expectation> expectations;
  for (const auto& text : options.expect) expectations.push_back(parse_expectation(text));
  app::EvalOptions eval_options;
  eval_options.adapter = options.adapter.resolve();
  eval_options.device = common.device;
  const auto report = app::evaluate(config, eval_options);
  const auto& result = report.result;
  if (options.json) {
    nlohmann::ordered_json doc;
    doc["examples"] = result.examples;
    doc["seconds"] = report.seconds;
    doc["examples_per_second"] =
        static_cast<double>(result.examples) / std::max(report.seconds, 1e-9);
    doc["metrics"] = result.metrics;
    if (!config.eval.predictions.empty()) doc["predictions"] = config.eval.predictions;
    std::cout << doc.dump() << std::endl;
  } else {
    for (const auto& [name, value] : result.metrics)
      std::cout << fmt::format("{}: {:.4f}", name, value) << "\n";
    if (result.metrics.empty())
      std::cout << result.examples << " examples, no labels: no metrics\n";
  }
  log::info("evaluated {} examples in {:.2f} s", result.examples, report.seconds);
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
  add_adapter_options(*sub, options->adapter, "--adapter",
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
