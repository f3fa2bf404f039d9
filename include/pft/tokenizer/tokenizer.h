#pragma once
// The Tokenizer interface shared by tokenizer.json pipelines, WordPiece (BERT) and
// SentencePiece (T5). Templates and
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
  /// [begin, end) byte offsets into the source text (into `second` for tokens of the second
  /// text of a pair); (0, 0) for added special tokens and padding. Hugging Face counts
  /// characters instead of bytes; the two agree on ASCII text.
  std::vector<std::pair<std::size_t, std::size_t>> offsets;
  std::vector<std::int64_t> sequence_ids;  // 0 first text, 1 second, -1 special/pad
};

struct EncodeOptions {
  /// BERT: [CLS] A [SEP] (B [SEP]); T5: A </s> (B </s>).
  bool add_special_tokens = true;
  /// Longest result in tokens, special tokens included; 0: no truncation.
  std::size_t max_length = 0;
  /// Which text of a pair is shortened: longest_first | only_first | only_second (as
  /// Hugging Face's TruncationStrategy). A value that cannot be met throws pft::Error (Usage).
  std::string truncation = "longest_first";
  /// Right-pad with the pad token up to this length (0: no padding); never truncates.
  std::size_t pad_to = 0;
};

/// Text is UTF-8; invalid UTF-8 throws pft::Error (Input). Special tokens written in the
/// text ("[MASK]", "<extra_id_0>", "</s>") are recognised as such, as Hugging Face does.
/// Every method is const and keeps no state between calls: one tokenizer may serve several
/// threads. Behaviour and measured parity: docs/tokenizers.md.
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
  /// tokenizer_config.json's model_max_length; 0 when the folder does not say.
  virtual std::size_t model_max_length() const = 0;
};

/// Loads the tokenizer of a Hugging Face folder: tokenizer.json (the tokenizers pipeline it
/// describes) first, else vocab.txt -> WordPiece (BERT conventions), else spiece.model ->
/// SentencePiece (T5 conventions). Errors name the folder and the missing/corrupt file.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& dir);

}  // namespace pft::tokenizer
