#pragma once
// The Tokenizer interface shared by WordPiece (BERT) and SentencePiece (T5). Templates and
// tasks talk to this interface only; they never see a tokenizer's internals.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace pft::tokenizer {

/// One encoded input, as Hugging Face's tokenizers return it.
struct Encoding {
  std::vector<std::int64_t> ids;
  std::vector<std::int64_t> type_ids;        // token_type_ids (0/1 for pairs)
  std::vector<std::int64_t> attention_mask;  // 1 for real tokens, 0 for padding
  std::vector<std::string> tokens;
  /// [begin, end) byte offsets into the source text; (0, 0) for special tokens.
  std::vector<std::pair<std::size_t, std::size_t>> offsets;
  std::vector<std::int64_t> sequence_ids;    // 0 first text, 1 second, -1 special/pad
};

struct EncodeOptions {
  bool add_special_tokens = true;
  std::size_t max_length = 0;                 // 0: no truncation
  std::string truncation = "longest_first";   // longest_first | only_first | only_second
  std::size_t pad_to = 0;                     // pad up to this length (0: no padding)
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  virtual Encoding encode(const std::string& text, const EncodeOptions& options = {}) const = 0;
  virtual Encoding encode_pair(const std::string& first, const std::string& second,
                               const EncodeOptions& options = {}) const = 0;
  /// Tokens without special tokens, truncation or padding (for templates and verbalizers).
  virtual std::vector<std::int64_t> tokenize_ids(const std::string& text) const = 0;
  virtual std::string decode(const std::vector<std::int64_t>& ids,
                             bool skip_special_tokens = true) const = 0;
  virtual std::int64_t token_to_id(const std::string& token) const = 0;  // -1 if unknown
  virtual std::string id_to_token(std::int64_t id) const = 0;
  virtual std::size_t vocab_size() const = 0;
  virtual std::int64_t pad_id() const = 0;
  virtual std::optional<std::int64_t> mask_id() const = 0;  // BERT's [MASK]
  virtual std::optional<std::int64_t> eos_id() const = 0;   // T5's </s>
};

/// Loads the tokenizer of a Hugging Face folder: vocab.txt -> WordPiece, spiece.model ->
/// SentencePiece (T5 conventions). Errors name the folder and the missing/corrupt file.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& dir);

}  // namespace pft::tokenizer
