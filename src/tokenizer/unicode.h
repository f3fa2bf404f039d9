#pragma once
// The Unicode character data that text normalization needs: general-category classes,
// White_Space, canonical decomposition (NFD), full lower-case mappings, and UTF-8 coding.
// Tables are generated from Python's unicodedata by scripts/gen_unicode_tables.py.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pft::tokenizer::unicode {

/// The Unicode version the tables were generated from.
const char* version();
/// General categories, combining classes and decompositions are those of the characters
/// assigned by this (older) Unicode version, as in Hugging Face's tokenizers.
const char* category_version();

/// General category Cc, Cf, Cs or Co ("Other" without unassigned code points).
bool is_other(char32_t c);
/// General category P* (Pc, Pd, Pe, Pf, Pi, Po, Ps).
bool is_punctuation(char32_t c);
/// General category Mn.
bool is_mark_nonspacing(char32_t c);
/// The White_Space property.
bool is_white_space(char32_t c);
/// Canonical combining class (0 for starters).
int combining_class(char32_t c);

/// Appends the full canonical decomposition of `c` (Hangul included), without reordering.
void append_decomposition(char32_t c, std::u32string& out);
/// Sorts runs of non-starters by combining class, stably (the canonical ordering step of
/// NFD). `aligned` is permuted along with `text` (one entry per character).
void canonical_order(std::u32string& text, std::vector<std::uint32_t>& aligned);
/// Appends the full lower-case mapping of `c` (one to three characters).
void append_lowercase(char32_t c, std::u32string& out);

/// A code point of a UTF-8 text and its [begin, end) byte range.
struct DecodedChar {
  char32_t code = 0;
  std::uint32_t begin = 0;
  std::uint32_t end = 0;
};

/// Decodes UTF-8 strictly (no overlong forms, surrogates or values past U+10FFFF).
/// Throws pft::Error (Input) naming `what` and the byte offset of the first invalid byte.
void decode_utf8(std::string_view text, std::vector<DecodedChar>& out, const char* what = "text");
/// True when `text` is valid UTF-8.
bool is_valid_utf8(std::string_view text);
void append_utf8(char32_t c, std::string& out);
std::string to_utf8(std::u32string_view text);

}  // namespace pft::tokenizer::unicode
