#pragma once
// `pft generate`: prompts from JSONL -> tokenizer -> T5 -> generate() -> JSONL. The command
// line only binds options; everything it does is here (docs/generation.md).

#include <nlohmann/json.hpp>

#include <cstddef>
#include <istream>
#include <ostream>
#include <string>
#include <vector>

#include "pft/config/config.h"

namespace pft::generate {

struct RunOptions {
  /// Prompts: a JSONL file, or "-" for standard input.
  std::string input;
  /// Where the JSONL results go (written atomically); empty: standard output.
  std::string output;
  /// Field holding the prompt; empty: `source`, or `text` for records without `source`.
  std::string input_field;
  /// Field the generated text is written to (the record's other fields are kept).
  std::string output_field = "generated";
  /// cpu, cuda, cuda:N or auto.
  std::string device = "auto";
  /// Prompts per generate() call.
  std::int64_t batch_size = 32;
};

/// One prompt line.
struct Prompt {
  std::size_t line = 0;         // 1-based line in the input
  nlohmann::ordered_json record;
  std::string text;
};

/// Reads JSONL prompts from `in` (`name` stands for it in messages). Every line must be a
/// JSON object whose prompt field is a non-empty string; a blank line, malformed JSON, a
/// missing field or an empty prompt is a pft::Error (Input) naming name:line. No prompt at
/// all is an error too.
std::vector<Prompt> read_prompts(std::istream& in, const std::string& name,
                                 const std::string& input_field);

/// Loads the model and tokenizer `config` names (model.path, tokenizer.path), generates with
/// config.generate for every prompt and writes one JSON line per prompt, in input order.
/// Prompts longer than tokenizer.max_length tokens (EOS included) are truncated to it, each
/// with a warning naming its line and both lengths. With one prompt, no --output and a
/// terminal on standard output, greedy and sampled text is printed as it is generated
/// instead of as JSON.
void run(const config::RunConfig& config, const RunOptions& options);

}  // namespace pft::generate
