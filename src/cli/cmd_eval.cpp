#include <filesystem>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "pft/io/checkpoint.h"
#include "pft/task/classification_eval.h"
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

// The architecture of the folder: model.type, or model_type from its config.json.
std::string model_type(const config::RunConfig& config) {
  if (config.model.type != "auto") return config.model.type;
  const auto doc = io::read_model_config(config.model.path);
  const auto it = doc.find("model_type");
  if (it == doc.end() || !it->is_string()) {
    throw Error(ErrorKind::Input,
                config.model.path + "/config.json: no \"model_type\" string to choose the "
                                    "architecture by",
                "set model.type to bert or t5");
  }
  return it->get<std::string>();
}

int run_eval(const Program& program, const EvalOptions& options) {
  // --model, --data and --predictions are config overrides, checked like any --set.
  CommonOptions common = program.common;
  if (!options.model.empty()) common.sets.push_back("model.path=" + options.model);
  if (!options.data.empty()) common.sets.push_back("data.eval=" + options.data);
  if (!options.predictions.empty()) common.sets.push_back("eval.predictions=" + options.predictions);
  const auto config = load_config(common, config::Purpose::Eval);

  if (!options.adapter.empty()) not_available("pft eval --adapter");
  std::vector<Expectation> expectations;
  for (const auto& text : options.expect) expectations.push_back(parse_expectation(text));

  if (config.task.type != "sequence_classification") {
    not_available("pft eval for task.type " + config.task.type);
  }
  if (config.data.eval.empty()) {
    throw Error(ErrorKind::Config,
                "data.eval: required by `pft eval` but missing (set it in the config, or pass "
                "--data FILE)");
  }
  const bool jsonl = config.data.format == "jsonl" ||
                     (config.data.format == "auto" &&
                      std::filesystem::path(config.data.eval).extension() == ".jsonl");
  if (!jsonl) {
    not_available("pft eval on " + config.data.format + " data (" + config.data.eval +
                  "); it reads JSONL");
  }
  const auto type = model_type(config);
  if (type != "bert") {
    not_available("pft eval of a '" + type + "' model for sequence classification");
  }

  task::ClassificationEvalOptions eval;
  eval.model_dir = config.model.path;
  eval.tokenizer_dir = config.tokenizer.path;
  eval.data_path = config.data.eval;
  eval.text_field = config.data.text_field;
  eval.text_pair_field = config.data.text_pair_field;
  eval.label_field = config.data.label_field;
  eval.max_length = static_cast<std::size_t>(config.tokenizer.max_length);
  eval.truncation = config.tokenizer.truncation;
  eval.batch_size = static_cast<std::size_t>(config.eval.batch_size);
  eval.max_examples = static_cast<std::size_t>(config.data.max_eval_examples);
  eval.labels = config.task.labels;
  eval.device = resolve_device(common.device);
  eval.predictions_path = config.eval.predictions;

  const auto result = task::evaluate_sequence_classification(eval);

  std::map<std::string, double> metrics;
  if (result.accuracy) metrics["accuracy"] = *result.accuracy;
  if (options.json) {
    nlohmann::ordered_json doc;
    doc["examples"] = result.examples;
    doc["labelled"] = result.labelled;
    if (result.accuracy) {
      doc["accuracy"] = *result.accuracy;
      doc["correct"] = result.correct;
    }
    doc["load_seconds"] = result.load_seconds;
    doc["eval_seconds"] = result.eval_seconds;
    if (!config.eval.predictions.empty()) doc["predictions"] = config.eval.predictions;
    std::cout << doc.dump() << std::endl;
  } else if (result.accuracy) {
    std::cout << fmt::format("accuracy: {:.4f} ({}/{})", *result.accuracy, result.correct,
                             result.labelled)
              << std::endl;
  } else {
    std::cout << fmt::format("{} examples, no labels: no accuracy", result.examples) << std::endl;
  }
  log::info("evaluated {} examples in {:.2f} s (model and tokenizer loaded in {:.2f} s)",
            result.examples, result.eval_seconds, result.load_seconds);
  check_expectations(expectations, metrics);
  return exit_codes::kOk;
}

}  // namespace

void setup_eval(Program& program) {
  auto options = std::make_shared<EvalOptions>();
  auto* sub = program.app.add_subcommand("eval", "Evaluate a model (and adapter) on labelled data");
  add_common_options(*sub, program.common);
  sub->add_option("--model", options->model, "Hugging Face checkpoint folder (overrides model.path)");
  sub->add_option("--adapter", options->adapter, "PEFT adapter folder to apply");
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
