#include <memory>

#include "cli/commands.h"

namespace pft::cli {

namespace {
struct TokenizeOptions {
  std::string model;
  std::string text;
  std::string input;
  std::string field = "text";
  std::string output;
  bool json = false;
};
}  // namespace

void setup_tokenize(Program& program) {
  auto options = std::make_shared<TokenizeOptions>();
  auto* sub = program.app.add_subcommand("tokenize", "Tokenize text with a model's tokenizer");
  add_common_options(*sub, program.common);
  sub->add_option("--model", options->model, "Folder with vocab.txt or spiece.model");
  sub->add_option("--text", options->text, "Text to tokenize");
  sub->add_option("--input", options->input, "JSONL file to tokenize");
  sub->add_option("--field", options->field, "Field of --input holding the text (default: text)");
  sub->add_option("--output", options->output, "Where to write the tokenized JSONL");
  sub->add_flag("--json", options->json, "Print tokens and ids as JSON");
  sub->callback([&program] {
    program.action = []() -> int { not_available("pft tokenize"); };
  });
}

}  // namespace pft::cli
