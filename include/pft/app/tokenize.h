#pragma once
// `pft tokenize` as a library call: one text or pair, a JSONL file (plain or rendered through
// the run config's prompt template), or training a SentencePiece model. The command line only
// binds options and prints the result.

#include <cstddef>
#include <optional>
#include <string>

#include "pft/config/config.h"
#include "pft/tokenizer/sentencepiece.h"
#include "pft/tokenizer/tokenizer.h"

namespace pft::app {

struct TokenizeRequest {
  /// Tokenizer folder; empty: the config's tokenizer.path, else its model.path.
  std::string model;
  /// The run config (--config with its --set overrides), when one was given. It supplies the
  /// tokenizer folder, tokenizer.max_length and tokenizer.truncation unless they are given
  /// here, and the prompt template for `prompt`.
  std::optional<config::RunConfig> config;

  /// One text (and a pair's second text) to encode; used when `input` is empty.
  std::optional<std::string> text;
  std::optional<std::string> pair;

  /// A JSONL file to tokenize into `output` (written atomically).
  std::string input;
  std::string output;
  std::string field = "text";
  std::string pair_field;
  /// Render every line through the config's prompt.template (demonstrations, prompt
  /// truncation to tokenizer.max_length) before tokenizing; {soft} slots' positions in
  /// input_ids go to soft_positions.
  bool prompt = false;

  /// Truncation and padding; unset: the config's (tokenizer.max_length, .truncation), else
  /// none and longest_first.
  std::optional<std::size_t> max_length;
  std::optional<std::string> truncation;
  std::size_t pad_to = 0;
  bool add_special_tokens = true;

  /// Train a SentencePiece model instead (spm.input set); nothing else is used then.
  tokenizer::SentencePieceTrainOptions spm;
};

struct TokenizeResult {
  enum class Mode { Text, File, Prompts, TrainSentencePiece };
  Mode mode = Mode::Text;
  /// Mode::Text: the encoding of `text` (and `pair`).
  tokenizer::Encoding encoding;
  /// Mode::File and Mode::Prompts: lines written, ids written, lines truncated (File only).
  std::size_t lines = 0;
  std::size_t tokens = 0;
  std::size_t truncated = 0;
  /// Mode::Prompts: rendering and tokenizing time (tokenizer loading excluded).
  double seconds = 0;
};

/// Does what the request asks. Throws pft::Error (Usage) for a request that names no
/// tokenizer, no text/input, an input without output, or `prompt` without a config; input
/// errors name the file and line, and leave no output file behind.
TokenizeResult tokenize(const TokenizeRequest& request);

}  // namespace pft::app
