#pragma once
// `pft generate`: prompts from JSONL -> tokenizer -> encoder-decoder model with its PEFT
// adapter (the one run builder, app/run.h) -> generate() -> JSONL. The command line only
// binds options; everything it does is here (docs/generation.md).

#include <nlohmann/json.hpp>

#include <cstddef>
#include <istream>
#include <ostream>
#include <string>
#include <vector>

#include "pft/config/config.h"

namespace pft::app {

struct GenerateOptions {
  /// Prompts: a JSONL file, or "-" for standard input.
  std::string input;
  /// Where the JSONL results go (written atomically); empty: standard output.
  std::string output;
  /// Field holding the prompt; empty: `source`, or `text` for records without `source`.
  std::string input_field;
  /// Field the generated text is written to (the record's other fields are kept).
  std::string output_field = "generated";
  /// Also write the generated token ids (without the decoder start token, ending with EOS when
  /// one was generated) to the field `<output_field>_ids`.
  bool with_ids = false;
  /// cpu, cuda, cuda:N or auto.
  std::string device = "auto";
  /// Prompts per generate() call.
  std::int64_t batch_size = 32;
  /// A PEFT adapter folder (pft's or Python PEFT's) to apply; empty: the base model.
  std::string adapter;
};

/// One prompt line.
struct Prompt {
  std::size_t line = 0;  // 1-based line in the input
  nlohmann::ordered_json record;
  std::string text;
};

/// Reads JSONL prompts from `in` (`name` stands for it in messages). Every line must be a
/// JSON object whose prompt field is a non-empty string; a blank line, malformed JSON, a
/// missing field or an empty prompt is a pft::Error (Input) naming name:line. No prompt at
/// all is an error too.
std::vector<Prompt> read_prompts(std::istream& in, const std::string& name,
                                 const std::string& input_field);

/// Loads the model and tokenizer `config` names (model.path, tokenizer.path) with the
/// adapter, if any, through the run builder (app/run.h), generates with
/// config.generate for every prompt and writes one JSON line per prompt, in input order.
/// Prompts longer than tokenizer.max_length tokens (EOS included) are truncated to it, each
/// with a warning naming its line and both lengths. With one prompt, no --output and a
/// terminal on standard output, greedy and sampled text is printed as it is generated
/// instead of as JSON.
void generate_run(const config::RunConfig& config, const GenerateOptions& options);

}  // namespace pft::app
