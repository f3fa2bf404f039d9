#pragma once
// Hugging Face tokenizers' `tokenizer.json`: the whole pipeline (added tokens, normalizer,
// pre-tokenizer, model, post-processor, decoder) read into a pft Tokenizer. What is supported
// and how it compares with the `tokenizers` library: docs/tokenizers.md.

#include <memory>
#include <string>

#include "pft/tokenizer/tokenizer.h"

namespace pft::tokenizer {

/// Reads DIR/tokenizer.json and, when present, DIR/tokenizer_config.json. Anything malformed
/// or unsupported throws pft::Error (Input) naming the file and the JSON path.
std::unique_ptr<Tokenizer> load_tokenizer_json(const std::string& dir);

/// The same from texts: `json` is tokenizer.json's text, `config` tokenizer_config.json's
/// (empty: none); `source` names the file in errors.
std::unique_ptr<Tokenizer> parse_tokenizer_json(const std::string& json, const std::string& config,
                                                const std::string& source);

}  // namespace pft::tokenizer
