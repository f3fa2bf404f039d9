#pragma once
// What WordPiece and SentencePiece share after the model has produced its tokens:
// truncation of one or two sequences, special tokens around them, and padding, with the
// semantics of Hugging Face tokenizers' post-processing.

#include <cstdint>
#include <vector>

#include "pft/tokenizer/tokenizer.h"

namespace pft::tokenizer {

/// One model token and its [begin, end) byte range in the source text.
struct Piece {
  std::int64_t id = 0;
  std::size_t begin = 0;
  std::size_t end = 0;
  /// Index of the token's own text in the encoder's side table when it is not the
  /// vocabulary's spelling of `id` (an unknown Unigram piece, an added token matched with
  /// the whitespace it strips); -1 otherwise.
  std::int32_t text = -1;
};

/// Special tokens placed around the sequences: prefix A after_first [B after_second].
struct SpecialLayout {
  std::vector<std::int64_t> prefix;        // BERT: [CLS]; T5: none
  std::vector<std::int64_t> after_first;   // BERT: [SEP]; T5: </s>
  std::vector<std::int64_t> after_second;  // BERT: [SEP]; T5: </s>
  std::int64_t second_type_id = 0;         // token_type_id of B and its closing tokens
};

/// Checks the options (truncation name) and throws pft::Error (Usage) on a bad value.
void validate(const EncodeOptions& options);

/// Shortens `first` (and `second`) so that, with `added` special tokens, the total fits
/// options.max_length, following the chosen strategy exactly as Hugging Face tokenizers do.
void truncate(std::vector<Piece>& first, std::vector<Piece>* second, std::size_t added,
              const EncodeOptions& options);

/// Reserves room for `n` tokens in each of the Encoding's vectors.
void reserve(Encoding& e, std::size_t n);

/// Right-pads `e` with `pad_id` (spelled `pad_token`) up to `pad_to` tokens: type id 0,
/// attention mask 0, offsets (0, 0), sequence id -1. Never shortens.
void pad_right(Encoding& e, std::size_t pad_to, std::int64_t pad_id, const std::string& pad_token);

/// Builds the Encoding: truncation, special tokens (when options.add_special_tokens),
/// then right padding with `pad_id` up to options.pad_to.
Encoding assemble(std::vector<Piece> first, std::vector<Piece>* second, const SpecialLayout& layout,
                  const EncodeOptions& options, const Tokenizer& tokenizer);

}  // namespace pft::tokenizer
