#include <memory>

#include "cli/commands.h"

namespace pft::cli {

namespace {
struct GenerateOptions {
  std::string model;
  std::string adapter;
  std::string input;
  std::string output;
};
}  // namespace

void setup_generate(Program& program) {
  auto options = std::make_shared<GenerateOptions>();
  auto* sub = program.app.add_subcommand("generate", "Generate text with a T5 model");
  add_common_options(*sub, program.common);
  sub->add_option("--model", options->model, "Hugging Face checkpoint folder (overrides model.path)");
  sub->add_option("--adapter", options->adapter, "PEFT adapter folder to apply");
  sub->add_option("--input", options->input, "Prompts: a JSONL file, or - for standard input");
  sub->add_option("--output", options->output, "Where to write one JSON line per prompt");
  sub->callback([&program, options] {
    program.action = [&program, options]() -> int {
      load_config(program.common, config::Purpose::Any);
      not_available("pft generate");
    };
  });
}

}  // namespace pft::cli
