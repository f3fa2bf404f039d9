#include "pft/tokenizer/wordpiece.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <utility>

#include "pft/util/error.h"
#include "pft/util/fs.h"
#include "tokenizer/assemble.h"
#include "tokenizer/unicode.h"

namespace pft::tokenizer {

namespace {

using unicode::DecodedChar;

// The character classes of Hugging Face's BertNormalizer and BertPreTokenizer.
bool is_bert_control(char32_t c) {
  if (c < 0x80) return (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F;
  return unicode::is_other(c);
}

bool is_bert_whitespace(char32_t c) {
  if (c < 0x80) return c == ' ' || (c >= '\t' && c <= '\r');
  return unicode::is_white_space(c);
}

bool is_bert_punctuation(char32_t c) {
  if (c < 0x80) {
    return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
           (c >= 123 && c <= 126);
  }
  return unicode::is_punctuation(c);
}

// The CJK Unified Ideographs blocks that BERT treats as one word per character; Hangul,
// kana and other scripts are not in them (BERT's definition). Extension E starts at
// U+2B920 here, not U+2B820, because Hugging Face's tokenizers has it so.
bool is_cjk(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

// The cleanup of Hugging Face's WordPiece decoder, applied to each token string in turn
// (so " 's" only matters inside one token).
constexpr std::pair<const char*, const char*> kCleanupRules[] = {
    {" .", "."},   {" ?", "?"},     {" !", "!"},    {" ,", ","},
    {" ' ", "'"},  {" n't", "n't"}, {" 'm", "'m"},  {" do not", " don't"},
    {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};

void decoder_cleanup(std::string& s) {
  for (const auto& [from, to] : kCleanupRules) {
    const std::string f(from), t(to);
    for (std::size_t pos = s.find(f); pos != std::string::npos; pos = s.find(f, pos + t.size())) {
      s.replace(pos, f.size(), t);
    }
  }
}

// A special token's content in tokenizer_config.json: a string or an AddedToken object.
std::string token_string(const nlohmann::json& value, const std::string& path,
                         const std::string& key) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_object() && value.contains("content") && value["content"].is_string()) {
    return value["content"].get<std::string>();
  }
  throw Error(ErrorKind::Input, path + ": " + key +
                                    ": expected a string or an object with "
                                    "\"content\", got " +
                                    value.dump());
}

bool bool_value(const nlohmann::json& value, const std::string& path, const std::string& key) {
  if (!value.is_boolean()) {
    throw Error(ErrorKind::Input,
                path + ": " + key + ": expected true or false, got " + value.dump());
  }
  return value.get<bool>();
}

}  // namespace

WordPieceOptions WordPieceOptions::from_config_file(const std::string& path) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(ErrorKind::Input, path + ": malformed JSON: " + e.what());
  } catch (const nlohmann::json::out_of_range& e) {
    throw Error(ErrorKind::Input, path + ": a number beyond a 64-bit float: " + e.what());
  }
  if (!doc.is_object()) throw Error(ErrorKind::Input, path + ": expected a JSON object");
  WordPieceOptions o;
  if (doc.contains("do_lower_case"))
    o.lowercase = bool_value(doc["do_lower_case"], path, "do_lower_case");
  if (doc.contains("strip_accents") && !doc["strip_accents"].is_null()) {
    o.strip_accents = bool_value(doc["strip_accents"], path, "strip_accents");
  }
  if (doc.contains("tokenize_chinese_chars")) {
    o.tokenize_chinese_chars =
        bool_value(doc["tokenize_chinese_chars"], path, "tokenize_chinese_chars");
  }
  if (doc.contains("model_max_length") && !doc["model_max_length"].is_null()) {
    const auto& v = doc["model_max_length"];
    if (!v.is_number()) {
      throw Error(ErrorKind::Input,
                  path + ": model_max_length: expected a number, got " + v.dump());
    }
    // transformers writes 1e30 ("VERY_LARGE_INTEGER") when the length is unknown.
    const double length = v.get<double>();
    o.model_max_length = length > 0 && length < 1e12 ? static_cast<std::size_t>(length) : 0;
  }
  const std::pair<const char*, std::string*> specials[] = {{"unk_token", &o.unk_token},
                                                           {"cls_token", &o.cls_token},
                                                           {"sep_token", &o.sep_token},
                                                           {"pad_token", &o.pad_token},
                                                           {"mask_token", &o.mask_token}};
  for (const auto& [key, field] : specials) {
    if (doc.contains(key) && !doc[key].is_null()) *field = token_string(doc[key], path, key);
  }
  return o;
}

WordPiece::WordPiece(std::vector<std::string> vocab, WordPieceOptions options)
    : vocab_(std::move(vocab)), options_(std::move(options)) {
  if (vocab_.empty()) throw Error(ErrorKind::Input, "WordPiece vocabulary is empty");
  ids_.reserve(vocab_.size());
  for (std::size_t i = 0; i < vocab_.size(); ++i) {
    ids_[vocab_[i]] = static_cast<std::int64_t>(i);  // a repeated token keeps its last id
    longest_token_bytes_ = std::max(longest_token_bytes_, vocab_[i].size());
  }
  strip_accents_ = options_.strip_accents.value_or(options_.lowercase);
  auto required = [&](const std::string& token, const char* key) {
    const auto it = ids_.find(token);
    if (it == ids_.end()) {
      throw Error(ErrorKind::Input, std::string(key) + " '" + token + "' is not in the vocabulary");
    }
    return it->second;
  };
  unk_id_ = required(options_.unk_token, "unk_token");
  cls_id_ = required(options_.cls_token, "cls_token");
  sep_id_ = required(options_.sep_token, "sep_token");
  pad_id_ = required(options_.pad_token, "pad_token");
  if (const auto it = ids_.find(options_.mask_token); it != ids_.end()) mask_id_ = it->second;
  for (const auto& token : {options_.pad_token, options_.unk_token, options_.cls_token,
                            options_.sep_token, options_.mask_token}) {
    if (const auto it = ids_.find(token); it != ids_.end() && !token.empty()) {
      special_tokens_.emplace_back(token, it->second);
    }
  }
}

std::unique_ptr<WordPiece> WordPiece::from_folder(const std::string& dir) {
  namespace fs = std::filesystem;
  const std::string vocab_path = (fs::path(dir) / "vocab.txt").string();
  if (!fs::is_regular_file(vocab_path)) {
    throw Error(ErrorKind::Input, dir + ": no vocab.txt in this folder");
  }
  const std::string bytes = read_file(vocab_path);
  std::vector<std::string> vocab;
  std::size_t start = 0;
  while (start < bytes.size()) {
    std::size_t end = bytes.find('\n', start);
    if (end == std::string::npos) end = bytes.size();
    vocab.emplace_back(bytes, start, end - start);
    start = end + 1;
  }
  for (std::size_t i = 0; i < vocab.size(); ++i) {
    if (!unicode::is_valid_utf8(vocab[i])) {
      throw Error(ErrorKind::Input, vocab_path + ":" + std::to_string(i + 1) +
                                        ": token is not valid UTF-8 (is this a vocab.txt?)");
    }
  }
  if (vocab.empty()) throw Error(ErrorKind::Input, vocab_path + ": the vocabulary is empty");
  const std::string config_path = (fs::path(dir) / "tokenizer_config.json").string();
  WordPieceOptions options;
  if (fs::exists(config_path)) options = WordPieceOptions::from_config_file(config_path);
  try {
    return std::make_unique<WordPiece>(std::move(vocab), std::move(options));
  } catch (const Error& e) {
    throw Error(ErrorKind::Input, vocab_path + ": " + e.what());
  }
}

namespace {

// The working buffers of one call: the decoded text, the normalized characters and, for
// each, the index of the source character it came from.
struct Scratch {
  std::vector<DecodedChar> chars;
  std::u32string norm, out, expand;
  std::vector<std::uint32_t> align, out_align;
  std::string word, key;
  std::vector<std::uint32_t> bounds;
};

// Hugging Face's BertNormalizer, keeping for each output character its source character.
void bert_normalize(const WordPieceOptions& options, bool strip_accents,
                    const std::vector<DecodedChar>& chars, std::size_t from, std::size_t to,
                    Scratch& s) {
  s.norm.clear();
  s.align.clear();
  bool non_ascii = false, reorder = false;
  auto push = [&](char32_t c, std::size_t k) {
    s.norm.push_back(c);
    s.align.push_back(static_cast<std::uint32_t>(k));
  };
  for (std::size_t k = from; k < to; ++k) {
    char32_t c = chars[k].code;
    if (c < 0x80) {
      if (c == 0 || is_bert_control(c)) continue;
      if (c == '\t' || c == '\n' || c == '\r') c = ' ';
      if (options.lowercase && c >= 'A' && c <= 'Z') c += 32;
      push(c, k);
      continue;
    }
    if (c == 0xFFFD || is_bert_control(c)) continue;
    if (is_bert_whitespace(c)) {
      push(' ', k);
      continue;
    }
    non_ascii = true;
    const bool cjk = options.tokenize_chinese_chars && is_cjk(c);
    if (cjk) push(' ', k);
    if (strip_accents) {
      s.expand.clear();
      unicode::append_decomposition(c, s.expand);
      for (char32_t d : s.expand) {
        if (d >= 0x300 && unicode::combining_class(d) != 0) reorder = true;
        push(d, k);
      }
    } else {
      push(c, k);
    }
    if (cjk) push(' ', k);
  }
  if (!non_ascii) return;
  if (reorder) unicode::canonical_order(s.norm, s.align);
  if (!strip_accents && !options.lowercase) return;
  s.out.clear();
  s.out_align.clear();
  for (std::size_t i = 0; i < s.norm.size(); ++i) {
    const char32_t c = s.norm[i];
    if (c >= 0x80 && strip_accents && unicode::is_mark_nonspacing(c)) continue;
    const std::size_t before = s.out.size();
    if (options.lowercase) {
      unicode::append_lowercase(c, s.out);
    } else {
      s.out.push_back(c);
    }
    s.out_align.insert(s.out_align.end(), s.out.size() - before, s.align[i]);
  }
  std::swap(s.norm, s.out);
  std::swap(s.align, s.out_align);
}

// BertPreTokenizer: calls f(begin, end) for each word of the normalized text; white space
// separates words and every punctuation character is a word of its own.
template <class F>
void for_each_word(const std::u32string& norm, F&& f) {
  const std::size_t n = norm.size();
  std::size_t i = 0;
  while (i < n) {
    const char32_t c = norm[i];
    if (is_bert_whitespace(c)) {
      ++i;
    } else if (is_bert_punctuation(c)) {
      f(i, i + 1);
      ++i;
    } else {
      std::size_t j = i + 1;
      while (j < n && !is_bert_whitespace(norm[j]) && !is_bert_punctuation(norm[j])) ++j;
      f(i, j);
      i = j;
    }
  }
}

}  // namespace

std::vector<WordPiece::Word> WordPiece::pre_tokenize(const std::string& text) const {
  Scratch s;
  unicode::decode_utf8(text, s.chars);
  bert_normalize(options_, strip_accents_, s.chars, 0, s.chars.size(), s);
  std::vector<Word> words;
  for_each_word(s.norm, [&](std::size_t ws, std::size_t we) {
    words.push_back({unicode::to_utf8(std::u32string_view(s.norm).substr(ws, we - ws)),
                     s.chars[s.align[ws]].begin, s.chars[s.align[we - 1]].end});
  });
  return words;
}

std::string WordPiece::normalize(const std::string& text) const {
  Scratch s;
  unicode::decode_utf8(text, s.chars);
  bert_normalize(options_, strip_accents_, s.chars, 0, s.chars.size(), s);
  return unicode::to_utf8(s.norm);
}

void WordPiece::tokenize_text(const std::string& text, std::vector<Piece>& out) const {
  Scratch s;
  unicode::decode_utf8(text, s.chars);
  const auto& chars = s.chars;

  // One word [ws, we) of the normalized text -> WordPiece tokens.
  auto word_pieces = [&](std::size_t ws, std::size_t we) {
    const std::size_t n = we - ws;
    const std::size_t word_begin = chars[s.align[ws]].begin;
    const std::size_t word_end = chars[s.align[we - 1]].end;
    if (n > options_.max_input_chars_per_word) {
      out.push_back({unk_id_, word_begin, word_end});
      return;
    }
    s.word.clear();
    s.bounds.clear();
    for (std::size_t i = ws; i < we; ++i) {
      s.bounds.push_back(static_cast<std::uint32_t>(s.word.size()));
      unicode::append_utf8(s.norm[i], s.word);
    }
    s.bounds.push_back(static_cast<std::uint32_t>(s.word.size()));
    const std::size_t first_piece = out.size();
    std::size_t start = 0;
    while (start < n) {
      const std::size_t prefix = start > 0 ? 2 : 0;
      std::size_t end = n;
      // Skip end positions whose piece is longer than any token of the vocabulary.
      while (end > start && prefix + s.bounds[end] - s.bounds[start] > longest_token_bytes_) --end;
      std::int64_t found = -1;
      for (; end > start; --end) {
        s.key.assign(prefix > 0 ? "##" : "");
        s.key.append(s.word, s.bounds[start], s.bounds[end] - s.bounds[start]);
        const auto it = ids_.find(s.key);
        if (it != ids_.end()) {
          found = it->second;
          break;
        }
      }
      if (found < 0) {
        out.resize(first_piece);
        out.push_back({unk_id_, word_begin, word_end});
        return;
      }
      out.push_back({found, chars[s.align[ws + start]].begin, chars[s.align[ws + end - 1]].end});
      start = end;
    }
  };

  // Split around special tokens written in the text; they are matched on the raw text,
  // leftmost first, the longest when several start at the same byte. Each token's next
  // occurrence is remembered and searched again only once the scan has passed it, so every
  // token's search moves forward through the text once: linear in the text's length.
  std::vector<std::size_t> next(special_tokens_.size());
  for (std::size_t t = 0; t < special_tokens_.size(); ++t)
    next[t] = text.find(special_tokens_[t].first);
  std::size_t byte = 0, char_index = 0;
  while (byte <= text.size()) {
    std::size_t match = std::string::npos, match_len = 0;
    std::int64_t match_id = -1;
    for (std::size_t t = 0; t < special_tokens_.size(); ++t) {
      const auto& [token, id] = special_tokens_[t];
      if (next[t] != std::string::npos && next[t] < byte) next[t] = text.find(token, byte);
      const std::size_t pos = next[t];
      if (pos != std::string::npos && (pos < match || (pos == match && token.size() > match_len))) {
        match = pos, match_len = token.size(), match_id = id;
      }
    }
    const std::size_t segment_end = match == std::string::npos ? text.size() : match;
    std::size_t char_end = char_index;
    while (char_end < chars.size() && chars[char_end].begin < segment_end) ++char_end;
    if (char_end > char_index) {
      bert_normalize(options_, strip_accents_, chars, char_index, char_end, s);
      for_each_word(s.norm, word_pieces);
    }
    if (match == std::string::npos) break;
    out.push_back({match_id, match, match + match_len});
    byte = match + match_len;
    char_index = char_end;
    while (char_index < chars.size() && chars[char_index].begin < byte) ++char_index;
  }
}

Encoding WordPiece::encode(const std::string& text, const EncodeOptions& options) const {
  std::vector<Piece> pieces;
  tokenize_text(text, pieces);
  const SpecialLayout layout{{cls_id_}, {sep_id_}, {sep_id_}, 1};
  return assemble(std::move(pieces), nullptr, layout, options, *this);
}

Encoding WordPiece::encode_pair(const std::string& first, const std::string& second,
                                const EncodeOptions& options) const {
  std::vector<Piece> a, b;
  tokenize_text(first, a);
  tokenize_text(second, b);
  const SpecialLayout layout{{cls_id_}, {sep_id_}, {sep_id_}, 1};
  return assemble(std::move(a), &b, layout, options, *this);
}

std::vector<std::int64_t> WordPiece::tokenize_ids(const std::string& text) const {
  std::vector<Piece> pieces;
  tokenize_text(text, pieces);
  std::vector<std::int64_t> ids(pieces.size());
  std::transform(pieces.begin(), pieces.end(), ids.begin(), [](const Piece& p) { return p.id; });
  return ids;
}

std::string WordPiece::decode(const std::vector<std::int64_t>& ids,
                              bool skip_special_tokens) const {
  std::string out, token;
  bool first = true;
  for (const std::int64_t id : ids) {
    if (id < 0 || static_cast<std::size_t>(id) >= vocab_.size()) continue;
    if (skip_special_tokens &&
        std::any_of(special_tokens_.begin(), special_tokens_.end(),
                    [id](const auto& special) { return special.second == id; })) {
      continue;
    }
    const std::string& t = vocab_[static_cast<std::size_t>(id)];
    if (first) {
      token = t;
    } else if (t.rfind("##", 0) == 0) {
      token.assign(t, 2, std::string::npos);
    } else {
      token = " " + t;
    }
    first = false;
    decoder_cleanup(token);
    out += token;
  }
  return out;
}

std::int64_t WordPiece::token_to_id(const std::string& token) const {
  const auto it = ids_.find(token);
  return it == ids_.end() ? -1 : it->second;
}

std::string WordPiece::id_to_token(std::int64_t id) const {
  if (id < 0 || static_cast<std::size_t>(id) >= vocab_.size()) {
    throw Error(ErrorKind::Input, "token id " + std::to_string(id) +
                                      " is outside the vocabulary of " +
                                      std::to_string(vocab_.size()) + " tokens");
  }
  return vocab_[static_cast<std::size_t>(id)];
}

}  // namespace pft::tokenizer
