#pragma once
// SentencePiece with T5's conventions, through libsentencepiece: `</s>` closes every
// sequence, <pad> = 0, </s> = 1, <unk> = 2, and 100 sentinels <extra_id_N> whose ids come
// after the model's pieces in reverse order (<extra_id_0> is the last id), as transformers'
// sentencepiece-backed T5Tokenizer (legacy mode) assigns and recognises them.
//
// libsentencepiece normalizes the text. For unigram models the segmentation is then
// recomputed with the Viterbi search as the sentencepiece Python package (0.2) computes it
// (path scores summed in single precision): the C++ library that Debian ships (0.1.97)
// breaks ties between equally scored segmentations differently ("-" "---" against
// "---" "-"), which changed 9 of 224,677 lines of the shared data sets.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pft/tokenizer/tokenizer.h"

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace pft::tokenizer {

struct Piece;  // a token and its byte range (src/tokenizer/assemble.h)

/// The settings of tokenizer_config.json that T5Tokenizer uses.
struct SentencePieceOptions {
  /// extra_ids: the number of <extra_id_N> sentinels appended to the vocabulary.
  std::size_t extra_ids = 100;
  std::string eos_token = "</s>";
  std::string unk_token = "<unk>";
  std::string pad_token = "<pad>";
  /// model_max_length; 0 when unknown.
  std::size_t model_max_length = 0;

  /// Reads tokenizer_config.json; keys it lacks keep their defaults.
  static SentencePieceOptions from_config_file(const std::string& path);
};

class SentencePiece final : public Tokenizer {
 public:
  /// Loads a serialized SentencePiece model (spiece.model). Throws pft::Error (Input)
  /// naming the file when it is missing or not a SentencePiece model.
  explicit SentencePiece(const std::string& model_path, SentencePieceOptions options = {});
  ~SentencePiece() override;

  /// Loads `dir`/spiece.model and, when present, `dir`/tokenizer_config.json.
  static std::unique_ptr<SentencePiece> from_folder(const std::string& dir);

  Encoding encode(const std::string& text, const EncodeOptions& options = {}) const override;
  Encoding encode_pair(const std::string& first, const std::string& second,
                       const EncodeOptions& options = {}) const override;
  std::vector<std::int64_t> tokenize_ids(const std::string& text) const override;
  /// With skip_special_tokens, SentencePiece's own decoding of the remaining pieces. Without,
  /// special tokens are written as text between the decoded runs, as T5Tokenizer does.
  /// Ids outside the vocabulary (T5's embedding has 28 spare rows) are skipped.
  std::string decode(const std::vector<std::int64_t>& ids,
                     bool skip_special_tokens = true) const override;
  std::int64_t token_to_id(const std::string& token) const override;
  std::string id_to_token(std::int64_t id) const override;
  /// The model's pieces plus the sentinels (32,100 for T5).
  std::size_t vocab_size() const override { return piece_count_ + options_.extra_ids; }
  std::int64_t pad_id() const override { return pad_id_; }
  std::optional<std::int64_t> mask_id() const override { return std::nullopt; }
  std::optional<std::int64_t> eos_id() const override { return eos_id_; }
  std::size_t model_max_length() const override { return options_.model_max_length; }

  std::int64_t unk_id() const { return unk_id_; }
  /// Id of <extra_id_`index`>; throws pft::Error (Usage) past the last sentinel.
  std::int64_t sentinel_id(std::size_t index) const;
  const SentencePieceOptions& options() const { return options_; }

 private:
  struct Unigram;  // the pieces and scores the Viterbi search needs

  void tokenize_text(const std::string& text, std::vector<Piece>& out) const;
  void encode_segment(const std::string& text, std::size_t begin, std::size_t end,
                      std::vector<Piece>& out) const;
  bool is_special(std::int64_t id) const;

  std::unique_ptr<sentencepiece::SentencePieceProcessor> processor_;
  std::unique_ptr<Unigram> unigram_;  // null for BPE/char/word models and byte fallback
  SentencePieceOptions options_;
  std::size_t piece_count_ = 0;
  std::int64_t pad_id_ = 0, eos_id_ = 1, unk_id_ = 2;
};

/// What `pft tokenize --train-spm` asks of SentencePiece's trainer.
struct SentencePieceTrainOptions {
  std::string input;         // plain text, one sentence a line
  std::string model_prefix;  // writes <prefix>.model and <prefix>.vocab
  std::size_t vocab_size = 8000;
  std::string model_type = "unigram";  // unigram | bpe | char | word
  double character_coverage = 1.0;
  /// T5's layout: <pad> = 0, </s> = 1, <unk> = 2, no <s>.
  bool t5_special_ids = true;
};

/// Trains a model with libsentencepiece's trainer; throws pft::Error (Input) with the
/// trainer's message when it fails.
void train_sentencepiece(const SentencePieceTrainOptions& options);

}  // namespace pft::tokenizer
