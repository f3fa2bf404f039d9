#pragma once
// Few-shot demonstrations for the {demos} slot: examples from a demo file rendered with their
// own template (whose {mask} becomes the demo's answer), chosen by fixed ids or by a seeded
// sampler, optionally balanced over labels. Chain-of-thought exemplars are demonstrations
// whose template also shows a rationale field, e.g.
//   "Q: {question}\nA: {rationale} So the answer is {mask}."

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pft/prompt/template.h"
#include "pft/prompt/verbalizer.h"

namespace pft::prompt {

struct DemoOptions {
  std::string template_text;        // the demonstrations' template
  std::int64_t num = 0;             // how many demonstrations per prompt (sampled)
  std::vector<std::int64_t> ids;    // fixed 0-based demo indices (used instead of sampling)
  std::uint64_t seed = 0;           // sampler seed
  bool balanced = false;            // sample the same number per label (round robin)
  bool resample = false;            // draw anew for every example (else one draw for all)
  std::string separator = "\n";     // between demonstrations, and after the last
  std::string label_field = "label";  // the demos' label, for balance and the answer
};

class DemoSet {
 public:
  /// `examples` with their `sources` (same length). `verbalizer` (may be null) maps a demo's
  /// label to its answer word; without it the label itself is the answer. Errors (Config)
  /// name prompt.demo_* keys: ids out of range, more demos than examples, balance impossible.
  DemoSet(std::vector<nlohmann::json> examples, std::vector<Source> sources, DemoOptions options,
          const Verbalizer* verbalizer);

  /// Indices of the demonstrations for the example at `example_index` (deterministic).
  std::vector<std::size_t> select(std::size_t example_index) const;
  /// The rendered demonstrations for that example, each followed by the separator.
  std::string render_for(std::size_t example_index) const;

  std::size_t size() const { return examples_.size(); }

 private:
  std::vector<std::size_t> sample(std::uint64_t seed) const;

  std::vector<nlohmann::json> examples_;
  std::vector<Source> sources_;
  DemoOptions options_;
  Template template_;
  const Verbalizer* verbalizer_;
  std::vector<std::string> labels_;  // per example ("" when it has none)
  std::vector<std::size_t> fixed_;   // the one draw when !resample
};

}  // namespace pft::prompt
