#pragma once
// Constraints on one config value, checked by pft::config::validate and printed in the
// generated reference (docs/config.md).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pft::config {

/// Config values that map names (module-path patterns) to numbers, e.g. peft.rank_pattern.
using IntegerMap = std::map<std::string, std::int64_t>;
using NumberMap = std::map<std::string, double>;

struct Rule {
  std::vector<std::string> one_of;  // allowed strings (empty: any)
  std::optional<double> min;        // lower bound on numbers
  std::optional<double> max;        // upper bound on numbers
  bool min_exclusive = false;
  bool max_exclusive = false;
  bool path = false;                // a filesystem path: `~` and ${VAR} are expanded

  /// Human-readable form for messages and docs: "one of a, b", ">= 1", "in (0, 1]".
  std::string describe() const;
};

namespace rules {
inline Rule none() { return {}; }
inline Rule one_of(std::vector<std::string> values) {
  Rule r;
  r.one_of = std::move(values);
  return r;
}
inline Rule at_least(double lo) {
  Rule r;
  r.min = lo;
  return r;
}
inline Rule greater_than(double lo) {
  Rule r;
  r.min = lo;
  r.min_exclusive = true;
  return r;
}
inline Rule between(double lo, double hi, bool lo_exclusive = false, bool hi_exclusive = false) {
  Rule r;
  r.min = lo;
  r.max = hi;
  r.min_exclusive = lo_exclusive;
  r.max_exclusive = hi_exclusive;
  return r;
}
inline Rule path() {
  Rule r;
  r.path = true;
  return r;
}
}  // namespace rules

}  // namespace pft::config
