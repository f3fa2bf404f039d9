#include "pft/prompt/demos.h"

#include <algorithm>
#include <map>
#include <random>

#include "pft/util/error.h"

namespace pft::prompt {

DemoSet::DemoSet(std::vector<nlohmann::json> examples, std::vector<Source> sources,
                 DemoOptions options, const Verbalizer* verbalizer)
    : examples_(std::move(examples)),
      sources_(std::move(sources)),
      options_(std::move(options)),
      template_(options_.template_text, "prompt.demo_template"),
      verbalizer_(verbalizer) {
  if (sources_.size() != examples_.size()) sources_.resize(examples_.size());
  if (template_.has_demos()) {
    throw Error(ErrorKind::Config, "prompt.demo_template: {demos} cannot appear in the "
                                   "demonstrations' own template");
  }
  for (std::size_t i = 0; i < examples_.size(); ++i) {
    labels_.push_back(lookup_field(examples_[i], options_.label_field).value_or(""));
  }
  if (!options_.ids.empty()) {
    for (const auto id : options_.ids) {
      if (id < 0 || static_cast<std::size_t>(id) >= examples_.size()) {
        throw Error(ErrorKind::Config, "prompt.demo_ids: " + std::to_string(id) +
                                           " is out of range: the demo file has " +
                                           std::to_string(examples_.size()) + " examples (ids are 0-based)");
      }
    }
  } else if (options_.num > 0) {
    if (static_cast<std::size_t>(options_.num) > examples_.size()) {
      throw Error(ErrorKind::Config, "prompt.num_demos: " + std::to_string(options_.num) +
                                         " demonstrations asked for, but the demo file has only " +
                                         std::to_string(examples_.size()));
    }
    if (options_.balanced) {
      std::map<std::string, std::size_t> per_label;
      for (const auto& l : labels_) {
        if (l.empty()) {
          throw Error(ErrorKind::Config, "prompt.demo_balanced: a demonstration has no '" +
                                             options_.label_field + "' field to balance on");
        }
        ++per_label[l];
      }
      const std::size_t want = (static_cast<std::size_t>(options_.num) + per_label.size() - 1) / per_label.size();
      for (const auto& [label, count] : per_label) {
        if (count < want) {
          throw Error(ErrorKind::Config, "prompt.demo_balanced: label '" + label + "' has " +
                                             std::to_string(count) + " demonstrations, " +
                                             std::to_string(want) + " needed for " +
                                             std::to_string(options_.num) + " balanced demos");
        }
      }
    }
  }
  if (!options_.resample) fixed_ = sample(options_.seed);
}

std::vector<std::size_t> DemoSet::sample(std::uint64_t seed) const {
  if (!options_.ids.empty()) {
    return {options_.ids.begin(), options_.ids.end()};
  }
  if (options_.num <= 0) return {};
  std::mt19937_64 rng(seed);
  std::vector<std::size_t> order(examples_.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), rng);
  const auto num = static_cast<std::size_t>(options_.num);
  if (!options_.balanced) {
    order.resize(num);
    return order;
  }
  // Round robin over labels (in sorted order), each label's demos in shuffled order.
  std::map<std::string, std::vector<std::size_t>> by_label;
  for (const auto i : order) by_label[labels_[i]].push_back(i);
  std::vector<std::size_t> chosen;
  for (std::size_t round = 0; chosen.size() < num; ++round) {
    for (const auto& [label, items] : by_label) {
      if (chosen.size() < num && round < items.size()) chosen.push_back(items[round]);
    }
  }
  // Interleaved by label, then shuffled so that label order carries no signal.
  std::shuffle(chosen.begin(), chosen.end(), rng);
  return chosen;
}

std::vector<std::size_t> DemoSet::select(std::size_t example_index) const {
  if (!options_.resample) return fixed_;
  // A per-example stream: the same example always gets the same demonstrations.
  return sample(options_.seed * 0x9E3779B97F4A7C15ULL + example_index + 1);
}

std::string DemoSet::render_for(std::size_t example_index) const {
  std::string out;
  for (const auto i : select(example_index)) {
    std::string answer = labels_[i];
    if (verbalizer_ != nullptr && !answer.empty()) answer = verbalizer_->answer(answer);
    out += template_.render_text(examples_[i], sources_[i], answer);
    out += options_.separator;
  }
  return out;
}

}  // namespace pft::prompt
