#include "tokenizer/unicode.h"

#include <algorithm>
#include <iterator>

#include "pft/util/error.h"

namespace pft::tokenizer::unicode {

namespace {

struct ClassRange {
  std::uint32_t first;
  std::uint32_t last;
  std::uint32_t value;
};

struct MappingEntry {
  std::uint32_t code;
  std::uint32_t offset;
  std::uint32_t length;
};

#include "tokenizer/unicode_tables.inc"

constexpr std::uint32_t kOther = 1, kPunctuation = 2, kMarkNonspacing = 4, kWhiteSpace = 8;

// Hangul syllables decompose algorithmically (Unicode 3.12).
constexpr char32_t kHangulBase = 0xAC00, kLeadBase = 0x1100, kVowelBase = 0x1161,
                   kTrailBase = 0x11A7;
constexpr std::uint32_t kVowelCount = 21, kTrailCount = 28, kHangulCount = 11172;

template <std::size_t N>
std::uint32_t range_value(const ClassRange (&table)[N], char32_t c) {
  const auto* it =
      std::upper_bound(std::begin(table), std::end(table), static_cast<std::uint32_t>(c),
                       [](std::uint32_t v, const ClassRange& r) { return v < r.first; });
  if (it == std::begin(table)) return 0;
  --it;
  return c <= it->last ? it->value : 0;
}

template <std::size_t N>
const MappingEntry* find_mapping(const MappingEntry (&table)[N], char32_t c) {
  const auto* it =
      std::lower_bound(std::begin(table), std::end(table), static_cast<std::uint32_t>(c),
                       [](const MappingEntry& e, std::uint32_t v) { return e.code < v; });
  return it != std::end(table) && it->code == c ? it : nullptr;
}

std::uint32_t class_bits(char32_t c) { return range_value(kClassRanges, c); }

}  // namespace

const char* version() { return kUnicodeVersion; }
const char* category_version() { return kCategoryVersion; }

bool is_other(char32_t c) { return (class_bits(c) & kOther) != 0; }
bool is_punctuation(char32_t c) { return (class_bits(c) & kPunctuation) != 0; }
bool is_mark_nonspacing(char32_t c) { return (class_bits(c) & kMarkNonspacing) != 0; }
bool is_white_space(char32_t c) { return (class_bits(c) & kWhiteSpace) != 0; }
int combining_class(char32_t c) {
  return c < 0x300 ? 0 : static_cast<int>(range_value(kCombiningClassRanges, c));
}

void append_decomposition(char32_t c, std::u32string& out) {
  if (c >= kHangulBase && c < kHangulBase + kHangulCount) {
    const std::uint32_t s = c - kHangulBase;
    out.push_back(kLeadBase + s / (kVowelCount * kTrailCount));
    out.push_back(kVowelBase + (s % (kVowelCount * kTrailCount)) / kTrailCount);
    if (s % kTrailCount != 0) out.push_back(kTrailBase + s % kTrailCount);
    return;
  }
  if (c < 0xC0) {
    out.push_back(c);
    return;
  }
  if (const auto* e = find_mapping(kDecomposition, c)) {
    out.append(std::begin(kDecompositionData) + e->offset,
               std::begin(kDecompositionData) + e->offset + e->length);
  } else {
    out.push_back(c);
  }
}

void canonical_order(std::u32string& text, std::vector<std::uint32_t>& aligned) {
  // Insertion sort inside each run of non-starters: runs are short and usually sorted.
  const std::size_t n = text.size();
  for (std::size_t i = 1; i < n; ++i) {
    const int cc = combining_class(text[i]);
    if (cc == 0) continue;
    std::size_t j = i;
    while (j > 0) {
      const int prev = combining_class(text[j - 1]);
      if (prev == 0 || prev <= cc) break;
      std::swap(text[j], text[j - 1]);
      std::swap(aligned[j], aligned[j - 1]);
      --j;
    }
  }
}

void append_lowercase(char32_t c, std::u32string& out) {
  if (c < 0x80) {
    out.push_back(c >= 'A' && c <= 'Z' ? c + 32 : c);
    return;
  }
  if (const auto* e = find_mapping(kLowercase, c)) {
    out.append(std::begin(kLowercaseData) + e->offset,
               std::begin(kLowercaseData) + e->offset + e->length);
  } else {
    out.push_back(c);
  }
}

namespace {
// Returns the length of the valid UTF-8 sequence at `p` (1-4) and stores its code point,
// or 0 when the bytes there are not valid UTF-8.
std::size_t decode_one(const unsigned char* p, std::size_t left, char32_t& code) {
  const unsigned char b0 = p[0];
  if (b0 < 0x80) {
    code = b0;
    return 1;
  }
  std::size_t len;
  char32_t min;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2, min = 0x80, code = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, min = 0x800, code = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, min = 0x10000, code = b0 & 0x07;
  } else {
    return 0;
  }
  if (left < len) return 0;
  for (std::size_t i = 1; i < len; ++i) {
    if ((p[i] & 0xC0) != 0x80) return 0;
    code = (code << 6) | (p[i] & 0x3F);
  }
  if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return 0;
  return len;
}
}  // namespace

void decode_utf8(std::string_view text, std::vector<DecodedChar>& out, const char* what) {
  out.clear();
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    char32_t code;
    const std::size_t len = decode_one(p + i, n - i, code);
    if (len == 0) {
      throw Error(ErrorKind::Input, std::string(what) + " is not valid UTF-8: invalid byte 0x" +
                                        "0123456789abcdef"[p[i] >> 4] +
                                        "0123456789abcdef"[p[i] & 15] + " at byte offset " +
                                        std::to_string(i));
    }
    out.push_back({code, static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(i + len)});
    i += len;
  }
}

bool is_valid_utf8(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  std::size_t i = 0;
  while (i < text.size()) {
    char32_t code;
    const std::size_t len = decode_one(p + i, text.size() - i, code);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

void append_utf8(char32_t c, std::string& out) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

std::string to_utf8(std::u32string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t c : text) append_utf8(c, out);
  return out;
}

}  // namespace pft::tokenizer::unicode
