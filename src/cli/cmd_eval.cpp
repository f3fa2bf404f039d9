#include <memory>

#include "cli/commands.h"

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
}  // namespace

void setup_eval(Program& program) {
  auto options = std::make_shared<EvalOptions>();
  auto* sub = program.app.add_subcommand("eval", "Evaluate a model (and adapter) on labelled data");
  add_common_options(*sub, program.common);
  sub->add_option("--model", options->model, "Hugging Face checkpoint folder (overrides model.path)");
  sub->add_option("--adapter", options->adapter, "PEFT adapter folder to apply");
  sub->add_option("--data", options->data, "Data file (overrides data.eval)");
  sub->add_option("--predictions", options->predictions, "Write one JSON line per example here");
  sub->add_option("--expect", options->expect,
                  "Fail with exit 3 unless the metric holds, e.g. \"accuracy>=0.85\" (repeatable)");
  sub->add_flag("--json", options->json, "Print the metrics as one JSON object on stdout");
  sub->callback([&program, options] {
    program.action = [&program, options]() -> int {
      load_config(program.common, config::Purpose::Eval);
      not_available("pft eval");
    };
  });
}

}  // namespace pft::cli
