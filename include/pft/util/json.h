#pragma once
// Typed readers of optional keys in a JSON object that pft reads but does not own (a
// checkpoint's config.json, an adapter_config.json): an absent or null key keeps the default,
// a present key of another type is a pft::Error naming the file, the key, what was expected
// and what was found.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pft/util/error.h"

namespace pft {

class JsonKeys {
 public:
  /// How errors read: `kind`, and "SOURCE: KEY: ..." or, with `quote_key`,
  /// "SOURCE: key 'KEY': ...".
  struct Style {
    ErrorKind kind = ErrorKind::Config;
    bool quote_key = false;
  };

  JsonKeys(const nlohmann::json& doc, std::string source);
  JsonKeys(const nlohmann::json& doc, std::string source, Style style);

  /// Each returns whether the key was present (and not null), having read it into `out`.
  bool integer(const char* key, std::int64_t& out) const;
  bool number(const char* key, double& out) const;
  bool string(const char* key, std::string& out) const;
  bool boolean(const char* key, bool& out) const;
  /// An integer that may be null (e.g. pad_token_id): absent keeps `out`, null empties it.
  /// Returns whether the key was present.
  bool nullable_integer(const char* key, std::optional<std::int64_t>& out) const;
  /// An integer or a non-empty list of integers (e.g. eos_token_id).
  bool integers(const char* key, std::vector<std::int64_t>& out) const;

  /// transformers' id2label ({"0": "neg", "1": "pos"}: every index 0 .. n-1 once), when present.
  std::optional<std::vector<std::string>> id2label() const;

  [[noreturn]] void fail(const std::string& key, const std::string& what) const;
  const nlohmann::json& doc() const { return doc_; }
  const std::string& source() const { return source_; }

  /// `value`'s type and text, shortened: `string "abc"`.
  static std::string describe(const nlohmann::json& value);

 private:
  const nlohmann::json* find(const char* key) const;

  const nlohmann::json& doc_;
  std::string source_;
  Style style_;
};

}  // namespace pft
