#pragma once
// WordPiece, the BERT tokenizer, equal to Hugging Face's BertTokenizerFast: BERT's text
// normalization (clean-up, CJK splitting, accent stripping, lower-casing), splitting on
// white space and punctuation, then greedy longest-match-first WordPiece with "##".

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "pft/tokenizer/tokenizer.h"

namespace pft::tokenizer {

struct Piece;  // a token and its byte range (src/tokenizer/assemble.h)

/// The settings of tokenizer_config.json that BertTokenizerFast uses.
struct WordPieceOptions {
  /// do_lower_case: lower-case the text (full Unicode lower-case mapping).
  bool lowercase = true;
  /// strip_accents: NFD, then drop non-spacing marks. Unset (null): same as `lowercase`.
  std::optional<bool> strip_accents;
  /// tokenize_chinese_chars: put spaces around CJK ideographs so that each is a word.
  bool tokenize_chinese_chars = true;
  /// Words longer than this (in characters) become the unknown token.
  std::size_t max_input_chars_per_word = 100;
  std::string unk_token = "[UNK]";
  std::string cls_token = "[CLS]";
  std::string sep_token = "[SEP]";
  std::string pad_token = "[PAD]";
  std::string mask_token = "[MASK]";
  /// model_max_length; 0 when unknown.
  std::size_t model_max_length = 0;

  /// Reads tokenizer_config.json; keys it lacks keep their defaults. Throws pft::Error
  /// (Input) naming the file on malformed JSON or a value of the wrong type.
  static WordPieceOptions from_config_file(const std::string& path);
};

class WordPiece final : public Tokenizer {
 public:
  /// `vocab[i]` is the token of id i. Throws pft::Error (Input) when a special token of
  /// `options` (the mask token excepted) is not in the vocabulary.
  WordPiece(std::vector<std::string> vocab, WordPieceOptions options = {});

  /// Loads `dir`/vocab.txt and, when present, `dir`/tokenizer_config.json.
  static std::unique_ptr<WordPiece> from_folder(const std::string& dir);

  Encoding encode(const std::string& text, const EncodeOptions& options = {}) const override;
  Encoding encode_pair(const std::string& first, const std::string& second,
                       const EncodeOptions& options = {}) const override;
  std::vector<std::int64_t> tokenize_ids(const std::string& text) const override;
  /// Joins "##" pieces to the previous token, puts a space before every other token and
  /// removes the space before . ? ! , (Hugging Face's WordPiece decoder with cleanup).
  /// Ids outside the vocabulary are skipped, as Hugging Face does.
  std::string decode(const std::vector<std::int64_t>& ids,
                     bool skip_special_tokens = true) const override;
  std::int64_t token_to_id(const std::string& token) const override;
  std::string id_to_token(std::int64_t id) const override;
  std::size_t vocab_size() const override { return vocab_.size(); }
  std::int64_t pad_id() const override { return pad_id_; }
  std::optional<std::int64_t> mask_id() const override { return mask_id_; }
  std::optional<std::int64_t> eos_id() const override { return std::nullopt; }
  std::size_t model_max_length() const override { return options_.model_max_length; }

  std::int64_t cls_id() const { return cls_id_; }
  std::int64_t sep_id() const { return sep_id_; }
  std::int64_t unk_id() const { return unk_id_; }
  const WordPieceOptions& options() const { return options_; }

  /// The text after BERT's normalization (what Hugging Face's BertNormalizer returns).
  std::string normalize(const std::string& text) const;

  /// A word as BERT's pre-tokenizer sees it: normalized text, source byte range.
  struct Word {
    std::string text;
    std::size_t begin = 0;
    std::size_t end = 0;
  };
  /// Normalization, then splitting on white space and around punctuation (Hugging Face's
  /// BertNormalizer + BertPreTokenizer); special tokens in the text are not recognised.
  std::vector<Word> pre_tokenize(const std::string& text) const;

 private:
  // Tokens of `text` without special tokens around them, offsets into `text`.
  void tokenize_text(const std::string& text, std::vector<Piece>& out) const;

  std::vector<std::string> vocab_;
  std::unordered_map<std::string, std::int64_t> ids_;
  WordPieceOptions options_;
  bool strip_accents_ = true;
  std::size_t longest_token_bytes_ = 0;  // bounds the longest-match search
  std::int64_t unk_id_ = 0, cls_id_ = 0, sep_id_ = 0, pad_id_ = 0;
  std::optional<std::int64_t> mask_id_;
  std::vector<std::pair<std::string, std::int64_t>> special_tokens_;  // recognised in text
};

}  // namespace pft::tokenizer
