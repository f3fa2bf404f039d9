#include "pft/tokenizer/sentencepiece.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iterator>
#include <limits>
#include <sstream>
#include <string_view>
#include <unordered_map>

#include "pft/util/error.h"
#include "pft/util/fs.h"
#include "tokenizer/assemble.h"
#include "tokenizer/unicode.h"

namespace pft::tokenizer {

namespace {

constexpr const char* kSentinelPrefix = "<extra_id_";

// The white space Python's str.strip() removes, which T5Tokenizer applies around sentinels.
bool is_python_space(char32_t c) { return (c >= 0x1C && c <= 0x1F) || unicode::is_white_space(c); }

// Byte length of the leading / trailing Python white space of text[begin, end).
std::size_t leading_space(const std::string& text, std::size_t begin, std::size_t end,
                          std::vector<unicode::DecodedChar>& chars) {
  unicode::decode_utf8(std::string_view(text).substr(begin, end - begin), chars);
  std::size_t n = 0;
  for (const auto& c : chars) {
    if (!is_python_space(c.code)) break;
    n = c.end;
  }
  return n;
}

std::size_t trailing_space(const std::string& text, std::size_t begin, std::size_t end,
                           std::vector<unicode::DecodedChar>& chars) {
  unicode::decode_utf8(std::string_view(text).substr(begin, end - begin), chars);
  std::size_t keep = chars.size();
  while (keep > 0 && is_python_space(chars[keep - 1].code)) --keep;
  return (end - begin) - (keep == 0 ? 0 : chars[keep - 1].end);
}

std::string string_value(const nlohmann::json& value, const std::string& path,
                         const std::string& key) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_object() && value.contains("content") && value["content"].is_string()) {
    return value["content"].get<std::string>();
  }
  throw Error(ErrorKind::Input, path + ": " + key + ": expected a string, got " + value.dump());
}

// The few fields of a serialized ModelProto (sentencepiece_model.proto) that the Viterbi
// search needs, read from the protobuf wire format: Debian's libsentencepiece-dev ships no
// generated protobuf headers.
struct ModelFacts {
  std::vector<int>
      types;  // per piece: 1 normal, 2 unknown, 3 control, 4 user defined, 5 unused, 6 byte
  int model_type = 1;  // 1 unigram, 2 bpe, 3 word, 4 char
  bool byte_fallback = false;
};

class WireReader {
 public:
  explicit WireReader(std::string_view bytes) : bytes_(bytes) {}
  bool done() const { return pos_ >= bytes_.size(); }
  // Reads one field header and its payload; false on malformed input.
  bool next(std::uint32_t& field, std::uint64_t& number, std::string_view& payload) {
    std::uint64_t key;
    number = 0;
    if (!varint(key)) return false;
    field = static_cast<std::uint32_t>(key >> 3);
    switch (key & 7) {
      case 0:
        return varint(number);
      case 1:
        return skip(8, payload);
      case 5:
        return skip(4, payload);
      case 2: {
        std::uint64_t length;
        return varint(length) && skip(length, payload);
      }
      default:
        return false;
    }
  }

 private:
  bool varint(std::uint64_t& value) {
    value = 0;
    for (int shift = 0; shift < 64 && pos_ < bytes_.size(); shift += 7) {
      const auto byte = static_cast<unsigned char>(bytes_[pos_++]);
      value |= static_cast<std::uint64_t>(byte & 0x7F) << shift;
      if ((byte & 0x80) == 0) return true;
    }
    return false;
  }
  bool skip(std::uint64_t length, std::string_view& payload) {
    if (length > bytes_.size() - pos_) return false;
    payload = bytes_.substr(pos_, length);
    pos_ += length;
    return true;
  }
  std::string_view bytes_;
  std::size_t pos_ = 0;
};

ModelFacts read_model_facts(std::string_view proto) {
  ModelFacts facts;
  WireReader model(proto);
  std::uint32_t field;
  std::uint64_t number;
  std::string_view payload;
  while (!model.done() && model.next(field, number, payload)) {
    if (field == 1) {  // repeated SentencePiece pieces
      int type = 1;
      WireReader piece(payload);
      while (!piece.done() && piece.next(field, number, payload)) {
        if (field == 3) type = static_cast<int>(number);
      }
      facts.types.push_back(type);
    } else if (field == 2) {  // TrainerSpec
      WireReader spec(payload);
      while (!spec.done() && spec.next(field, number, payload)) {
        if (field == 3) facts.model_type = static_cast<int>(number);
        if (field == 35) facts.byte_fallback = number != 0;
      }
    }
  }
  return facts;
}

// Byte length of the UTF-8 character that starts with `lead` (SentencePiece's OneCharLen).
std::size_t char_length(unsigned char lead) {
  constexpr std::size_t kLength[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return kLength[lead >> 4];
}

}  // namespace

struct SentencePiece::Unigram {
  std::vector<float> scores;  // node score by id
  // A byte trie of the pieces the search may emit (normal and user defined), flattened:
  // the children of a node are a run of `labels` (sorted) and `children`; node 0 is the
  // root. A walk over the text stops as soon as no piece continues with the next byte.
  struct Node {
    std::int32_t piece = -1;  // id of the piece ending here, or -1
    float score = 0.0f;       // its score, kept here to spare a memory access
    std::uint32_t first = 0;  // its children's run in labels/children
    std::uint32_t count = 0;
  };
  std::vector<Node> nodes;
  std::vector<unsigned char> labels;
  std::vector<std::int32_t> children;
  float unk_score = 0;
  std::int32_t unk_id = 0;

  // Builds the subtree of sorted[lo, hi), pieces that share their first `depth` bytes.
  std::int32_t build(const std::vector<std::pair<std::string, std::int32_t>>& sorted,
                     std::size_t lo, std::size_t hi, std::size_t depth) {
    const auto index = static_cast<std::int32_t>(nodes.size());
    nodes.emplace_back();
    if (lo < hi && sorted[lo].first.size() == depth) {
      nodes.back().piece = sorted[lo].second;
      nodes.back().score = scores[static_cast<std::size_t>(sorted[lo].second)];
      ++lo;
    }
    std::vector<std::size_t> starts;  // where each child's run begins
    for (std::size_t i = lo; i < hi; ++i) {
      if (i == lo || sorted[i].first[depth] != sorted[i - 1].first[depth]) starts.push_back(i);
    }
    const auto first = static_cast<std::uint32_t>(labels.size());
    nodes[static_cast<std::size_t>(index)].first = first;
    nodes[static_cast<std::size_t>(index)].count = static_cast<std::uint32_t>(starts.size());
    labels.resize(labels.size() + starts.size());
    children.resize(children.size() + starts.size());
    for (std::size_t k = 0; k < starts.size(); ++k) {
      const std::size_t end = k + 1 < starts.size() ? starts[k + 1] : hi;
      labels[first + k] = static_cast<unsigned char>(sorted[starts[k]].first[depth]);
      const std::int32_t child = build(sorted, starts[k], end, depth + 1);
      children[first + k] = child;
    }
    return index;
  }

  // The child of `node` along `byte`, or -1.
  std::int32_t child(std::int32_t node, unsigned char byte) const {
    const Node& n = nodes[static_cast<std::size_t>(node)];
    const unsigned char* begin = labels.data() + n.first;
    const unsigned char* end = begin + n.count;
    const unsigned char* it =
        n.count <= 8 ? std::find(begin, end, byte) : std::lower_bound(begin, end, byte);
    return it != end && *it == byte ? children[n.first + static_cast<std::size_t>(it - begin)] : -1;
  }
};

SentencePieceOptions SentencePieceOptions::from_config_file(const std::string& path) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(ErrorKind::Input, path + ": malformed JSON: " + e.what());
  } catch (const nlohmann::json::out_of_range& e) {
    throw Error(ErrorKind::Input, path + ": a number beyond a 64-bit float: " + e.what());
  }
  if (!doc.is_object()) throw Error(ErrorKind::Input, path + ": expected a JSON object");
  SentencePieceOptions o;
  if (doc.contains("extra_ids")) {
    const auto& v = doc["extra_ids"];
    if (!v.is_number_integer() || v.get<std::int64_t>() < 0) {
      throw Error(ErrorKind::Input,
                  path + ": extra_ids: expected a non-negative integer, got " + v.dump());
    }
    o.extra_ids = v.get<std::size_t>();
  }
  if (doc.contains("model_max_length") && !doc["model_max_length"].is_null()) {
    const auto& v = doc["model_max_length"];
    if (!v.is_number()) {
      throw Error(ErrorKind::Input,
                  path + ": model_max_length: expected a number, got " + v.dump());
    }
    const double length = v.get<double>();  // 1e30 means "unknown" in transformers
    o.model_max_length = length > 0 && length < 1e12 ? static_cast<std::size_t>(length) : 0;
  }
  const std::pair<const char*, std::string*> specials[] = {
      {"eos_token", &o.eos_token}, {"unk_token", &o.unk_token}, {"pad_token", &o.pad_token}};
  for (const auto& [key, field] : specials) {
    if (doc.contains(key) && !doc[key].is_null()) *field = string_value(doc[key], path, key);
  }
  return o;
}

SentencePiece::SentencePiece(const std::string& model_path, SentencePieceOptions options)
    : processor_(std::make_unique<sentencepiece::SentencePieceProcessor>()),
      options_(std::move(options)) {
  if (!std::filesystem::is_regular_file(model_path)) {
    throw Error(ErrorKind::Input, model_path + ": SentencePiece model file not found");
  }
  // Read the bytes ourselves so that a missing or unreadable file gets pft's message.
  const std::string bytes = read_file(model_path);
  const auto status = processor_->LoadFromSerializedProto(bytes);
  if (!status.ok()) {
    throw Error(ErrorKind::Input,
                model_path + ": not a SentencePiece model (" + std::string(status.message()) + ")");
  }
  piece_count_ = static_cast<std::size_t>(processor_->GetPieceSize());
  auto required = [&](const std::string& token, const char* key) -> std::int64_t {
    const int id = processor_->PieceToId(token);
    if (processor_->IdToPiece(id) != token) {
      throw Error(ErrorKind::Input,
                  model_path + ": " + key + " '" + token + "' is not a piece of this model");
    }
    return id;
  };
  pad_id_ = required(options_.pad_token, "pad_token");
  eos_id_ = required(options_.eos_token, "eos_token");
  unk_id_ = required(options_.unk_token, "unk_token");

  const ModelFacts facts = read_model_facts(bytes);
  if (facts.model_type == 1 && !facts.byte_fallback && facts.types.size() == piece_count_) {
    auto u = std::make_unique<Unigram>();
    u->scores.resize(piece_count_);
    std::vector<std::pair<std::string, std::int32_t>> sorted;
    // SentencePiece's unigram model: the unknown score is the lowest normal score minus 10;
    // user-defined pieces score bytes * max - 0.1 (max starts at FLT_MIN, as there).
    float min_score = std::numeric_limits<float>::max();
    float max_score = std::numeric_limits<float>::min();
    for (std::size_t i = 0; i < piece_count_; ++i) {
      if (facts.types[i] == 1) {
        min_score = std::min(min_score, processor_->GetScore(static_cast<int>(i)));
        max_score = std::max(max_score, processor_->GetScore(static_cast<int>(i)));
      }
    }
    u->unk_score = min_score - 10.0f;
    u->unk_id = processor_->unk_id();
    for (std::size_t i = 0; i < piece_count_; ++i) {
      if (facts.types[i] != 1 && facts.types[i] != 4) continue;  // normal and user defined
      const std::string& piece = processor_->IdToPiece(static_cast<int>(i));
      const auto bytes = static_cast<float>(piece.size());
      u->scores[i] = facts.types[i] == 4 ? static_cast<float>(bytes * max_score - 0.1)
                                         : processor_->GetScore(static_cast<int>(i));
      if (!piece.empty()) sorted.emplace_back(piece, static_cast<std::int32_t>(i));
    }
    // Bytewise order (std::string compares as unsigned char), as the trie's labels need.
    std::sort(sorted.begin(), sorted.end());
    u->build(sorted, 0, sorted.size(), 0);
    unigram_ = std::move(u);
  }
}

SentencePiece::~SentencePiece() = default;

std::unique_ptr<SentencePiece> SentencePiece::from_folder(const std::string& dir) {
  namespace fs = std::filesystem;
  const std::string model_path = (fs::path(dir) / "spiece.model").string();
  if (!fs::is_regular_file(model_path)) {
    throw Error(ErrorKind::Input, dir + ": no spiece.model in this folder");
  }
  const std::string config_path = (fs::path(dir) / "tokenizer_config.json").string();
  SentencePieceOptions options;
  if (fs::exists(config_path)) options = SentencePieceOptions::from_config_file(config_path);
  return std::make_unique<SentencePiece>(model_path, std::move(options));
}

std::int64_t SentencePiece::sentinel_id(std::size_t index) const {
  if (index >= options_.extra_ids) {
    throw Error(ErrorKind::Usage, "<extra_id_" + std::to_string(index) + ">: this tokenizer has " +
                                      std::to_string(options_.extra_ids) + " sentinels");
  }
  return static_cast<std::int64_t>(piece_count_ + options_.extra_ids - 1 - index);
}

bool SentencePiece::is_special(std::int64_t id) const {
  return id == pad_id_ || id == eos_id_ || id == unk_id_ ||
         (id >= static_cast<std::int64_t>(piece_count_) &&
          id < static_cast<std::int64_t>(vocab_size()));
}

void SentencePiece::encode_segment(const std::string& text, std::size_t begin, std::size_t end,
                                   std::vector<Piece>& out) const {
  const std::string_view segment = std::string_view(text).substr(begin, end - begin);
  sentencepiece::ImmutableSentencePieceText spt;
  const auto status = processor_->Encode(segment, spt.mutable_proto());
  if (!status.ok()) {
    throw Error(ErrorKind::Runtime,
                "SentencePiece failed to encode text: " + std::string(status.message()));
  }
  const auto lib = spt.pieces();
  if (!unigram_) {
    for (const auto& p : lib) {
      out.push_back({static_cast<std::int64_t>(p.id()), begin + p.begin(), begin + p.end()});
    }
    return;
  }
  // The library's pieces spell the normalized text; each also says which bytes of the
  // segment it came from, which maps normalized positions back to the source.
  std::string norm;
  std::vector<std::size_t> norm_start;  // per library piece, its first normalized byte
  for (const auto& p : lib) {
    norm_start.push_back(norm.size());
    norm += p.piece();
  }
  norm_start.push_back(norm.size());
  if (norm.empty()) return;

  // The Viterbi search of sentencepiece's Model::EncodeOptimized as the Python package
  // (0.2) computes it: for each end position keep the best path, visiting start positions
  // left to right and pieces short to long; a later candidate replaces the kept one only
  // when its single-precision score is strictly greater.
  const Unigram& u = *unigram_;
  struct Best {
    float score = 0.0f;
    std::int32_t id = -1;
    std::int64_t start = -1;  // normalized byte where the last piece begins
  };
  const std::size_t size = norm.size();
  std::vector<Best> best(size + 1);
  auto offer = [&](std::size_t start, std::size_t end, std::int32_t id, float score) {
    Best& target = best[end];
    const float candidate = score + best[start].score;
    if (target.start == -1 || candidate > target.score) {
      target = {candidate, id, static_cast<std::int64_t>(start)};
    }
  };
  for (std::size_t start = 0; start < size;) {
    const std::size_t mblen =
        std::min(char_length(static_cast<unsigned char>(norm[start])), size - start);
    bool has_single = false;
    std::int32_t node = 0;
    for (std::size_t end = start + 1; end <= size; ++end) {
      node = u.child(node, static_cast<unsigned char>(norm[end - 1]));
      if (node < 0) break;
      const auto& n = u.nodes[static_cast<std::size_t>(node)];
      if (n.piece < 0) continue;  // only a prefix of pieces
      offer(start, end, n.piece, n.score);
      if (end - start == mblen) has_single = true;
    }
    if (!has_single) offer(start, start + mblen, u.unk_id, u.unk_score);
    start += mblen;
  }
  struct Span {
    std::int32_t id;
    std::size_t begin, end;
  };
  std::vector<Span> path;
  for (std::size_t end = size; end > 0;) {
    const Best& b = best[end];
    path.push_back({b.id, static_cast<std::size_t>(b.start), end});
    end = static_cast<std::size_t>(b.start);
  }
  std::reverse(path.begin(), path.end());

  // Normalized byte -> source byte, through the library piece that holds it. Inside a
  // piece whose normalized and source lengths agree the bytes correspond one to one;
  // otherwise the position snaps to the piece's start (for a begin) or end (for an end).
  auto piece_of = [&](std::size_t norm_byte) {
    return static_cast<std::size_t>(
        std::upper_bound(norm_start.begin(), norm_start.end(), norm_byte) - norm_start.begin() - 1);
  };
  auto source = [&](std::size_t norm_byte, bool is_end) -> std::size_t {
    const std::size_t k = is_end ? piece_of(norm_byte - 1) : piece_of(norm_byte);
    const auto& p = lib[k];
    const std::size_t n0 = norm_start[k], n1 = norm_start[k + 1];
    if (norm_byte == (is_end ? n1 : n0)) return is_end ? p.end() : p.begin();
    if (n1 - n0 == p.end() - p.begin()) return p.begin() + (norm_byte - n0);
    return is_end ? p.end() : p.begin();
  };
  for (std::size_t i = 0; i < path.size(); ++i) {
    const Span& n = path[i];
    // SentencePiece merges a run of unknown pieces into one.
    if (n.id == u.unk_id && i > 0 && path[i - 1].id == u.unk_id) {
      out.back().end = begin + source(n.end, true);
      continue;
    }
    out.push_back({n.id, begin + source(n.begin, false), begin + source(n.end, true)});
  }
}

void SentencePiece::tokenize_text(const std::string& text, std::vector<Piece>& out) const {
  if (!unicode::is_valid_utf8(text)) {
    std::vector<unicode::DecodedChar> chars;
    unicode::decode_utf8(text, chars);  // throws, naming the offending byte
  }
  // Find the special tokens written in the text, leftmost first (the longest on a tie):
  // <pad>, </s>, <unk> as they are, <extra_id_N> for N below extra_ids.
  struct Match {
    std::size_t begin, end;
    std::int64_t id;
    bool sentinel;
  };
  std::vector<Match> matches;
  const std::pair<const std::string*, std::int64_t> plain[] = {{&options_.pad_token, pad_id_},
                                                               {&options_.eos_token, eos_id_},
                                                               {&options_.unk_token, unk_id_}};
  // Each plain token's next occurrence is searched again only once the scan has passed it
  // (linear in the text's length, however many special tokens it holds).
  std::size_t next[std::size(plain)];
  for (std::size_t t = 0; t < std::size(plain); ++t)
    next[t] = plain[t].first->empty() ? std::string::npos : text.find(*plain[t].first);
  std::size_t next_prefix = text.find(kSentinelPrefix);
  std::size_t pos = 0;
  while (pos < text.size()) {
    Match best{std::string::npos, 0, -1, false};
    for (std::size_t t = 0; t < std::size(plain); ++t) {
      const auto& [token, id] = plain[t];
      if (next[t] != std::string::npos && next[t] < pos) next[t] = text.find(*token, pos);
      const std::size_t at = next[t];
      if (at != std::string::npos &&
          (at < best.begin || (at == best.begin && at + token->size() > best.end))) {
        best = {at, at + token->size(), id, false};
      }
    }
    // Sentinel spellings: the next "<extra_id_" at or after pos is remembered the same way;
    // the search only moves forward past those that are not sentinels.
    if (next_prefix != std::string::npos && next_prefix < pos)
      next_prefix = text.find(kSentinelPrefix, pos);
    for (; next_prefix != std::string::npos && next_prefix <= best.begin;
         next_prefix = text.find(kSentinelPrefix, next_prefix + 1)) {
      const std::size_t at = next_prefix;
      std::size_t digits = at + 10;
      std::size_t index = 0;
      while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9' &&
             digits - at < 16) {
        index = index * 10 + static_cast<std::size_t>(text[digits] - '0');
        ++digits;
      }
      if (digits == at + 10 || digits >= text.size() || text[digits] != '>') continue;
      // "<extra_id_01>" is not a sentinel's spelling; leading zeros do not match.
      if (text[at + 10] == '0' && digits > at + 11) continue;
      if (index >= options_.extra_ids) continue;
      if (at < best.begin || digits + 1 > best.end) {
        best = {at, digits + 1, sentinel_id(index), true};
      }
      break;
    }
    if (best.begin == std::string::npos) break;
    matches.push_back(best);
    pos = best.end;
  }

  std::vector<unicode::DecodedChar> scratch;
  auto encode = [&](std::size_t begin, std::size_t end) {
    if (begin < end) encode_segment(text, begin, end, out);
  };
  // Sentinels strip the white space on both sides (T5Tokenizer's lstrip/rstrip added tokens).
  std::size_t segment_begin = 0;
  for (std::size_t i = 0; i < matches.size(); ++i) {
    const Match& m = matches[i];
    std::size_t segment_end = m.begin;
    if (m.sentinel) segment_end -= trailing_space(text, segment_begin, segment_end, scratch);
    encode(segment_begin, segment_end);
    out.push_back({m.id, m.begin, m.end});
    segment_begin = m.end;
    if (m.sentinel) {
      const std::size_t next = i + 1 < matches.size() ? matches[i + 1].begin : text.size();
      segment_begin += leading_space(text, segment_begin, next, scratch);
    }
  }
  encode(segment_begin, text.size());
}

Encoding SentencePiece::encode(const std::string& text, const EncodeOptions& options) const {
  std::vector<Piece> pieces;
  tokenize_text(text, pieces);
  const SpecialLayout layout{{}, {eos_id_}, {eos_id_}, 0};
  return assemble(std::move(pieces), nullptr, layout, options, *this);
}

Encoding SentencePiece::encode_pair(const std::string& first, const std::string& second,
                                    const EncodeOptions& options) const {
  std::vector<Piece> a, b;
  tokenize_text(first, a);
  tokenize_text(second, b);
  const SpecialLayout layout{{}, {eos_id_}, {eos_id_}, 0};
  return assemble(std::move(a), &b, layout, options, *this);
}

std::vector<std::int64_t> SentencePiece::tokenize_ids(const std::string& text) const {
  std::vector<Piece> pieces;
  tokenize_text(text, pieces);
  std::vector<std::int64_t> ids(pieces.size());
  std::transform(pieces.begin(), pieces.end(), ids.begin(), [](const Piece& p) { return p.id; });
  return ids;
}

std::string SentencePiece::decode(const std::vector<std::int64_t>& ids,
                                  bool skip_special_tokens) const {
  std::string out, run_text;
  std::vector<int> run;
  auto flush = [&] {
    run_text.clear();
    if (!run.empty()) {
      const auto status = processor_->Decode(run, &run_text);
      if (!status.ok()) {
        throw Error(ErrorKind::Runtime,
                    "SentencePiece failed to decode: " + std::string(status.message()));
      }
    }
    run.clear();
    return run_text;
  };
  bool previous_special = false;
  for (const std::int64_t id : ids) {
    if (id < 0 || static_cast<std::size_t>(id) >= vocab_size()) continue;
    if (is_special(id)) {
      if (skip_special_tokens) continue;
      if (!previous_special) out += ' ';
      out += flush();
      out += id_to_token(id);
      previous_special = true;
    } else {
      run.push_back(static_cast<int>(id));
      previous_special = false;
    }
  }
  out += flush();
  if (skip_special_tokens) return out;
  // T5Tokenizer strips the result (Python's str.strip()).
  std::vector<unicode::DecodedChar> chars;
  const std::size_t lead = leading_space(out, 0, out.size(), chars);
  const std::size_t trail = lead == out.size() ? 0 : trailing_space(out, lead, out.size(), chars);
  return out.substr(lead, out.size() - lead - trail);
}

std::int64_t SentencePiece::token_to_id(const std::string& token) const {
  if (token.rfind(kSentinelPrefix, 0) == 0 && token.size() > 11 && token.back() == '>') {
    const std::string digits = token.substr(10, token.size() - 11);
    if (digits.find_first_not_of("0123456789") == std::string::npos &&
        (digits.size() == 1 || digits[0] != '0') && digits.size() < 8) {
      const std::size_t index = std::stoul(digits);
      if (index < options_.extra_ids) return sentinel_id(index);
    }
  }
  const int id = processor_->PieceToId(token);
  return processor_->IdToPiece(id) == token ? id : -1;
}

std::string SentencePiece::id_to_token(std::int64_t id) const {
  if (id < 0 || static_cast<std::size_t>(id) >= vocab_size()) {
    throw Error(ErrorKind::Input, "token id " + std::to_string(id) +
                                      " is outside the vocabulary of " +
                                      std::to_string(vocab_size()) + " tokens");
  }
  if (static_cast<std::size_t>(id) >= piece_count_) {
    return kSentinelPrefix +
           std::to_string(piece_count_ + options_.extra_ids - 1 - static_cast<std::size_t>(id)) +
           ">";
  }
  return processor_->IdToPiece(static_cast<int>(id));
}

void train_sentencepiece(const SentencePieceTrainOptions& options) {
  if (!std::filesystem::is_regular_file(options.input)) {
    throw Error(ErrorKind::Input, options.input + ": training text not found");
  }
  if (options.model_prefix.empty()) throw Error(ErrorKind::Usage, "--model-prefix is empty");
  std::unordered_map<std::string, std::string> args{
      {"input", options.input},
      {"vocab_size", std::to_string(options.vocab_size)},
      {"model_type", options.model_type},
      {"character_coverage", std::to_string(options.character_coverage)},
  };
  if (options.t5_special_ids) {
    args.insert({{"pad_id", "0"}, {"eos_id", "1"}, {"unk_id", "2"}, {"bos_id", "-1"}});
  }
  // Train into memory (the trainer then takes no model_prefix), then write both files atomically: a
  // failed or interrupted run leaves no half-written model under the final name.
  std::string model;
  const auto status = sentencepiece::SentencePieceTrainer::Train(args, nullptr, &model);
  if (!status.ok()) {
    throw Error(ErrorKind::Input, "SentencePiece training on " + options.input +
                                      " failed: " + std::string(status.message()));
  }
  sentencepiece::SentencePieceProcessor trained;
  if (!trained.LoadFromSerializedProto(model).ok()) {
    throw Error(ErrorKind::Runtime, "SentencePiece trainer returned an unreadable model");
  }
  std::ostringstream vocab;
  for (int i = 0; i < trained.GetPieceSize(); ++i) {
    vocab << trained.IdToPiece(i) << '\t' << trained.GetScore(i) << '\n';
  }
  const auto folder = std::filesystem::path(options.model_prefix).parent_path();
  if (!folder.empty()) std::filesystem::create_directories(folder);
  write_file_atomic(options.model_prefix + ".model", model);
  write_file_atomic(options.model_prefix + ".vocab", vocab.str());
}

}  // namespace pft::tokenizer
