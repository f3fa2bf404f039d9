// tokenizer.json: Hugging Face tokenizers' pipeline, component by component, with the
// library's alignment rules so that offsets agree. A normalized text is a list of code points,
// each carrying the [begin, end) byte range of the original text it came from.

#include "pft/tokenizer/hf_json.h"

#define ONIG_ESCAPE_UCHAR_COLLISION 1
#include <oniguruma.h>
#include <unicode/brkiter.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/utext.h>

#include <algorithm>
#include <bitset>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <optional>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <queue>
#include <shared_mutex>
#include <sstream>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "pft/util/error.h"
#include "tokenizer/assemble.h"
#include "tokenizer/unicode.h"

namespace pft::tokenizer {
namespace {

using json = nlohmann::json;
using u32 = std::uint32_t;

struct Span {
  u32 b = 0, e = 0;
};

// A normalized text: code points and the original byte range of each.
struct NStr {
  std::u32string c;
  std::vector<Span> a;
  void push(char32_t ch, Span s) {
    c.push_back(ch);
    a.push_back(s);
  }
  std::size_t size() const { return c.size(); }
};

// tokenizers' transform with the changes of its replace() helper (NFKC, Precompiled):
// `repl` takes the place of in[i, i + n_old). When longer, the extra characters are
// insertions aligned with the last consumed one; when shorter, the last new character
// consumes the rest, keeping the alignment of the first old one it consumes ("e" + U+0301
// -> U+00E9 maps to the "e", as tokenizers does; measured). Replace is different: see
// ReplaceNorm.
void put_replace(NStr& out, const NStr& in, std::size_t i, std::size_t n_old,
                 std::u32string_view repl) {
  const long n_new = static_cast<long>(repl.size());
  const long diff = n_new - static_cast<long>(n_old);
  std::size_t idx = i;
  Span last = i > 0 ? in.a[i - 1] : (i < in.a.size() ? in.a[i] : Span{});
  for (long k = 0; k < n_new; ++k) {
    long change = 0;
    if (diff > 0 && k >= n_new - diff) change = 1;
    if (diff < 0 && k == n_new - 1) change = diff;
    if (change > 0 || idx >= in.a.size()) {
      out.push(repl[static_cast<std::size_t>(k)], last);
    } else {
      last = in.a[idx];
      out.push(repl[static_cast<std::size_t>(k)], last);
      idx += static_cast<std::size_t>(1 - change);
    }
  }
}

// ---- errors and JSON access ------------------------------------------------------------

struct Where {
  const std::string& file;
  [[noreturn]] void fail(const std::string& path, const std::string& what) const {
    throw Error(ErrorKind::Input, file + ": " + path + ": " + what);
  }
};

std::string describe(const json& v) {
  std::string s = v.dump();
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

const json* opt(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

const json& need(const Where& w, const json& obj, const std::string& path, const char* key) {
  if (!obj.is_object()) w.fail(path, "expected an object, got " + describe(obj));
  auto it = obj.find(key);
  if (it == obj.end()) w.fail(path.empty() ? key : path + "." + key, "missing");
  return *it;
}

std::string join(const std::string& path, const char* key) {
  return path.empty() ? key : path + "." + key;
}

std::string get_str(const Where& w, const json& obj, const std::string& path, const char* key,
                    std::optional<std::string> def = std::nullopt) {
  const json* v = obj.is_object() ? opt(obj, key) : nullptr;
  if (v == nullptr) {
    if (def) return *def;
    need(w, obj, path, key);
    w.fail(join(path, key), "expected a string, got null");
  }
  if (!v->is_string()) w.fail(join(path, key), "expected a string, got " + describe(*v));
  return v->get<std::string>();
}

bool get_bool(const Where& w, const json& obj, const std::string& path, const char* key,
              bool def) {
  const json* v = opt(obj, key);
  if (v == nullptr) return def;
  if (!v->is_boolean()) w.fail(join(path, key), "expected true or false, got " + describe(*v));
  return v->get<bool>();
}

std::int64_t get_int(const Where& w, const json& obj, const std::string& path, const char* key,
                     std::optional<std::int64_t> def = std::nullopt) {
  const json* v = opt(obj, key);
  if (v == nullptr) {
    if (def) return *def;
    need(w, obj, path, key);
    w.fail(join(path, key), "expected an integer, got null");
  }
  if (!v->is_number_integer()) w.fail(join(path, key), "expected an integer, got " + describe(*v));
  return v->get<std::int64_t>();
}

char32_t one_char(const Where& w, const std::string& path, const std::string& s) {
  std::vector<unicode::DecodedChar> cs;
  if (!unicode::is_valid_utf8(s)) w.fail(path, "not UTF-8");
  unicode::decode_utf8(s, cs);
  if (cs.size() != 1) w.fail(path, "expected one character, got \"" + s + "\"");
  return cs[0].code;
}

// tokenizers reads its file with serde_json, whose default number parser is not correctly
// rounded: it collects up to 19-20 significant digits into an integer (ignoring further
// fraction digits), converts that to a double and scales it by one correctly rounded power of
// ten. A 17-digit score such as -12.130167007446289 can land one unit in the last place away
// from the nearest double, and Unigram's Viterbi then breaks ties between equal-scoring paths
// differently. Numbers are parsed here the same way, so that scores are bit-equal.
double serde_double(const std::string& text, double fallback) {
  constexpr std::uint64_t kMax = UINT64_MAX;
  const char* p = text.c_str();
  const bool negative = *p == '-';
  if (negative) ++p;
  if (*p < '0' || *p > '9') return fallback;
  std::uint64_t sig = 0;
  long exponent = 0;
  bool overflow = false;
  auto fits = [&](unsigned digit) { return !(sig >= kMax / 10 && (sig > kMax / 10 || digit > kMax % 10)); };
  for (; *p >= '0' && *p <= '9'; ++p) {  // integer part: later digits only scale
    const unsigned digit = static_cast<unsigned>(*p - '0');
    if (overflow || !fits(digit)) {
      overflow = true;
      ++exponent;
    } else {
      sig = sig * 10 + digit;
    }
  }
  if (*p == '.') {
    bool ignore = false;
    for (++p; *p >= '0' && *p <= '9'; ++p) {
      const unsigned digit = static_cast<unsigned>(*p - '0');
      if (ignore || !fits(digit)) {
        ignore = true;
        continue;
      }
      sig = sig * 10 + digit;
      --exponent;
    }
  }
  if (*p == 'e' || *p == 'E') {
    ++p;
    bool exp_negative = false;
    if (*p == '+' || *p == '-') exp_negative = *p++ == '-';
    long e = 0;
    for (; *p >= '0' && *p <= '9'; ++p) {
      e = e * 10 + (*p - '0');
      if (e > 100000) return fallback;  // serde: 0 or an error; the correctly rounded value is as good
    }
    exponent += exp_negative ? -e : e;
  }
  if (*p != '\0') return fallback;
  static const std::vector<double> pow10 = [] {
    std::vector<double> v(309);
    for (int k = 0; k <= 308; ++k) v[static_cast<std::size_t>(k)] = std::strtod(("1e" + std::to_string(k)).c_str(), nullptr);
    return v;
  }();
  double f = static_cast<double>(sig);
  while (true) {
    const long a = exponent < 0 ? -exponent : exponent;
    if (a <= 308) {
      if (exponent >= 0) f *= pow10[static_cast<std::size_t>(a)];
      else f /= pow10[static_cast<std::size_t>(a)];
      break;
    }
    if (f == 0.0 || exponent >= 0) break;
    f /= 1e308;
    exponent += 308;
  }
  if (std::isinf(f)) return fallback;
  return negative ? -f : f;
}

// nlohmann's DOM builder with serde_json's number values.
class SerdeNumbers : public nlohmann::detail::json_sax_dom_parser<json> {
 public:
  explicit SerdeNumbers(json& root) : nlohmann::detail::json_sax_dom_parser<json>(root, true) {}
  bool number_float(json::number_float_t value, const json::string_t& text) {
    return nlohmann::detail::json_sax_dom_parser<json>::number_float(serde_double(text, value), text);
  }
};

json parse_like_serde(const std::string& text) {
  json doc;
  SerdeNumbers sax(doc);
  json::sax_parse(text, &sax);
  return doc;
}

// ---- regular expressions (Oniguruma, as tokenizers) -------------------------------------

class Regex {
 public:
  Regex(const std::string& pattern, const Where& w, const std::string& path) {
    static std::once_flag once;
    std::call_once(once, [] {
      OnigEncoding enc = ONIG_ENCODING_UTF8;
      onig_initialize(&enc, 1);
    });
    OnigErrorInfo info;
    const auto* p = reinterpret_cast<const OnigUChar*>(pattern.data());
    int rc = onig_new(&re_, p, p + pattern.size(), ONIG_OPTION_CAPTURE_GROUP, ONIG_ENCODING_UTF8,
                      ONIG_SYNTAX_RUBY, &info);
    if (rc != ONIG_NORMAL) {
      OnigUChar buf[ONIG_MAX_ERROR_MESSAGE_LEN];
      onig_error_code_to_str(buf, rc, &info);
      re_ = nullptr;
      w.fail(path, "invalid regular expression \"" + pattern + "\": " +
                       reinterpret_cast<const char*>(buf));
    }
  }
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;
  ~Regex() {
    if (re_ != nullptr) onig_free(re_);
  }
  // Non-overlapping matches [begin, end) in bytes, as Rust's find_iter (an empty match
  // advances one character).
  void find_all(std::string_view text, std::vector<std::pair<u32, u32>>& out) const {
    out.clear();
    OnigRegion* region = onig_region_new();
    const auto* s = reinterpret_cast<const OnigUChar*>(text.data());
    const auto* end = s + text.size();
    std::size_t pos = 0;
    while (pos <= text.size()) {
      int r = onig_search(re_, s, end, s + pos, end, region, ONIG_OPTION_NONE);
      if (r < 0) break;
      u32 b = static_cast<u32>(region->beg[0]), e = static_cast<u32>(region->end[0]);
      if (e == b) {  // empty match: skip a character
        if (b >= text.size()) break;
        pos = b + 1;
        while (pos < text.size() && (static_cast<unsigned char>(text[pos]) & 0xC0) == 0x80) ++pos;
        continue;
      }
      out.emplace_back(b, e);
      pos = e;
    }
    onig_region_free(region, 1);
  }

 private:
  regex_t* re_ = nullptr;
};

// ---- Unicode helpers ----------------------------------------------------------------------

bool is_ws(char32_t c) { return c < 128 ? (c == ' ' || (c >= 9 && c <= 13)) : unicode::is_white_space(c); }
bool is_bert_punc(char32_t c) {
  if (c < 128) return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
  return unicode::is_punctuation(c);
}
bool is_numeric(char32_t c) {
  if (c < 128) return c >= '0' && c <= '9';
  auto t = u_charType(static_cast<UChar32>(c));
  return t == U_DECIMAL_DIGIT_NUMBER || t == U_LETTER_NUMBER || t == U_OTHER_NUMBER;
}
bool is_word_char(char32_t c) {  // Rust regex \w
  if (c < 128) return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  return u_hasBinaryProperty(static_cast<UChar32>(c), UCHAR_ALPHABETIC) ||
         u_charType(static_cast<UChar32>(c)) == U_DECIMAL_DIGIT_NUMBER ||
         u_charType(static_cast<UChar32>(c)) == U_CONNECTOR_PUNCTUATION ||
         u_getIntPropertyValue(static_cast<UChar32>(c), UCHAR_GENERAL_CATEGORY_MASK) & U_GC_M_MASK ||
         u_hasBinaryProperty(static_cast<UChar32>(c), UCHAR_JOIN_CONTROL);
}
bool is_cjk(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

void to_utf8(const NStr& s, std::size_t from, std::size_t to, std::string& out,
             std::vector<u32>* byte_to_char) {
  out.clear();
  if (byte_to_char) byte_to_char->clear();
  for (std::size_t i = from; i < to; ++i) {
    std::size_t before = out.size();
    unicode::append_utf8(s.c[i], out);
    if (byte_to_char) byte_to_char->insert(byte_to_char->end(), out.size() - before, static_cast<u32>(i - from));
  }
}

NStr slice(const NStr& s, std::size_t b, std::size_t e) {
  NStr r;
  r.c.assign(s.c.begin() + static_cast<long>(b), s.c.begin() + static_cast<long>(e));
  r.a.assign(s.a.begin() + static_cast<long>(b), s.a.begin() + static_cast<long>(e));
  return r;
}

// Rust's String::from_utf8_lossy.
std::string utf8_lossy(const std::string& bytes) {
  std::string out;
  out.reserve(bytes.size());
  std::size_t i = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::size_t n = bytes.size();
  while (i < n) {
    unsigned char c = p[i];
    if (c < 0x80) { out.push_back(static_cast<char>(c)); ++i; continue; }
    std::size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c >= 0xE0 && c <= 0xEF) { len = 3; if (c == 0xE0) lo = 0xA0; if (c == 0xED) hi = 0x9F; }
    else if (c >= 0xF0 && c <= 0xF4) { len = 4; if (c == 0xF0) lo = 0x90; if (c == 0xF4) hi = 0x8F; }
    if (len == 0) { out += "\xEF\xBF\xBD"; ++i; continue; }
    std::size_t k = 1;
    for (; k < len && i + k < n; ++k) {
      unsigned char b = p[i + k];
      unsigned char l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xBF;
      if (b < l || b > h) break;
    }
    if (k == len) { out.append(bytes, i, len); i += len; }
    else { out += "\xEF\xBF\xBD"; i += k; }
  }
  return out;
}

// GPT-2's byte <-> character table.
struct ByteTable {
  char32_t byte_char[256];
  std::unordered_map<char32_t, unsigned char> char_byte;
  ByteTable() {
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      bool keep = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
      byte_char[b] = keep ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + n++);
      char_byte[byte_char[b]] = static_cast<unsigned char>(b);
    }
  }
};
const ByteTable& bytes_table() {
  static const ByteTable t;
  return t;
}

// ---- normalizers --------------------------------------------------------------------

struct Normalizer {
  virtual ~Normalizer() = default;
  virtual void apply(NStr& s) const = 0;
};
using NormPtr = std::unique_ptr<Normalizer>;

void lowercase(NStr& s) {
  NStr out;
  out.c.reserve(s.size());
  out.a.reserve(s.size());
  std::u32string tmp;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char32_t c = s.c[i];
    if (c < 128) { out.push(c >= 'A' && c <= 'Z' ? c + 32 : c, s.a[i]); continue; }
    tmp.clear();
    unicode::append_lowercase(c, tmp);
    for (char32_t l : tmp) out.push(l, s.a[i]);
  }
  s = std::move(out);
}

// The Unicode normalization forms as tokenizers computes them, alignment included: each
// character is replaced by its full decomposition (the first character takes the source's
// place, the others are insertions after it), runs of non-starters are put in canonical
// order (stably, each keeping its change), and for the composed forms a starter absorbs the
// characters it composes with, consuming their places. The result is aligned by position:
// a character that takes a place gets the alignment of the character at that place, an
// insertion the alignment of the place before it. So "e" + U+0301 + U+0301 becomes U+00E9
// aligned with "e" (its first U+0301 consumed) and U+0301 aligned with the second U+0301.
struct NormForm {
  const icu::Normalizer2* decomp = nullptr;  // nullptr: pft's canonical tables (NFD)
  const icu::Normalizer2* compose = nullptr;  // the NFC instance for NFC/NFKC, else nullptr
};

struct Change {
  char32_t c;
  long change;
  int ccc;
};

int ccc_of(const NormForm& f, char32_t c) {
  return f.decomp == nullptr ? unicode::combining_class(c) : u_getCombiningClass(static_cast<UChar32>(c));
}

// Normalizes s[i, j) and appends it to `out`.
void normalize_segment(const NormForm& f, const NStr& s, std::size_t i, std::size_t j, NStr& out) {
  thread_local std::vector<Change> stream, dest, held;
  thread_local std::u32string d;
  stream.clear();
  for (std::size_t k = i; k < j; ++k) {
    d.clear();
    if (f.decomp == nullptr) {
      unicode::append_decomposition(s.c[k], d);
    } else {
      icu::UnicodeString m;
      if (f.decomp->getDecomposition(static_cast<UChar32>(s.c[k]), m)) {
        for (int32_t q = 0; q < m.length();) {
          const UChar32 ch = m.char32At(q);
          d.push_back(static_cast<char32_t>(ch));
          q += U16_LENGTH(ch);
        }
      } else {
        d.push_back(s.c[k]);
      }
    }
    for (std::size_t m = 0; m < d.size(); ++m) stream.push_back({d[m], m == 0 ? 0L : 1L, ccc_of(f, d[m])});
  }
  for (std::size_t p = 0; p < stream.size();) {  // canonical order
    if (stream[p].ccc == 0) {
      ++p;
      continue;
    }
    std::size_t q = p;
    while (q < stream.size() && stream[q].ccc != 0) ++q;
    std::stable_sort(stream.begin() + static_cast<long>(p), stream.begin() + static_cast<long>(q),
                     [](const Change& a, const Change& b) { return a.ccc < b.ccc; });
    p = q;
  }
  const std::vector<Change>* result = &stream;
  if (f.compose != nullptr) {
    dest.clear();
    held.clear();
    std::optional<Change> starter;
    int last_ccc = -1;  // -1: nothing held since the starter
    auto composite = [&](char32_t a, char32_t b) {
      return f.compose->composePair(static_cast<UChar32>(a), static_cast<UChar32>(b));
    };
    auto flush_held = [&] {
      dest.insert(dest.end(), held.begin(), held.end());
      held.clear();
    };
    for (const Change& x : stream) {
      if (!starter) {
        if (x.ccc != 0) dest.push_back(x);
        else starter = x;
        continue;
      }
      if (last_ccc >= 0 && last_ccc >= x.ccc) {  // blocked from the starter
        if (x.ccc == 0) {
          dest.push_back(*starter);
          flush_held();
          starter = x;
          last_ccc = -1;
        } else {
          held.push_back(x);
          last_ccc = x.ccc;
        }
        continue;
      }
      const UChar32 r = composite(starter->c, x.c);
      if (r >= 0) {
        starter = Change{static_cast<char32_t>(r), starter->change + x.change - 1, 0};
        continue;
      }
      if (last_ccc < 0 && x.ccc == 0) {
        dest.push_back(*starter);
        starter = x;
        continue;
      }
      held.push_back(x);
      last_ccc = x.ccc;
    }
    if (starter) dest.push_back(*starter);
    flush_held();
    result = &dest;
  }
  std::size_t idx = i;
  for (const Change& x : *result) {
    if (x.change > 0) {
      out.push(x.c, idx > 0 ? s.a[idx - 1] : Span{});
    } else {
      out.push(x.c, s.a[std::min(idx, j - 1)]);
      idx += static_cast<std::size_t>(1 - x.change);
    }
  }
}

void nfd(NStr& s) {
  bool ascii = std::all_of(s.c.begin(), s.c.end(), [](char32_t c) { return c < 0xC0; });
  if (ascii) return;
  NStr out;
  out.c.reserve(s.size() + 8);
  out.a.reserve(s.size() + 8);
  normalize_segment(NormForm{}, s, 0, s.size(), out);
  s = std::move(out);
}

void strip_marks(NStr& s) {
  NStr out;
  for (std::size_t i = 0; i < s.size(); ++i)
    if (s.c[i] < 0x300 || !unicode::is_mark_nonspacing(s.c[i])) out.push(s.c[i], s.a[i]);
  s = std::move(out);
}

struct BertNorm : Normalizer {
  bool clean = true, chinese = true, lower = true;
  std::optional<bool> accents;
  void apply(NStr& s) const override {
    NStr out;
    out.c.reserve(s.size() + 8);
    out.a.reserve(s.size() + 8);
    for (std::size_t i = 0; i < s.size(); ++i) {
      char32_t c = s.c[i];
      if (clean) {
        if (c == 0 || c == 0xFFFD) continue;
        if (c != '\t' && c != '\n' && c != '\r' && (c < 32 || (c >= 127 && unicode::is_other(c)))) continue;
        if (is_ws(c)) c = ' ';
      }
      if (chinese && c >= 0x3400 && is_cjk(c)) {
        out.push(' ', s.a[i]);
        out.push(c, s.a[i]);
        out.push(' ', s.a[i]);
      } else {
        out.push(c, s.a[i]);
      }
    }
    s = std::move(out);
    if (accents.value_or(lower)) {
      nfd(s);
      strip_marks(s);
    }
    if (lower) lowercase(s);
  }
};

struct IcuNorm : Normalizer {
  const icu::Normalizer2* norm = nullptr;  // decides segments and which are already normal
  NormForm form;
  bool decompose_own = false;  // NFD: pft's tables (the Unicode version tokenizers uses)
  void apply(NStr& s) const override {
    if (decompose_own) return nfd(s);
    if (std::all_of(s.c.begin(), s.c.end(), [](char32_t c) { return c < 0xA0; })) return;
    UErrorCode err = U_ZERO_ERROR;
    NStr out;
    out.c.reserve(s.size() + 8);
    out.a.reserve(s.size() + 8);
    std::size_t i = 0;
    icu::UnicodeString seg;
    while (i < s.size()) {
      std::size_t j = i + 1;
      while (j < s.size() && !norm->hasBoundaryBefore(static_cast<UChar32>(s.c[j]))) ++j;
      seg.remove();
      for (std::size_t k = i; k < j; ++k) seg.append(static_cast<UChar32>(s.c[k]));
      if (norm->isNormalized(seg, err) && U_SUCCESS(err)) {
        for (std::size_t k = i; k < j; ++k) out.push(s.c[k], s.a[k]);
      } else {
        err = U_ZERO_ERROR;
        normalize_segment(form, s, i, j, out);
      }
      i = j;
    }
    s = std::move(out);
  }
};

struct LowerNorm : Normalizer {
  void apply(NStr& s) const override { lowercase(s); }
};
struct StripAccentsNorm : Normalizer {
  void apply(NStr& s) const override { strip_marks(s); }
};
struct StripNorm : Normalizer {
  bool left = true, right = true;
  void apply(NStr& s) const override {
    std::size_t b = 0, e = s.size();
    if (left) while (b < e && is_ws(s.c[b])) ++b;
    if (right) while (e > b && is_ws(s.c[e - 1])) --e;
    if (b != 0 || e != s.size()) s = slice(s, b, e);
  }
};

// A pattern: a literal string or an Oniguruma regex, matched on a normalized text.
struct Pattern {
  std::string literal;
  std::unique_ptr<Regex> regex;
  // Matches as [begin, end) character indices of s[from, to).
  void find(const NStr& s, std::size_t from, std::size_t to, std::vector<std::pair<u32, u32>>& out) const {
    thread_local std::string text;
    thread_local std::vector<u32> b2c;
    to_utf8(s, from, to, text, &b2c);
    out.clear();
    if (regex) {
      regex->find_all(text, out);
    } else if (!literal.empty()) {
      std::size_t pos = 0;
      while ((pos = text.find(literal, pos)) != std::string::npos) {
        out.emplace_back(static_cast<u32>(pos), static_cast<u32>(pos + literal.size()));
        pos += literal.size();
      }
    }
    for (auto& m : out) {
      u32 cb = m.first < b2c.size() ? b2c[m.first] : static_cast<u32>(to - from);
      u32 ce = m.second < b2c.size() ? b2c[m.second] : static_cast<u32>(to - from);
      m = {cb, ce};
    }
  }
};

Pattern read_pattern(const Where& w, const json& obj, const std::string& path) {
  const json& p = need(w, obj, path, "pattern");
  const std::string pp = join(path, "pattern");
  Pattern r;
  if (!p.is_object()) w.fail(pp, "expected {\"String\": ...} or {\"Regex\": ...}, got " + describe(p));
  if (const json* s = opt(p, "String")) {
    if (!s->is_string()) w.fail(pp + ".String", "expected a string, got " + describe(*s));
    r.literal = s->get<std::string>();
  } else if (const json* re = opt(p, "Regex")) {
    if (!re->is_string()) w.fail(pp + ".Regex", "expected a string, got " + describe(*re));
    r.regex = std::make_unique<Regex>(re->get<std::string>(), w, pp + ".Regex");
  } else {
    w.fail(pp, "expected {\"String\": ...} or {\"Regex\": ...}, got " + describe(p));
  }
  return r;
}

std::u32string u32_of(const std::string& s) {
  std::vector<unicode::DecodedChar> cs;
  unicode::decode_utf8(s, cs);
  std::u32string r;
  for (auto& c : cs) r.push_back(c.code);
  return r;
}

struct ReplaceNorm : Normalizer {
  Pattern pattern;
  std::u32string content;
  void apply(NStr& s) const override {
    std::vector<std::pair<u32, u32>> m;
    pattern.find(s, 0, s.size(), m);
    if (m.empty()) return;
    NStr out;
    std::size_t pos = 0;
    for (auto [b, e] : m) {
      for (; pos < b; ++pos) out.push(s.c[pos], s.a[pos]);
      // tokenizers removes the match, then inserts the content: every new character takes
      // the alignment of the match's last one.
      for (char32_t c : content) out.push(c, s.a[e - 1]);
      pos = e;
    }
    for (; pos < s.size(); ++pos) out.push(s.c[pos], s.a[pos]);
    s = std::move(out);
  }
};

void prepend(NStr& s, const std::u32string& p) {
  if (s.size() == 0 || p.empty()) return;
  NStr out;
  for (char32_t c : p) out.push(c, s.a[0]);
  out.c += s.c;
  out.a.insert(out.a.end(), s.a.begin(), s.a.end());
  s = std::move(out);
}

struct PrependNorm : Normalizer {
  std::u32string text;
  void apply(NStr& s) const override { prepend(s, text); }
};

struct SeqNorm : Normalizer {
  std::vector<NormPtr> items;
  void apply(NStr& s) const override {
    for (auto& n : items) n->apply(s);
  }
};

// SentencePiece's precompiled charsmap: a darts-clone double array over UTF-8 and the
// replacement strings, applied per grapheme cluster as tokenizers' Precompiled does.
struct PrecompiledNorm : Normalizer {
  std::vector<u32> units;
  std::string normalized;

  // The first (shortest) match of a prefix of `key`, as an offset into `normalized`.
  std::optional<std::string_view> transform(std::string_view key) const {
    if (units.empty()) return std::nullopt;
    auto offset = [](u32 u) { return (u >> 10) << ((u & (1u << 9)) >> 6); };
    auto label = [](u32 u) { return u & ((1u << 31) | 0xFF); };
    auto has_leaf = [](u32 u) { return ((u >> 8) & 1) == 1; };
    auto value = [](u32 u) { return u & ((1u << 31) - 1); };
    std::size_t node = 0;
    u32 unit = units[0];
    node ^= offset(unit);
    for (unsigned char ch : key) {
      node ^= ch;
      if (node >= units.size()) return std::nullopt;
      unit = units[node];
      if (label(unit) != ch) return std::nullopt;
      node ^= offset(unit);
      if (has_leaf(unit)) {
        if (node >= units.size()) return std::nullopt;
        std::size_t v = value(units[node]);
        if (v >= normalized.size()) return std::nullopt;
        std::size_t end = normalized.find('\0', v);
        if (end == std::string::npos) end = normalized.size();
        return std::string_view(normalized).substr(v, end - v);
      }
    }
    return std::nullopt;
  }

  void apply(NStr& s) const override {
    if (s.size() == 0) return;
    std::string text;
    std::vector<u32> b2c;
    to_utf8(s, 0, s.size(), text, &b2c);
    // grapheme boundaries (character indices)
    std::vector<u32> bounds;
    bool ascii = std::all_of(s.c.begin(), s.c.end(), [](char32_t c) { return c < 128; });
    if (ascii) {
      for (u32 i = 0; i < s.size(); ++i)
        if (!(i > 0 && s.c[i] == '\n' && s.c[i - 1] == '\r')) bounds.push_back(i);
    } else {
      UErrorCode err = U_ZERO_ERROR;
      UText* ut = utext_openUTF8(nullptr, text.data(), static_cast<int64_t>(text.size()), &err);
      std::unique_ptr<icu::BreakIterator> bi(icu::BreakIterator::createCharacterInstance(icu::Locale::getRoot(), err));
      if (U_FAILURE(err)) throw Error(ErrorKind::Runtime, "ICU grapheme iterator: " + std::string(u_errorName(err)));
      bi->setText(ut, err);
      for (int32_t p = bi->first(); p != icu::BreakIterator::DONE && static_cast<std::size_t>(p) < text.size(); p = bi->next())
        bounds.push_back(b2c[static_cast<std::size_t>(p)]);
      utext_close(ut);
    }
    bounds.push_back(static_cast<u32>(s.size()));
    NStr out;
    out.c.reserve(s.size());
    out.a.reserve(s.size());
    std::string part;
    for (std::size_t g = 0; g + 1 < bounds.size(); ++g) {
      std::size_t b = bounds[g], e = bounds[g + 1];
      to_utf8(s, b, e, part, nullptr);
      if (part.size() < 6) {
        if (auto t = transform(part)) {
          put_replace(out, s, b, e - b, u32_of(std::string(*t)));
          continue;
        }
      }
      for (std::size_t k = b; k < e; ++k) {
        part.clear();
        unicode::append_utf8(s.c[k], part);
        if (auto t = transform(part)) put_replace(out, s, k, 1, u32_of(std::string(*t)));
        else out.push(s.c[k], s.a[k]);
      }
    }
    s = std::move(out);
  }
};

std::string base64_decode(const Where& w, const std::string& path, const std::string& in) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  int bits = 0, acc = 0;
  for (char c : in) {
    if (c == '=') break;
    int v = val(c);
    if (v < 0) w.fail(path, "not base64");
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

NormPtr read_normalizer(const Where& w, const json& j, const std::string& path) {
  const std::string type = get_str(w, j, path, "type");
  if (type == "BertNormalizer") {
    auto n = std::make_unique<BertNorm>();
    n->clean = get_bool(w, j, path, "clean_text", true);
    n->chinese = get_bool(w, j, path, "handle_chinese_chars", true);
    n->lower = get_bool(w, j, path, "lowercase", true);
    if (const json* a = opt(j, "strip_accents")) {
      if (!a->is_boolean()) w.fail(join(path, "strip_accents"), "expected true, false or null, got " + describe(*a));
      n->accents = a->get<bool>();
    }
    return n;
  }
  if (type == "NFD" || type == "NFC" || type == "NFKC" || type == "NFKD") {
    auto n = std::make_unique<IcuNorm>();
    UErrorCode err = U_ZERO_ERROR;
    const icu::Normalizer2* nfc = icu::Normalizer2::getNFCInstance(err);
    if (type == "NFD") n->decompose_own = true;
    else if (type == "NFC") n->norm = nfc, n->form = {nfc, nfc};
    else if (type == "NFKC") n->norm = icu::Normalizer2::getNFKCInstance(err), n->form = {n->norm, nfc};
    else n->norm = icu::Normalizer2::getNFKDInstance(err), n->form = {n->norm, nullptr};
    if (U_FAILURE(err)) w.fail(path, "ICU has no " + type + " data");
    return n;
  }
  if (type == "Lowercase") return std::make_unique<LowerNorm>();
  if (type == "StripAccents") return std::make_unique<StripAccentsNorm>();
  if (type == "Strip") {
    auto n = std::make_unique<StripNorm>();
    n->left = get_bool(w, j, path, "strip_left", true);
    n->right = get_bool(w, j, path, "strip_right", true);
    return n;
  }
  if (type == "Replace") {
    auto n = std::make_unique<ReplaceNorm>();
    n->pattern = read_pattern(w, j, path);
    n->content = u32_of(get_str(w, j, path, "content"));
    return n;
  }
  if (type == "Prepend") {
    auto n = std::make_unique<PrependNorm>();
    n->text = u32_of(get_str(w, j, path, "prepend"));
    return n;
  }
  if (type == "Precompiled") {
    auto n = std::make_unique<PrecompiledNorm>();
    const json* m = opt(j, "precompiled_charsmap");
    if (m == nullptr) return std::make_unique<SeqNorm>();  // tokenizers: an empty map does nothing
    if (!m->is_string()) w.fail(join(path, "precompiled_charsmap"), "expected a base64 string, got " + describe(*m));
    std::string blob = base64_decode(w, join(path, "precompiled_charsmap"), m->get<std::string>());
    if (blob.size() < 4) w.fail(join(path, "precompiled_charsmap"), "too short");
    u32 trie_size = 0;
    for (int k = 3; k >= 0; --k) trie_size = (trie_size << 8) | static_cast<unsigned char>(blob[static_cast<std::size_t>(k)]);
    if (trie_size % 4 != 0 || trie_size > blob.size() - 4)
      w.fail(join(path, "precompiled_charsmap"), "corrupt: trie size " + std::to_string(trie_size) + " past the data");
    n->units.resize(trie_size / 4);
    std::memcpy(n->units.data(), blob.data() + 4, trie_size);
    n->normalized = blob.substr(4 + trie_size);
    return n;
  }
  if (type == "Sequence") {
    auto n = std::make_unique<SeqNorm>();
    const json& items = need(w, j, path, "normalizers");
    if (!items.is_array()) w.fail(join(path, "normalizers"), "expected a list");
    for (std::size_t i = 0; i < items.size(); ++i)
      n->items.push_back(read_normalizer(w, items[i], join(path, "normalizers") + "[" + std::to_string(i) + "]"));
    return n;
  }
  w.fail(join(path, "type"), "unsupported \"" + type + "\"");
}

// ---- pre-tokenizers ------------------------------------------------------------------

enum class Behavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

Behavior read_behavior(const Where& w, const json& j, const std::string& path, Behavior def) {
  const json* b = opt(j, "behavior");
  if (b == nullptr) return def;
  const std::string s = b->is_string() ? b->get<std::string>() : "";
  if (s == "Removed") return Behavior::Removed;
  if (s == "Isolated") return Behavior::Isolated;
  if (s == "MergedWithPrevious") return Behavior::MergedWithPrevious;
  if (s == "MergedWithNext") return Behavior::MergedWithNext;
  if (s == "Contiguous") return Behavior::Contiguous;
  w.fail(join(path, "behavior"), "unsupported " + describe(*b));
}

// A piece of the text: a range of one normalized string.
struct Split {
  std::size_t b, e;
};

// tokenizers' NormalizedString::split: matches ([begin, end) in the piece) -> new pieces.
void split_by(const std::vector<std::pair<u32, u32>>& m, std::size_t len, Behavior beh, bool invert,
              std::size_t base, std::vector<Split>& out) {
  thread_local std::vector<std::tuple<u32, u32, bool>> all;
  all.clear();
  u32 pos = 0;
  for (auto [b, e] : m) {
    if (b > pos) all.emplace_back(pos, b, invert);
    all.emplace_back(b, e, !invert);
    pos = e;
  }
  if (pos < len) all.emplace_back(pos, static_cast<u32>(len), invert);
  auto emit = [&](u32 b, u32 e) {
    if (e > b) out.push_back({base + b, base + e});
  };
  switch (beh) {
    case Behavior::Removed:
      for (auto& [b, e, mt] : all)
        if (!mt) emit(b, e);
      break;
    case Behavior::Isolated:
      for (auto& [b, e, mt] : all) emit(b, e);
      break;
    case Behavior::MergedWithPrevious: {
      bool prev = false;
      std::vector<std::pair<u32, u32>> acc;
      for (auto& [b, e, mt] : all) {
        if (mt && !prev && !acc.empty()) acc.back().second = e;
        else acc.emplace_back(b, e);
        prev = mt;
      }
      for (auto& [b, e] : acc) emit(b, e);
      break;
    }
    case Behavior::MergedWithNext: {
      bool prev = false;
      std::vector<std::pair<u32, u32>> acc;
      for (auto it = all.rbegin(); it != all.rend(); ++it) {
        auto& [b, e, mt] = *it;
        if (mt && !prev && !acc.empty()) acc.back().first = b;
        else acc.emplace_back(b, e);
        prev = mt;
      }
      for (auto it = acc.rbegin(); it != acc.rend(); ++it) emit(it->first, it->second);
      break;
    }
    case Behavior::Contiguous: {
      bool prev = false;
      std::vector<std::pair<u32, u32>> acc;
      for (auto& [b, e, mt] : all) {
        if (mt == prev && !acc.empty()) acc.back().second = e;
        else acc.emplace_back(b, e);
        prev = mt;
      }
      for (auto& [b, e] : acc) emit(b, e);
      break;
    }
  }
}

// Pieces are kept as separate normalized strings (a pre-tokenizer may rewrite them).
struct PreTokenizer {
  virtual ~PreTokenizer() = default;
  virtual void apply(std::vector<NStr>& pieces) const = 0;
};
using PrePtr = std::unique_ptr<PreTokenizer>;

template <class F>
void split_chars(std::vector<NStr>& pieces, F pred, Behavior beh, bool invert) {
  std::vector<NStr> out;
  std::vector<std::pair<u32, u32>> m;
  std::vector<Split> sp;
  for (auto& p : pieces) {
    m.clear();
    for (u32 i = 0; i < p.size(); ++i)
      if (pred(p.c[i])) m.emplace_back(i, i + 1);
    sp.clear();
    split_by(m, p.size(), beh, invert, 0, sp);
    if (sp.size() == 1 && sp[0].b == 0 && sp[0].e == p.size()) { out.push_back(std::move(p)); continue; }
    for (auto& s : sp) out.push_back(slice(p, s.b, s.e));
  }
  pieces = std::move(out);
}

void split_pattern(std::vector<NStr>& pieces, const Pattern& pat, Behavior beh, bool invert) {
  std::vector<NStr> out;
  std::vector<std::pair<u32, u32>> m;
  std::vector<Split> sp;
  for (auto& p : pieces) {
    pat.find(p, 0, p.size(), m);
    sp.clear();
    split_by(m, p.size(), beh, invert, 0, sp);
    if (sp.size() == 1 && sp[0].b == 0 && sp[0].e == p.size()) { out.push_back(std::move(p)); continue; }
    for (auto& s : sp) out.push_back(slice(p, s.b, s.e));
  }
  pieces = std::move(out);
}

struct BertPre : PreTokenizer {
  void apply(std::vector<NStr>& pieces) const override {
    split_chars(pieces, is_ws, Behavior::Removed, false);
    split_chars(pieces, is_bert_punc, Behavior::Isolated, false);
  }
};
struct WhitespaceSplitPre : PreTokenizer {
  void apply(std::vector<NStr>& pieces) const override { split_chars(pieces, is_ws, Behavior::Removed, false); }
};
struct PunctuationPre : PreTokenizer {
  Behavior beh = Behavior::Isolated;
  void apply(std::vector<NStr>& pieces) const override { split_chars(pieces, is_bert_punc, beh, false); }
};
struct DigitsPre : PreTokenizer {
  bool individual = false;
  void apply(std::vector<NStr>& pieces) const override {
    split_chars(pieces, is_numeric, individual ? Behavior::Isolated : Behavior::Contiguous, false);
  }
};
struct WhitespacePre : PreTokenizer {  // \w+|[^\w\s]+
  void apply(std::vector<NStr>& pieces) const override {
    std::vector<NStr> out;
    for (auto& p : pieces) {
      std::size_t i = 0;
      while (i < p.size()) {
        if (is_ws(p.c[i])) { ++i; continue; }
        bool w = is_word_char(p.c[i]);
        std::size_t j = i + 1;
        while (j < p.size() && !is_ws(p.c[j]) && is_word_char(p.c[j]) == w) ++j;
        out.push_back(slice(p, i, j));
        i = j;
      }
    }
    pieces = std::move(out);
  }
};
enum class PrependScheme { First, Always, Never };
struct MetaspacePre : PreTokenizer {
  char32_t replacement = 0x2581;
  PrependScheme scheme = PrependScheme::Always;
  bool split = true;
  void apply(std::vector<NStr>& pieces) const override {
    for (auto& p : pieces) {
      for (auto& c : p.c)
        if (c == ' ') c = replacement;
      if (p.size() > 0 && p.c[0] != replacement &&
          (scheme == PrependScheme::Always || (scheme == PrependScheme::First && p.a[0].b == 0)))
        prepend(p, std::u32string(1, replacement));
    }
    if (split) {
      char32_t r = replacement;
      split_chars(pieces, [r](char32_t c) { return c == r; }, Behavior::MergedWithNext, false);
    }
  }
};
const char* kGpt2Pattern = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
struct ByteLevelPre : PreTokenizer {
  bool prefix_space = true, use_regex = true;
  std::unique_ptr<Pattern> pattern;
  void apply(std::vector<NStr>& pieces) const override {
    if (prefix_space)
      for (auto& p : pieces)
        if (p.size() > 0 && p.c[0] != ' ') prepend(p, U" ");
    if (use_regex) split_pattern(pieces, *pattern, Behavior::Isolated, false);
    const auto& t = bytes_table();
    std::string tmp;
    for (auto& p : pieces) {
      NStr out;
      out.c.reserve(p.size());
      out.a.reserve(p.size());
      for (std::size_t i = 0; i < p.size(); ++i) {
        if (p.c[i] < 128) { out.push(t.byte_char[p.c[i]], p.a[i]); continue; }
        tmp.clear();
        unicode::append_utf8(p.c[i], tmp);
        for (unsigned char b : tmp) out.push(t.byte_char[b], p.a[i]);
      }
      p = std::move(out);
    }
  }
};
struct SplitPre : PreTokenizer {
  Pattern pattern;
  Behavior beh = Behavior::Isolated;
  bool invert = false;
  void apply(std::vector<NStr>& pieces) const override { split_pattern(pieces, pattern, beh, invert); }
};
struct SeqPre : PreTokenizer {
  std::vector<PrePtr> items;
  void apply(std::vector<NStr>& pieces) const override {
    for (auto& p : items) p->apply(pieces);
  }
};

PrependScheme read_scheme(const Where& w, const json& j, const std::string& path) {
  const json* s = opt(j, "prepend_scheme");
  if (s == nullptr) {
    return get_bool(w, j, path, "add_prefix_space", true) ? PrependScheme::Always : PrependScheme::Never;
  }
  std::string v = s->is_string() ? s->get<std::string>() : "";
  if (v == "first") return PrependScheme::First;
  if (v == "always") return PrependScheme::Always;
  if (v == "never") return PrependScheme::Never;
  w.fail(join(path, "prepend_scheme"), "unsupported " + describe(*s));
}

PrePtr read_pre(const Where& w, const json& j, const std::string& path) {
  const std::string type = get_str(w, j, path, "type");
  if (type == "BertPreTokenizer") return std::make_unique<BertPre>();
  if (type == "Whitespace") return std::make_unique<WhitespacePre>();
  if (type == "WhitespaceSplit") return std::make_unique<WhitespaceSplitPre>();
  if (type == "Punctuation") {
    auto p = std::make_unique<PunctuationPre>();
    p->beh = read_behavior(w, j, path, Behavior::Isolated);
    return p;
  }
  if (type == "Digits") {
    auto p = std::make_unique<DigitsPre>();
    p->individual = get_bool(w, j, path, "individual_digits", false);
    return p;
  }
  if (type == "Metaspace") {
    auto p = std::make_unique<MetaspacePre>();
    p->replacement = one_char(w, join(path, "replacement"), get_str(w, j, path, "replacement", "\u2581"));
    p->scheme = read_scheme(w, j, path);
    p->split = get_bool(w, j, path, "split", true);
    return p;
  }
  if (type == "ByteLevel") {
    auto p = std::make_unique<ByteLevelPre>();
    p->prefix_space = get_bool(w, j, path, "add_prefix_space", true);
    p->use_regex = get_bool(w, j, path, "use_regex", true);
    p->pattern = std::make_unique<Pattern>();
    p->pattern->regex = std::make_unique<Regex>(kGpt2Pattern, w, path);
    return p;
  }
  if (type == "Split") {
    auto p = std::make_unique<SplitPre>();
    p->pattern = read_pattern(w, j, path);
    p->beh = read_behavior(w, j, path, Behavior::Isolated);
    if (!opt(j, "behavior")) need(w, j, path, "behavior");
    p->invert = get_bool(w, j, path, "invert", false);
    return p;
  }
  if (type == "Sequence") {
    auto p = std::make_unique<SeqPre>();
    const json& items = need(w, j, path, "pretokenizers");
    if (!items.is_array()) w.fail(join(path, "pretokenizers"), "expected a list");
    for (std::size_t i = 0; i < items.size(); ++i)
      p->items.push_back(read_pre(w, items[i], join(path, "pretokenizers") + "[" + std::to_string(i) + "]"));
    return p;
  }
  w.fail(join(path, "type"), "unsupported \"" + type + "\"");
}

// ---- models --------------------------------------------------------------------------

// A model token: id and [begin, end) byte range in the UTF-8 of its piece.
struct Tok {
  std::int32_t id;
  u32 b, e;
};

struct Vocab {
  std::vector<std::string> tokens;                        // id -> token ("" when unused)
  std::unordered_map<std::string_view, std::int32_t> ids;  // views into `tokens`
  std::int32_t find(std::string_view s) const {
    auto it = ids.find(s);
    return it == ids.end() ? -1 : it->second;
  }
};

struct Model {
  Vocab vocab;
  // Unigram names an unknown piece by its own text (tokenizers' Token value), not "<unk>".
  std::int32_t unk_keeps_text = -1;
  virtual ~Model() = default;
  virtual void tokenize(std::string_view word, std::vector<Tok>& out) const = 0;
};

struct WordPieceModel : Model {
  std::string prefix = "##";
  std::int32_t unk = -1;
  std::size_t max_chars = 100;
  void tokenize(std::string_view word, std::vector<Tok>& out) const override {
    std::size_t nchars = 0;
    for (unsigned char ch : word) nchars += (ch & 0xC0) != 0x80;
    const u32 len = static_cast<u32>(word.size());
    if (nchars > max_chars) { out.push_back({unk, 0, len}); return; }
    const std::size_t mark = out.size();
    thread_local std::string buf;
    std::size_t start = 0;
    while (start < word.size()) {
      std::size_t end = word.size();
      std::int32_t found = -1;
      while (start < end) {
        std::string_view sub = word.substr(start, end - start);
        if (start > 0) {
          buf.assign(prefix);
          buf.append(sub);
          sub = buf;
        }
        found = vocab.find(sub);
        if (found >= 0) break;
        --end;
        while (end > start && (static_cast<unsigned char>(word[end]) & 0xC0) == 0x80) --end;
      }
      if (found < 0) {
        out.resize(mark);
        out.push_back({unk, 0, len});
        return;
      }
      out.push_back({found, static_cast<u32>(start), static_cast<u32>(end)});
      start = end;
    }
  }
};

struct PairHash {
  std::size_t operator()(std::uint64_t k) const { return std::hash<std::uint64_t>()(k * 0x9E3779B97F4A7C15ull); }
};

struct BpeModel : Model {
  std::unordered_map<std::uint64_t, std::pair<std::int32_t, std::int32_t>, PairHash> merges;  // (a,b) -> (rank, new id)
  std::string prefix, suffix;
  std::int32_t unk = -1;
  bool fuse_unk = false, byte_fallback = false, ignore_merges = false;
  std::int32_t byte_ids[256];
  bool have_bytes = false;
  mutable std::shared_mutex cache_mutex;
  struct TextHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view v) const { return std::hash<std::string_view>{}(v); }
  };
  mutable std::unordered_map<std::string, std::vector<Tok>, TextHash, std::equal_to<>> cache;
  static constexpr std::size_t kCacheCapacity = 100000;

  static std::uint64_t key(std::int32_t a, std::int32_t b) {
    return (static_cast<std::uint64_t>(static_cast<u32>(a)) << 32) | static_cast<u32>(b);
  }

  void tokenize(std::string_view word, std::vector<Tok>& out) const override {
    if (word.empty()) return;
    if (word.size() < 64) {
      std::shared_lock<std::shared_mutex> lock(cache_mutex);
      auto it = cache.find(word);
      if (it != cache.end()) {
        out.insert(out.end(), it->second.begin(), it->second.end());
        return;
      }
    }
    const std::size_t mark = out.size();
    compute(word, out);
    if (word.size() < 64) {
      std::unique_lock<std::shared_mutex> lock(cache_mutex);
      if (cache.size() < kCacheCapacity)
        cache.emplace(std::string(word), std::vector<Tok>(out.begin() + static_cast<long>(mark), out.end()));
    }
  }

  void compute(std::string_view w, std::vector<Tok>& out) const {
    if (ignore_merges) {
      std::int32_t id = vocab.find(w);
      if (id >= 0) { out.push_back({id, 0, static_cast<u32>(w.size())}); return; }
    }
    struct Sym {
      std::int32_t id;
      u32 b, e;
      int prev, next;
    };
    std::vector<Sym> syms;
    std::string s;
    std::optional<std::pair<u32, u32>> pending_unk;  // byte range
    auto add = [&](std::int32_t id, u32 b, u32 e) { syms.push_back({id, b, e, 0, 0}); };
    auto flush_unk = [&] {
      if (pending_unk) add(unk, pending_unk->first, pending_unk->second);
      pending_unk.reset();
    };
    std::size_t i = 0;
    while (i < w.size()) {
      std::size_t end = i + 1;
      while (end < w.size() && (static_cast<unsigned char>(w[end]) & 0xC0) == 0x80) ++end;
      std::string_view ch = w.substr(i, end - i);
      std::string_view look = ch;
      if ((i > 0 && !prefix.empty()) || (end == w.size() && !suffix.empty())) {
        s.clear();
        if (i > 0) s += prefix;
        s.append(ch);
        if (end == w.size()) s += suffix;
        look = s;
      }
      std::int32_t id = vocab.find(look);
      if (id >= 0) {
        flush_unk();
        add(id, static_cast<u32>(i), static_cast<u32>(end));
      } else {
        bool done = false;
        if (byte_fallback && have_bytes) {
          bool all = true;
          for (unsigned char b : look) all = all && byte_ids[b] >= 0;
          if (all) {
            flush_unk();
            u32 pos = static_cast<u32>(i);
            for (unsigned char b : look) {
              add(byte_ids[b], pos, std::min<u32>(pos + 1, static_cast<u32>(end)));
              pos = std::min<u32>(pos + 1, static_cast<u32>(end));
            }
            done = true;
          }
        }
        if (!done && unk >= 0) {
          if (pending_unk && fuse_unk) pending_unk->second = static_cast<u32>(end);
          else {
            flush_unk();
            pending_unk = std::make_pair(static_cast<u32>(i), static_cast<u32>(end));
          }
        }
      }
      i = end;
    }
    flush_unk();
    const int n = static_cast<int>(syms.size());
    for (int k = 0; k < n; ++k) {
      syms[static_cast<std::size_t>(k)].prev = k - 1;
      syms[static_cast<std::size_t>(k)].next = k + 1 < n ? k + 1 : -1;
    }
    struct Cand {
      std::int32_t rank;
      int pos;
      std::int32_t new_id;
      bool operator<(const Cand& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
    };
    std::priority_queue<Cand> q;
    auto consider = [&](int a) {
      if (a < 0) return;
      int b = syms[static_cast<std::size_t>(a)].next;
      if (b < 0) return;
      auto it = merges.find(key(syms[static_cast<std::size_t>(a)].id, syms[static_cast<std::size_t>(b)].id));
      if (it != merges.end()) q.push({it->second.first, a, it->second.second});
    };
    for (int k = 0; k + 1 < n; ++k) consider(k);
    std::vector<bool> dead(static_cast<std::size_t>(n), false);
    while (!q.empty()) {
      Cand c = q.top();
      q.pop();
      auto& a = syms[static_cast<std::size_t>(c.pos)];
      if (dead[static_cast<std::size_t>(c.pos)] || a.next < 0) continue;
      auto& b = syms[static_cast<std::size_t>(a.next)];
      auto it = merges.find(key(a.id, b.id));
      if (it == merges.end() || it->second.second != c.new_id) continue;
      a.id = c.new_id;
      a.e = b.e;
      dead[static_cast<std::size_t>(a.next)] = true;
      a.next = b.next;
      if (a.next >= 0) syms[static_cast<std::size_t>(a.next)].prev = c.pos;
      consider(a.prev);
      consider(c.pos);
    }
    for (int k = 0; k >= 0 && k < n; k = syms[static_cast<std::size_t>(k)].next)
      out.push_back({syms[static_cast<std::size_t>(k)].id, syms[static_cast<std::size_t>(k)].b, syms[static_cast<std::size_t>(k)].e});
  }
};

// The vocabulary's pieces as a byte trie: children of a node are contiguous and sorted by
// byte, so that the Viterbi pass walks each start position once instead of hashing every
// substring.
struct PieceTrie {
  std::vector<std::int32_t> first;   // node -> index of its first child
  std::vector<std::int32_t> count;   // node -> number of children
  std::vector<unsigned char> byte;   // node -> the byte on the edge into it
  std::vector<std::int32_t> id;      // node -> vocabulary id of the piece ending here, or -1

  void build(const Vocab& v) {
    std::vector<std::int32_t> order;
    for (std::size_t i = 0; i < v.tokens.size(); ++i)
      if (!v.tokens[i].empty()) order.push_back(static_cast<std::int32_t>(i));
    std::sort(order.begin(), order.end(), [&](std::int32_t a, std::int32_t b) {
      return v.tokens[static_cast<std::size_t>(a)] < v.tokens[static_cast<std::size_t>(b)];
    });
    struct Item {
      std::size_t lo, hi, depth;
      std::int32_t node;
    };
    first.assign(1, 0);
    count.assign(1, 0);
    byte.assign(1, 0);
    id.assign(1, -1);
    std::vector<Item> queue{{0, order.size(), 0, 0}};
    for (std::size_t q = 0; q < queue.size(); ++q) {
      Item it = queue[q];
      auto tok = [&](std::size_t k) -> const std::string& { return v.tokens[static_cast<std::size_t>(order[k])]; };
      while (it.lo < it.hi && tok(it.lo).size() == it.depth) {  // the piece ending here (first one wins, as Vocab::find)
        if (id[static_cast<std::size_t>(it.node)] < 0) id[static_cast<std::size_t>(it.node)] = v.find(tok(it.lo));
        ++it.lo;
      }
      first[static_cast<std::size_t>(it.node)] = static_cast<std::int32_t>(id.size());
      std::size_t k = it.lo;
      while (k < it.hi) {
        const unsigned char c = static_cast<unsigned char>(tok(k)[it.depth]);
        std::size_t e = k + 1;
        while (e < it.hi && static_cast<unsigned char>(tok(e)[it.depth]) == c) ++e;
        const auto child = static_cast<std::int32_t>(id.size());
        first.push_back(0);
        count.push_back(0);
        byte.push_back(c);
        id.push_back(-1);
        ++count[static_cast<std::size_t>(it.node)];
        queue.push_back({k, e, it.depth + 1, child});
        k = e;
      }
    }
  }

  // The child of `node` along byte `c`, or -1.
  std::int32_t child(std::int32_t node, unsigned char c) const {
    const auto* b = byte.data() + first[static_cast<std::size_t>(node)];
    const auto* e = b + count[static_cast<std::size_t>(node)];
    const auto* it = std::lower_bound(b, e, c);
    return it != e && *it == c ? static_cast<std::int32_t>(it - byte.data()) : -1;
  }
};

struct UnigramModel : Model {
  std::vector<double> scores;
  std::int32_t unk = -1;
  bool byte_fallback = false;
  double min_score = 0;
  std::int32_t byte_ids[256];
  bool have_bytes = false;
  PieceTrie trie;
  void tokenize(std::string_view s, std::vector<Tok>& out) const override {
    const std::size_t n = s.size();
    if (n == 0) return;
    struct Node {
      std::int32_t id = -1;
      double score = 0;
      long start = -1;
    };
    thread_local std::vector<Node> best;
    best.assign(n + 1, Node{});
    best[0].start = 0;
    const double unk_score = min_score - 10.0;
    std::size_t pos = 0;
    while (pos < n) {
      std::size_t mblen = 1;
      while (pos + mblen < n && (static_cast<unsigned char>(s[pos + mblen]) & 0xC0) == 0x80) ++mblen;
      const double here = best[pos].score;
      bool single = false;
      std::int32_t node = 0;
      for (std::size_t k = pos; k < n; ++k) {  // every piece that starts here, shortest first
        node = trie.child(node, static_cast<unsigned char>(s[k]));
        if (node < 0) break;
        const std::int32_t id = trie.id[static_cast<std::size_t>(node)];
        if (id < 0) continue;
        const std::size_t len = k + 1 - pos;
        Node& t = best[pos + len];
        const double cand = here + scores[static_cast<std::size_t>(id)];
        if (t.start < 0 || cand > t.score) t = {id, cand, static_cast<long>(pos)};
        if (len == mblen) single = true;
      }
      if (!single) {
        Node& t = best[pos + mblen];
        double cand = here + unk_score;
        if (t.start < 0 || cand > t.score) t = {unk, cand, static_cast<long>(pos)};
      }
      pos += mblen;
    }
    thread_local std::vector<Tok> rev;
    rev.clear();
    for (long e = static_cast<long>(n); e > 0;) {
      const Node& nd = best[static_cast<std::size_t>(e)];
      rev.push_back({nd.id, static_cast<u32>(nd.start), static_cast<u32>(e)});
      e = nd.start;
    }
    bool prev_unk = false;
    const std::size_t mark = out.size();
    for (auto it = rev.rbegin(); it != rev.rend(); ++it) {
      bool is_unk = it->id == unk;
      if (is_unk && prev_unk && out.size() > mark) out.back().e = it->e;  // fuse unknowns
      else out.push_back(*it);
      prev_unk = is_unk;
    }
    if (byte_fallback && have_bytes) {
      std::vector<Tok> fixed;
      for (std::size_t k = mark; k < out.size(); ++k) {
        const Tok t = out[k];
        bool all = t.id == unk;
        if (all)
          for (u32 p = t.b; p < t.e; ++p) all = all && byte_ids[static_cast<unsigned char>(s[p])] >= 0;
        if (all) {
          for (u32 p = t.b; p < t.e; ++p) fixed.push_back({byte_ids[static_cast<unsigned char>(s[p])], t.b, t.e});
        } else {
          fixed.push_back(t);
        }
      }
      out.resize(mark);
      out.insert(out.end(), fixed.begin(), fixed.end());
    }
  }
};

void index_vocab(Vocab& v) {
  v.ids.clear();
  v.ids.reserve(v.tokens.size());
  for (std::size_t i = 0; i < v.tokens.size(); ++i) v.ids.emplace(v.tokens[i], static_cast<std::int32_t>(i));
}

void read_vocab_map(const Where& w, const json& j, const std::string& path, Vocab& v) {
  const json& m = need(w, j, path, "vocab");
  const std::string p = join(path, "vocab");
  if (!m.is_object()) w.fail(p, "expected an object of token: id");
  std::size_t size = 0;
  for (auto it = m.begin(); it != m.end(); ++it) {
    if (!it.value().is_number_integer() || it.value().get<std::int64_t>() < 0 || it.value().get<std::int64_t>() > 50000000)
      w.fail(p + "." + it.key(), "expected an id, got " + describe(it.value()));
    size = std::max<std::size_t>(size, static_cast<std::size_t>(it.value().get<std::int64_t>()) + 1);
  }
  v.tokens.assign(size, std::string());
  std::vector<bool> seen(size, false);
  for (auto it = m.begin(); it != m.end(); ++it) {
    auto id = static_cast<std::size_t>(it.value().get<std::int64_t>());
    if (seen[id]) w.fail(p + "." + it.key(), "id " + std::to_string(id) + " given twice");
    seen[id] = true;
    v.tokens[id] = it.key();
  }
  index_vocab(v);
}

std::int32_t optional_token(const Where& w, const json& j, const std::string& path, const char* key, const Vocab& v) {
  const json* t = opt(j, key);
  if (t == nullptr) return -1;
  if (!t->is_string()) w.fail(join(path, key), "expected a string, got " + describe(*t));
  std::int32_t id = v.find(t->get<std::string>());
  if (id < 0) w.fail(join(path, key), "\"" + t->get<std::string>() + "\" is not in the vocabulary");
  return id;
}

void fill_bytes(const Vocab& v, std::int32_t* ids, bool& have) {
  have = false;
  char buf[8];
  for (int b = 0; b < 256; ++b) {
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    ids[b] = v.find(buf);
    have = have || ids[b] >= 0;
  }
}

std::unique_ptr<Model> read_model(const Where& w, const json& j, const std::string& path) {
  std::string type = get_str(w, j, path, "type", "");
  if (type.empty()) {  // older files: guess from the keys, as tokenizers does
    if (j.is_object() && j.contains("merges")) type = "BPE";
    else if (j.is_object() && j.contains("vocab") && j["vocab"].is_array()) type = "Unigram";
    else if (j.is_object() && j.contains("continuing_subword_prefix")) type = "WordPiece";
    else need(w, j, path, "type");
  }
  if (type == "WordPiece") {
    auto m = std::make_unique<WordPieceModel>();
    read_vocab_map(w, j, path, m->vocab);
    m->prefix = get_str(w, j, path, "continuing_subword_prefix", "##");
    m->max_chars = static_cast<std::size_t>(get_int(w, j, path, "max_input_chars_per_word", 100));
    m->unk = optional_token(w, j, path, "unk_token", m->vocab);
    if (m->unk < 0) w.fail(join(path, "unk_token"), "missing");
    return m;
  }
  if (type == "BPE") {
    auto m = std::make_unique<BpeModel>();
    read_vocab_map(w, j, path, m->vocab);
    m->prefix = get_str(w, j, path, "continuing_subword_prefix", "");
    m->suffix = get_str(w, j, path, "end_of_word_suffix", "");
    m->unk = optional_token(w, j, path, "unk_token", m->vocab);
    m->fuse_unk = get_bool(w, j, path, "fuse_unk", false);
    m->byte_fallback = get_bool(w, j, path, "byte_fallback", false);
    m->ignore_merges = get_bool(w, j, path, "ignore_merges", false);
    if (const json* d = opt(j, "dropout"); d != nullptr && !d->is_number())
      w.fail(join(path, "dropout"), "expected a number, got " + describe(*d));
    fill_bytes(m->vocab, m->byte_ids, m->have_bytes);
    const json& merges = need(w, j, path, "merges");
    const std::string mp = join(path, "merges");
    if (!merges.is_array()) w.fail(mp, "expected a list");
    std::string joined;
    for (std::size_t r = 0; r < merges.size(); ++r) {
      const json& e = merges[r];
      const std::string ep = mp + "[" + std::to_string(r) + "]";
      std::string a, b;
      if (e.is_string()) {
        const std::string s = e.get<std::string>();
        auto sp = s.find(' ');
        if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos) w.fail(ep, "expected \"a b\", got " + describe(e));
        a = s.substr(0, sp);
        b = s.substr(sp + 1);
      } else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
        a = e[0].get<std::string>();
        b = e[1].get<std::string>();
      } else {
        w.fail(ep, "expected \"a b\" or [a, b], got " + describe(e));
      }
      std::int32_t ia = m->vocab.find(a), ib = m->vocab.find(b);
      if (ia < 0) w.fail(ep, "\"" + a + "\" is not in the vocabulary");
      if (ib < 0) w.fail(ep, "\"" + b + "\" is not in the vocabulary");
      joined = a;
      joined += b.size() >= m->prefix.size() && b.compare(0, m->prefix.size(), m->prefix) == 0 ? b.substr(m->prefix.size()) : b;
      std::int32_t ij = m->vocab.find(joined);
      if (ij < 0) w.fail(ep, "the merge \"" + joined + "\" is not in the vocabulary");
      m->merges.emplace(BpeModel::key(ia, ib), std::make_pair(static_cast<std::int32_t>(r), ij));
    }
    return m;
  }
  if (type == "Unigram") {
    auto m = std::make_unique<UnigramModel>();
    const json& v = need(w, j, path, "vocab");
    const std::string vp = join(path, "vocab");
    if (!v.is_array()) w.fail(vp, "expected a list of [piece, score]");
    m->vocab.tokens.reserve(v.size());
    m->min_score = 0;
    for (std::size_t i = 0; i < v.size(); ++i) {
      const json& e = v[i];
      if (!e.is_array() || e.size() != 2 || !e[0].is_string() || !e[1].is_number())
        w.fail(vp + "[" + std::to_string(i) + "]", "expected [piece, score], got " + describe(e));
      m->vocab.tokens.push_back(e[0].get<std::string>());
      m->scores.push_back(e[1].get<double>());
      m->min_score = i == 0 ? m->scores.back() : std::min(m->min_score, m->scores.back());
    }
    index_vocab(m->vocab);
    m->trie.build(m->vocab);
    m->unk = static_cast<std::int32_t>(get_int(w, j, path, "unk_id", -1));
    if (m->unk >= static_cast<std::int64_t>(v.size())) w.fail(join(path, "unk_id"), "past the vocabulary");
    m->byte_fallback = get_bool(w, j, path, "byte_fallback", false);
    m->unk_keeps_text = m->unk;
    fill_bytes(m->vocab, m->byte_ids, m->have_bytes);
    return m;
  }
  w.fail(join(path, "type"), "unsupported \"" + type + "\"");
}

// ---- post-processors ----------------------------------------------------------------

struct TemplateItem {
  bool special = false;
  int sequence = 0;  // 0 A, 1 B
  std::vector<std::int64_t> ids;
  std::int64_t type_id = 0;
};

struct Post {
  std::vector<TemplateItem> single, pair;
  bool trim_offsets = false, trim_prefix_space = false;
  bool has_template = false;
  // TemplateProcessing sets the type ids of the texts even without special tokens; the
  // others leave tokenizers' defaults (0 for the first text, 1 for the second).
  bool template_types = false;
};

std::vector<TemplateItem> read_template(const Where& w, const json& j, const std::string& path,
                                        const json& specials, const std::string& spath) {
  if (!j.is_array()) w.fail(path, "expected a list");
  std::vector<TemplateItem> r;
  for (std::size_t i = 0; i < j.size(); ++i) {
    const std::string ip = path + "[" + std::to_string(i) + "]";
    const json& e = j[i];
    TemplateItem t;
    if (const json* s = e.is_object() ? opt(e, "Sequence") : nullptr) {
      std::string id = get_str(w, *s, ip + ".Sequence", "id");
      if (id != "A" && id != "B") w.fail(ip + ".Sequence.id", "expected \"A\" or \"B\", got \"" + id + "\"");
      t.sequence = id == "A" ? 0 : 1;
      t.type_id = get_int(w, *s, ip + ".Sequence", "type_id", 0);
    } else if (const json* sp = e.is_object() ? opt(e, "SpecialToken") : nullptr) {
      t.special = true;
      std::string id = get_str(w, *sp, ip + ".SpecialToken", "id");
      t.type_id = get_int(w, *sp, ip + ".SpecialToken", "type_id", 0);
      const json* def = specials.is_object() ? opt(specials, id.c_str()) : nullptr;
      if (def == nullptr) w.fail(ip + ".SpecialToken.id", "\"" + id + "\" is not in " + spath);
      const json& ids = need(w, *def, spath + "." + id, "ids");
      if (!ids.is_array()) w.fail(spath + "." + id + ".ids", "expected a list of ids");
      for (auto& x : ids) {
        if (!x.is_number_integer()) w.fail(spath + "." + id + ".ids", "expected a list of ids");
        t.ids.push_back(x.get<std::int64_t>());
      }
    } else {
      w.fail(ip, "expected {\"Sequence\": ...} or {\"SpecialToken\": ...}, got " + describe(e));
    }
    r.push_back(std::move(t));
  }
  return r;
}

std::int64_t pair_id(const Where& w, const json& j, const std::string& path, const char* key) {
  const json& v = need(w, j, path, key);
  if (!v.is_array() || v.size() != 2 || !v[1].is_number_integer())
    w.fail(join(path, key), "expected [token, id], got " + describe(v));
  return v[1].get<std::int64_t>();
}

void read_post(const Where& w, const json& j, const std::string& path, Post& p) {
  const std::string type = get_str(w, j, path, "type");
  auto simple = [&](std::int64_t cls, std::int64_t sep, bool roberta) {
    p.has_template = true;
    p.single = {{true, 0, {cls}, 0}, {false, 0, {}, 0}, {true, 0, {sep}, 0}};
    if (roberta) p.pair = {{true, 0, {cls}, 0}, {false, 0, {}, 0}, {true, 0, {sep}, 0}, {true, 0, {sep}, 0}, {false, 1, {}, 0}, {true, 0, {sep}, 0}};
    else p.pair = {{true, 0, {cls}, 0}, {false, 0, {}, 0}, {true, 0, {sep}, 0}, {false, 1, {}, 1}, {true, 0, {sep}, 1}};
  };
  if (type == "TemplateProcessing") {
    const json& specials = need(w, j, path, "special_tokens");
    p.has_template = true;
    p.template_types = true;
    p.single = read_template(w, need(w, j, path, "single"), join(path, "single"), specials, join(path, "special_tokens"));
    p.pair = read_template(w, need(w, j, path, "pair"), join(path, "pair"), specials, join(path, "special_tokens"));
  } else if (type == "BertProcessing") {
    simple(pair_id(w, j, path, "cls"), pair_id(w, j, path, "sep"), false);
  } else if (type == "RobertaProcessing") {
    simple(pair_id(w, j, path, "cls"), pair_id(w, j, path, "sep"), true);
    if (get_bool(w, j, path, "trim_offsets", true)) {
      p.trim_offsets = true;
      p.trim_prefix_space = get_bool(w, j, path, "add_prefix_space", true);
    }
  } else if (type == "ByteLevel") {
    if (get_bool(w, j, path, "trim_offsets", true)) {
      p.trim_offsets = true;
      p.trim_prefix_space = get_bool(w, j, path, "add_prefix_space", true);
    }
  } else if (type == "Sequence") {
    const json& items = need(w, j, path, "processors");
    if (!items.is_array()) w.fail(join(path, "processors"), "expected a list");
    for (std::size_t i = 0; i < items.size(); ++i)
      read_post(w, items[i], join(path, "processors") + "[" + std::to_string(i) + "]", p);
  } else {
    w.fail(join(path, "type"), "unsupported \"" + type + "\"");
  }
}

// ---- decoders ------------------------------------------------------------------------

struct Decoder {
  virtual ~Decoder() = default;
  virtual void apply(std::vector<std::string>& tokens) const = 0;
};
using DecPtr = std::unique_ptr<Decoder>;

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  if (from.empty()) return;
  std::string out;
  std::size_t pos = 0, hit;
  bool any = false;
  while ((hit = s.find(from, pos)) != std::string::npos) {
    any = true;
    out.append(s, pos, hit - pos);
    out.append(to);
    pos = hit + from.size();
  }
  if (!any) return;
  out.append(s, pos, std::string::npos);
  s = std::move(out);
}

void cleanup(std::string& s) {
  static const std::pair<const char*, const char*> rules[] = {
      {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"}, {" n't", "n't"},
      {" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  for (auto& [a, b] : rules) replace_all(s, a, b);
}

struct WordPieceDec : Decoder {
  std::string prefix = "##";
  bool clean = true;
  void apply(std::vector<std::string>& t) const override {
    for (std::size_t i = 0; i < t.size(); ++i) {
      if (i != 0) {
        if (t[i].compare(0, prefix.size(), prefix) == 0) t[i].erase(0, prefix.size());
        else t[i].insert(0, " ");
      }
      if (clean) cleanup(t[i]);
    }
  }
};
struct ByteLevelDec : Decoder {
  void apply(std::vector<std::string>& t) const override {
    const auto& tab = bytes_table();
    std::string bytes;
    std::vector<unicode::DecodedChar> cs;
    for (auto& tok : t) {
      cs.clear();
      unicode::decode_utf8(tok, cs);
      std::string mine;
      bool ok = true;
      for (auto& c : cs) {
        auto it = tab.char_byte.find(c.code);
        if (it == tab.char_byte.end()) { ok = false; break; }
        mine.push_back(static_cast<char>(it->second));
      }
      bytes += ok ? mine : tok;
    }
    t.assign(1, utf8_lossy(bytes));
  }
};
struct MetaspaceDec : Decoder {
  std::string replacement = "\u2581";
  PrependScheme scheme = PrependScheme::Always;
  void apply(std::vector<std::string>& t) const override {
    for (std::size_t i = 0; i < t.size(); ++i)
      replace_all(t[i], replacement, i == 0 && scheme != PrependScheme::Never ? "" : " ");
  }
};
struct ByteFallbackDec : Decoder {
  void apply(std::vector<std::string>& t) const override {
    std::vector<std::string> out;
    std::string pending;
    std::size_t n_pending = 0;
    auto flush = [&] {
      if (n_pending == 0) return;
      if (unicode::is_valid_utf8(pending)) out.push_back(pending);
      else for (std::size_t k = 0; k < n_pending; ++k) out.emplace_back("\xEF\xBF\xBD");
      pending.clear();
      n_pending = 0;
    };
    for (auto& tok : t) {
      if (tok.size() == 6 && tok.compare(0, 3, "<0x") == 0 && tok[5] == '>' && std::isxdigit(static_cast<unsigned char>(tok[3])) &&
          std::isxdigit(static_cast<unsigned char>(tok[4]))) {
        pending.push_back(static_cast<char>(std::stoi(tok.substr(3, 2), nullptr, 16)));
        ++n_pending;
        continue;
      }
      flush();
      out.push_back(tok);
    }
    flush();
    t = std::move(out);
  }
};
struct FuseDec : Decoder {
  void apply(std::vector<std::string>& t) const override {
    std::string all;
    for (auto& s : t) all += s;
    t.assign(1, all);
  }
};
struct StripDec : Decoder {
  char32_t content = ' ';
  std::size_t start = 0, stop = 0;
  void apply(std::vector<std::string>& t) const override {
    for (auto& tok : t) {
      std::u32string u = u32_of(tok);
      std::size_t b = 0, e = u.size();
      while (b < start && b < u.size() && u[b] == content) ++b;
      std::size_t cut = 0;
      while (cut < stop && e > b && u[e - 1] == content) { --e; ++cut; }
      tok = unicode::to_utf8(std::u32string_view(u).substr(b, e - b));
    }
  }
};
struct ReplaceDec : Decoder {
  Pattern pattern;
  std::string content;
  void apply(std::vector<std::string>& t) const override {
    for (auto& tok : t) {
      if (!pattern.regex) { replace_all(tok, pattern.literal, content); continue; }
      std::vector<std::pair<u32, u32>> m;
      pattern.regex->find_all(tok, m);
      std::string out;
      std::size_t pos = 0;
      for (auto [b, e] : m) {
        out.append(tok, pos, b - pos);
        out += content;
        pos = e;
      }
      out.append(tok, pos, std::string::npos);
      tok = std::move(out);
    }
  }
};
struct SeqDec : Decoder {
  std::vector<DecPtr> items;
  void apply(std::vector<std::string>& t) const override {
    for (auto& d : items) d->apply(t);
  }
};

DecPtr read_decoder(const Where& w, const json& j, const std::string& path) {
  const std::string type = get_str(w, j, path, "type");
  if (type == "WordPiece") {
    auto d = std::make_unique<WordPieceDec>();
    d->prefix = get_str(w, j, path, "prefix", "##");
    d->clean = get_bool(w, j, path, "cleanup", true);
    return d;
  }
  if (type == "ByteLevel") return std::make_unique<ByteLevelDec>();
  if (type == "Metaspace") {
    auto d = std::make_unique<MetaspaceDec>();
    d->replacement = get_str(w, j, path, "replacement", "\u2581");
    one_char(w, join(path, "replacement"), d->replacement);
    d->scheme = read_scheme(w, j, path);
    return d;
  }
  if (type == "ByteFallback") return std::make_unique<ByteFallbackDec>();
  if (type == "Fuse") return std::make_unique<FuseDec>();
  if (type == "Strip") {
    auto d = std::make_unique<StripDec>();
    d->content = one_char(w, join(path, "content"), get_str(w, j, path, "content", " "));
    std::int64_t a = get_int(w, j, path, "start", 0), b = get_int(w, j, path, "stop", 0);
    if (a < 0 || b < 0) w.fail(path, "start and stop must not be negative");
    d->start = static_cast<std::size_t>(a);
    d->stop = static_cast<std::size_t>(b);
    return d;
  }
  if (type == "Replace") {
    auto d = std::make_unique<ReplaceDec>();
    d->pattern = read_pattern(w, j, path);
    d->content = get_str(w, j, path, "content");
    return d;
  }
  if (type == "Sequence") {
    auto d = std::make_unique<SeqDec>();
    const json& items = need(w, j, path, "decoders");
    if (!items.is_array()) w.fail(join(path, "decoders"), "expected a list");
    for (std::size_t i = 0; i < items.size(); ++i)
      d->items.push_back(read_decoder(w, items[i], join(path, "decoders") + "[" + std::to_string(i) + "]"));
    return d;
  }
  w.fail(join(path, "type"), "unsupported \"" + type + "\"");
}

// ---- added tokens ---------------------------------------------------------------------

struct Added {
  std::int64_t id;
  std::string content;
  bool single_word, lstrip, rstrip, normalized, special;
};

// Leftmost-longest matching of a set of strings (a byte trie walked from each position:
// linear in the text for a bounded longest token).
class Matcher {
 public:
  void add(const std::string& s, int value) {
    if (s.empty()) return;
    int node = 0;
    for (unsigned char ch : s) {
      std::uint64_t k = (static_cast<std::uint64_t>(node) << 8) | ch;
      auto it = edges_.find(k);
      if (it == edges_.end()) {
        values_.push_back(-1);
        it = edges_.emplace(k, static_cast<int>(values_.size() - 1)).first;
        first_.set(ch);
      }
      node = it->second;
    }
    values_[static_cast<std::size_t>(node)] = value;
  }
  bool empty() const { return values_.size() <= 1; }
  // Longest match starting at `pos`: (length, value) or (0, -1).
  std::pair<std::size_t, int> longest(std::string_view text, std::size_t pos) const {
    if (!first_.test(static_cast<unsigned char>(text[pos]))) return {0, -1};
    int node = 0;
    std::pair<std::size_t, int> best{0, -1};
    for (std::size_t i = pos; i < text.size(); ++i) {
      auto it = edges_.find((static_cast<std::uint64_t>(node) << 8) | static_cast<unsigned char>(text[i]));
      if (it == edges_.end()) break;
      node = it->second;
      if (values_[static_cast<std::size_t>(node)] >= 0) best = {i + 1 - pos, values_[static_cast<std::size_t>(node)]};
    }
    return best;
  }

 private:
  std::unordered_map<std::uint64_t, int, PairHash> edges_;
  std::vector<int> values_{-1};
  std::bitset<256> first_;
};

// ---- the tokenizer -------------------------------------------------------------------

// A piece of the input after added tokens were split out: either an added token (id) or
// a normalized text for the model.
struct Segment {
  std::int64_t added = -1;
  NStr text;
};

class JsonTokenizer final : public Tokenizer {
 public:
  std::string source;
  std::vector<Added> added;
  std::unordered_map<std::string, std::int64_t> added_ids;
  std::unordered_map<std::int64_t, std::size_t> added_by_id;
  Matcher raw_matcher, norm_matcher;  // not normalized / normalized added tokens
  NormPtr normalizer;
  PrePtr pre;
  std::unique_ptr<Model> model;
  Post post;
  DecPtr decoder;
  std::int64_t pad = 0;
  std::optional<std::int64_t> mask, eos;
  std::size_t max_len = 0;
  bool clean_up_spaces = false;

  void split_added(const Matcher& m, bool normalized_pass, NStr&& s, std::vector<Segment>& out) const {
    if (m.empty()) {
      out.push_back({-1, std::move(s)});
      return;
    }
    std::string text;
    std::vector<u32> b2c;
    to_utf8(s, 0, s.size(), text, &b2c);
    b2c.push_back(static_cast<u32>(s.size()));
    std::size_t start_offset = 0, pos = 0;
    auto char_before = [&](std::size_t byte) { return s.c[b2c[byte - 1]]; };
    while (pos < text.size()) {
      auto [len, idx] = m.longest(text, pos);
      if (len == 0) {
        ++pos;
        continue;
      }
      const Added& a = added[static_cast<std::size_t>(idx)];
      std::size_t b = pos, e = pos + len;
      pos = e;
      if (a.single_word) {
        bool start_ok = b == 0 || !is_word_char(char_before(b));
        bool stop_ok = e == text.size() || !is_word_char(s.c[b2c[e]]);
        if (!start_ok || !stop_ok) continue;
      }
      if (a.lstrip) {
        std::size_t nb = b;
        while (nb > start_offset && is_ws(char_before(nb))) {
          --nb;
          while (nb > 0 && (static_cast<unsigned char>(text[nb]) & 0xC0) == 0x80) --nb;
        }
        b = nb;
      }
      if (a.rstrip) {
        while (e < text.size() && is_ws(s.c[b2c[e]])) {
          ++e;
          while (e < text.size() && (static_cast<unsigned char>(text[e]) & 0xC0) == 0x80) ++e;
        }
        pos = e;
      }
      if (b > start_offset) out.push_back({-1, slice(s, b2c[start_offset], b2c[b])});
      out.push_back({a.id, slice(s, b2c[b], b2c[e])});
      start_offset = e;
    }
    if (start_offset == 0 && !text.empty()) out.push_back({-1, std::move(s)});
    else if (start_offset < text.size()) out.push_back({-1, slice(s, b2c[start_offset], s.size())});
    (void)normalized_pass;
  }

  // One sequence's tokens and the texts its pieces point to (Piece::text).
  struct Run {
    std::vector<Piece> pieces;
    std::vector<std::string> texts;
  };

  Run run(const std::string& text, const char* what) const {
    thread_local std::vector<unicode::DecodedChar> cs;
    cs.clear();
    unicode::decode_utf8(text, cs, what);
    NStr s;
    s.c.reserve(cs.size());
    s.a.reserve(cs.size());
    for (auto& c : cs) s.push(c.code, {c.begin, c.end});
    std::vector<Segment> first, second;
    split_added(raw_matcher, false, std::move(s), first);
    for (auto& seg : first) {
      if (seg.added >= 0) {
        second.push_back(std::move(seg));
        continue;
      }
      if (normalizer) normalizer->apply(seg.text);
      split_added(norm_matcher, true, std::move(seg.text), second);
    }
    Run result;
    std::vector<Piece>& out = result.pieces;
    std::vector<NStr> pieces;
    std::vector<Tok> toks;
    std::string word;
    std::vector<u32> b2c;
    for (auto& seg : second) {
      if (seg.added >= 0) {
        if (seg.text.size() == 0) continue;
        Piece piece{seg.added, seg.text.a.front().b, seg.text.a.back().e};
        to_utf8(seg.text, 0, seg.text.size(), word, nullptr);
        if (word != added[added_by_id.at(seg.added)].content) {
          piece.text = static_cast<std::int32_t>(result.texts.size());
          result.texts.push_back(word);
        }
        out.push_back(piece);
        continue;
      }
      pieces.clear();
      if (seg.text.size() == 0) continue;
      pieces.push_back(std::move(seg.text));
      if (pre) pre->apply(pieces);
      for (auto& p : pieces) {
        if (p.size() == 0) continue;
        to_utf8(p, 0, p.size(), word, &b2c);
        toks.clear();
        model->tokenize(word, toks);
        for (auto& t : toks) {
          if (t.e <= t.b || t.e > word.size()) {
            out.push_back({t.id, 0, 0});
            continue;
          }
          out.push_back({t.id, p.a[b2c[t.b]].b, p.a[b2c[t.e - 1]].e});
          if (t.id == model->unk_keeps_text) {
            out.back().text = static_cast<std::int32_t>(result.texts.size());
            result.texts.push_back(word.substr(t.b, t.e - t.b));
          }
        }
      }
    }
    return result;
  }

  // How `id` is spelled: an added token's content, else the model's vocabulary ("" if unknown).
  std::string_view spelling(std::int64_t id) const {
    auto it = added_by_id.find(id);
    if (it != added_by_id.end()) return added[it->second].content;
    if (id < 0 || static_cast<std::size_t>(id) >= model->vocab.tokens.size()) return {};
    return model->vocab.tokens[static_cast<std::size_t>(id)];
  }
  // A piece's token text: its own (Piece::text) or its id's spelling.
  std::string_view token_text(const Piece& p, const Run& r) const {
    return p.text >= 0 ? std::string_view(r.texts[static_cast<std::size_t>(p.text)]) : spelling(p.id);
  }

  // ByteLevel's trim_offsets: leading and trailing spaces of a token's text ("Ġ" or any
  // White_Space character) move its offsets inwards, counted in characters of the text.
  static bool trim_space(char32_t c) { return c == 0x120 || is_ws(c); }
  static char32_t char_at(std::string_view t, std::size_t b, std::size_t e) {  // t[b, e) is one character
    const auto u = [&](std::size_t k) { return static_cast<unsigned char>(t[k]); };
    if (e - b == 1) return u(b);
    char32_t c = u(b) & (0x7F >> (e - b));
    for (std::size_t k = b + 1; k < e; ++k) c = (c << 6) | (u(k) & 0x3F);
    return c;
  }
  void trim(Run& r, const std::string& text) const {
    if (!post.trim_offsets) return;
    const auto cont = [](char ch) { return (static_cast<unsigned char>(ch) & 0xC0) == 0x80; };
    for (std::size_t i = 0; i < r.pieces.size(); ++i) {
      auto& p = r.pieces[i];
      const std::string_view tok = token_text(p, r);
      std::size_t lead = 0, trail = 0;
      for (std::size_t b = 0; b < tok.size();) {
        std::size_t e = b + 1;
        while (e < tok.size() && cont(tok[e])) ++e;
        if (!trim_space(char_at(tok, b, e))) break;
        ++lead;
        b = e;
      }
      for (std::size_t e = tok.size(); e > 0;) {  // counted apart from the leading ones, as tokenizers does
        std::size_t b = e - 1;
        while (b > 0 && cont(tok[b])) --b;
        if (!trim_space(char_at(tok, b, e))) break;
        ++trail;
        e = b;
      }
      if (lead > 0) {
        const bool is_first = i == 0 || p.begin == 0;
        if (is_first && post.trim_prefix_space && lead == 1) lead = 0;
        std::size_t b = p.begin;
        for (std::size_t k = 0; k < lead && b < p.end; ++k) {
          ++b;
          while (b < p.end && cont(text[b])) ++b;
        }
        p.begin = b;
      }
      if (trail > 0) {
        std::size_t e = p.end, k = 0;
        for (; k < trail && e > 0; ++k) {
          --e;
          while (e > 0 && cont(text[e])) --e;
        }
        if (k == trail) p.end = std::max(e, p.begin);
      }
    }
  }

  Encoding build(Run& ra, Run* rb, const EncodeOptions& options) const {
    std::vector<Piece>& a = ra.pieces;
    std::vector<Piece>* b = rb != nullptr ? &rb->pieces : nullptr;
    validate(options);
    const bool special = options.add_special_tokens && post.has_template;
    const auto& tpl = b != nullptr ? post.pair : post.single;
    std::size_t added_count = 0;
    if (special)
      for (auto& t : tpl)
        if (t.special) added_count += t.ids.size();
    truncate(a, b, added_count, options);
    Encoding e;
    reserve(e, std::max(options.pad_to, a.size() + (b != nullptr ? b->size() : 0) + added_count));
    auto push = [&](std::int64_t id, std::int64_t type, std::size_t pb, std::size_t pe, std::int64_t seq,
                    const Piece* piece) {
      e.ids.push_back(id);
      e.type_ids.push_back(type);
      e.attention_mask.push_back(1);
      e.tokens.emplace_back(piece != nullptr ? token_text(*piece, seq == 0 ? ra : *rb) : spelling(id));
      e.offsets.emplace_back(pb, pe);
      e.sequence_ids.push_back(seq);
    };
    if (!special) {
      std::int64_t type_a = 0, type_b = 1;
      if (post.template_types)
        for (auto& t : tpl)
          if (!t.special) (t.sequence == 0 ? type_a : type_b) = t.type_id;
      for (auto& p : a) push(p.id, type_a, p.begin, p.end, 0, &p);
      if (b != nullptr)
        for (auto& p : *b) push(p.id, type_b, p.begin, p.end, 1, &p);
    } else {
      for (auto& t : tpl) {
        if (t.special) {
          for (auto id : t.ids) push(id, t.type_id, 0, 0, -1, nullptr);
        } else {
          const auto& src = t.sequence == 0 ? a : *b;
          for (auto& p : src) push(p.id, t.type_id, p.begin, p.end, t.sequence, &p);
        }
      }
    }
    if (e.ids.size() < options.pad_to) pad_right(e, options.pad_to, pad, id_to_token(pad));
    return e;
  }

  Encoding encode(const std::string& text, const EncodeOptions& options) const override {
    Run a = run(text, "text");
    trim(a, text);
    return build(a, nullptr, options);
  }
  Encoding encode_pair(const std::string& first, const std::string& second,
                       const EncodeOptions& options) const override {
    Run a = run(first, "first text");
    Run b = run(second, "second text");
    trim(a, first);
    trim(b, second);
    return build(a, &b, options);
  }
  std::vector<std::int64_t> tokenize_ids(const std::string& text) const override {
    std::vector<std::int64_t> ids;
    for (auto& p : run(text, "text").pieces) ids.push_back(p.id);
    return ids;
  }
  std::string decode(const std::vector<std::int64_t>& ids, bool skip_special) const override {
    std::vector<std::string> toks;
    for (auto id : ids) {
      auto it = added_by_id.find(id);
      if (it != added_by_id.end()) {
        if (skip_special && added[it->second].special) continue;
        toks.push_back(added[it->second].content);
        continue;
      }
      if (id < 0 || static_cast<std::size_t>(id) >= model->vocab.tokens.size()) continue;
      toks.push_back(model->vocab.tokens[static_cast<std::size_t>(id)]);
    }
    std::string out;
    if (decoder) {
      decoder->apply(toks);
      for (auto& t : toks) out += t;
    } else {
      for (std::size_t i = 0; i < toks.size(); ++i) out += (i ? " " : "") + toks[i];
    }
    if (clean_up_spaces) cleanup(out);
    return out;
  }
  std::int64_t token_to_id(const std::string& token) const override {
    auto it = added_ids.find(token);
    if (it != added_ids.end()) return it->second;
    return model->vocab.find(token);
  }
  std::string id_to_token(std::int64_t id) const override { return std::string(spelling(id)); }
  std::size_t vocab_size() const override {
    std::size_t n = model->vocab.tokens.size();
    for (auto& a : added) n = std::max<std::size_t>(n, static_cast<std::size_t>(a.id) + 1);
    return n;
  }
  std::int64_t pad_id() const override { return pad; }
  std::optional<std::int64_t> mask_id() const override { return mask; }
  std::optional<std::int64_t> eos_id() const override { return eos; }
  std::size_t model_max_length() const override { return max_len; }
};

std::optional<std::string> config_token(const Where& w, const json& cfg, const char* key) {
  const json* v = cfg.is_object() ? opt(cfg, key) : nullptr;
  if (v == nullptr) return std::nullopt;
  if (v->is_string()) return v->get<std::string>();
  if (v->is_object() && v->contains("content") && (*v)["content"].is_string()) return (*v)["content"].get<std::string>();
  w.fail(key, "expected a token (a string or {\"content\": ...}), got " + describe(*v));
}

}  // namespace

std::unique_ptr<Tokenizer> parse_tokenizer_json(const std::string& text, const std::string& config,
                                                const std::string& source) {
  Where w{source};
  json doc;
  try {
    doc = parse_like_serde(text);
  } catch (const json::exception& e) {
    throw Error(ErrorKind::Input, source + ": not valid JSON: " + e.what());
  }
  if (!doc.is_object()) w.fail("(top)", "expected an object, got " + describe(doc));
  auto t = std::make_unique<JsonTokenizer>();
  t->source = source;
  t->model = read_model(w, need(w, doc, "", "model"), "model");
  if (const json* n = opt(doc, "normalizer")) t->normalizer = read_normalizer(w, *n, "normalizer");
  if (const json* p = opt(doc, "pre_tokenizer")) t->pre = read_pre(w, *p, "pre_tokenizer");
  if (const json* p = opt(doc, "post_processor")) read_post(w, *p, "post_processor", t->post);
  if (const json* d = opt(doc, "decoder")) t->decoder = read_decoder(w, *d, "decoder");
  if (const json* tr = opt(doc, "truncation"); tr != nullptr && !tr->is_object())
    w.fail("truncation", "expected an object or null, got " + describe(*tr));
  if (const json* pd = opt(doc, "padding")) {
    if (!pd->is_object()) w.fail("padding", "expected an object or null, got " + describe(*pd));
    t->pad = get_int(w, *pd, "padding", "pad_id", 0);
  }
  if (const json* at = opt(doc, "added_tokens")) {
    if (!at->is_array()) w.fail("added_tokens", "expected a list");
    for (std::size_t i = 0; i < at->size(); ++i) {
      const std::string p = "added_tokens[" + std::to_string(i) + "]";
      const json& e = (*at)[i];
      Added a;
      a.id = get_int(w, e, p, "id");
      if (a.id < 0) w.fail(p + ".id", "negative");
      a.content = get_str(w, e, p, "content");
      if (!unicode::is_valid_utf8(a.content)) w.fail(p + ".content", "not UTF-8");
      a.single_word = get_bool(w, e, p, "single_word", false);
      a.lstrip = get_bool(w, e, p, "lstrip", false);
      a.rstrip = get_bool(w, e, p, "rstrip", false);
      a.special = get_bool(w, e, p, "special", false);
      a.normalized = get_bool(w, e, p, "normalized", !a.special);
      const int idx = static_cast<int>(t->added.size());
      t->added_ids[a.content] = a.id;
      t->added_by_id[a.id] = t->added.size();
      (a.normalized && t->normalizer ? t->norm_matcher : t->raw_matcher).add(a.content, idx);
      t->added.push_back(std::move(a));
    }
  }
  // tokenizer_config.json, as transformers reads it
  json cfg = json::object();
  const std::string cfg_source = (std::filesystem::path(source).parent_path() / "tokenizer_config.json").string();
  Where cw{cfg_source};
  if (!config.empty()) {
    try {
      cfg = json::parse(config);
    } catch (const json::exception& e) {
      throw Error(ErrorKind::Input, cfg_source + ": not valid JSON: " + e.what());
    }
    if (!cfg.is_object()) cw.fail("(top)", "expected an object");
  }
  auto lookup = [&](const char* key, std::initializer_list<const char*> fallbacks) -> std::optional<std::int64_t> {
    if (auto tok = config_token(cw, cfg, key)) {
      std::int64_t id = t->token_to_id(*tok);
      if (id < 0) cw.fail(key, "\"" + *tok + "\" is not in " + source);
      return id;
    }
    for (const char* f : fallbacks)
      if (std::int64_t id = t->token_to_id(f); id >= 0) return id;
    return std::nullopt;
  };
  if (auto p = lookup("pad_token", {"[PAD]", "<pad>"})) t->pad = *p;
  t->mask = lookup("mask_token", {"[MASK]", "<mask>"});
  t->eos = lookup("eos_token", {"</s>", "<|endoftext|>"});
  if (const json* m = opt(cfg, "model_max_length")) {
    if (!m->is_number()) cw.fail("model_max_length", "expected a number, got " + describe(*m));
    double v = m->get<double>();
    t->max_len = v > 0 && v < 1e12 ? static_cast<std::size_t>(v) : 0;
  }
  t->clean_up_spaces = get_bool(cw, cfg, "", "clean_up_tokenization_spaces", false);
  // transformers skips this clean-up for BPE models (it would remove real spaces before
  // punctuation) unless told otherwise.
  if (t->clean_up_spaces && dynamic_cast<const BpeModel*>(t->model.get()) != nullptr &&
      !get_bool(cw, cfg, "", "clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output", false))
    t->clean_up_spaces = false;
  // Llama-style tokenizers rebuild their template from add_bos_token / add_eos_token.
  const std::string cls = cfg.is_object() && cfg.contains("tokenizer_class") && cfg["tokenizer_class"].is_string()
                              ? cfg["tokenizer_class"].get<std::string>() : "";
  if ((cls.rfind("Llama", 0) == 0 || cls.rfind("CodeLlama", 0) == 0 || cls.rfind("Gemma", 0) == 0) &&
      (cfg.contains("add_bos_token") || cfg.contains("add_eos_token"))) {
    const bool bos_on = get_bool(cw, cfg, "", "add_bos_token", true), eos_on = get_bool(cw, cfg, "", "add_eos_token", false);
    auto bos = lookup("bos_token", {"<s>"});
    auto eosid = lookup("eos_token", {"</s>"});
    if ((bos_on && !bos) || (eos_on && !eosid)) cw.fail("add_bos_token", "the bos/eos token is not known");
    std::vector<TemplateItem> single, pair;
    for (int s = 0; s < 2; ++s) {
      if (bos_on) pair.push_back({true, 0, {*bos}, s});
      pair.push_back({false, s, {}, s});
      if (eos_on) pair.push_back({true, 0, {*eosid}, s});
      if (s == 0) single = pair;
    }
    t->post.single = single;
    t->post.pair = pair;
    t->post.has_template = true;
  }
  return t;
}

std::unique_ptr<Tokenizer> load_tokenizer_json(const std::string& dir) {
  namespace fs = std::filesystem;
  auto read = [](const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) throw Error(ErrorKind::Input, p.string() + ": cannot read");
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  const fs::path file = fs::path(dir) / "tokenizer.json";
  const fs::path cfg = fs::path(dir) / "tokenizer_config.json";
  return parse_tokenizer_json(read(file), fs::exists(cfg) ? read(cfg) : std::string(), file.string());
}

}  // namespace pft::tokenizer
