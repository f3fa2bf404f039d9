#pragma once
// Tokenizing a JSONL file in one go (what `pft tokenize --input` does): every line keeps
// its fields and gains the token ids of one of them.

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>

#include "pft/tokenizer/tokenizer.h"

namespace pft::tokenizer {

struct TokenizeFileOptions {
  std::string input;   // JSONL, one object a line
  std::string output;  // JSONL, written atomically
  /// Field holding the text.
  std::string field = "text";
  /// Field holding the second text of a pair; empty: single texts.
  std::string pair_field;
  /// Truncation, padding and special tokens for every line.
  EncodeOptions encode;
};

struct TokenizeFileStats {
  std::size_t lines = 0;      // objects tokenized (blank lines are skipped)
  std::size_t tokens = 0;     // ids written, special tokens and padding included
  std::size_t truncated = 0;  // lines shortened by encode.max_length
};

/// Writes `output`: each input object with "input_ids" added ("token_type_ids" too for
/// pairs), in input order. Throws pft::Error (Input) naming the file and line of a line that
/// is not a JSON object, lacks the field, holds a non-string or invalid UTF-8; nothing is
/// written then.
TokenizeFileStats tokenize_jsonl(const Tokenizer& tokenizer, const TokenizeFileOptions& options);

/// An Encoding as JSON: ids, tokens, type_ids, attention_mask, offsets ([begin, end] byte
/// pairs) and sequence_ids.
nlohmann::json to_json(const Encoding& encoding);

}  // namespace pft::tokenizer
