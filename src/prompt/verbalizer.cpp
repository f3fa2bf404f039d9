#include "pft/prompt/verbalizer.h"

#include <algorithm>

#include "pft/util/error.h"
#include "pft/util/strings.h"

namespace pft::prompt {

Verbalizer::Verbalizer(const std::map<std::string, std::vector<std::string>>& words,
                       std::vector<std::string> labels)
    : labels_(std::move(labels)) {
  if (labels_.empty()) {
    throw Error(ErrorKind::Config, "prompt.verbalizer: needs task.labels (the label names in class "
                                   "order) to know which labels to verbalize");
  }
  for (const auto& [label, list] : words) {
    if (std::find(labels_.begin(), labels_.end(), label) == labels_.end()) {
      std::string message = "prompt.verbalizer." + label + ": '" + label + "' is not one of task.labels (" +
                            join_alternatives(labels_) + ")";
      const std::string guess = closest_match(label, labels_);
      if (!guess.empty()) message += "; did you mean '" + guess + "'?";
      throw Error(ErrorKind::Config, message);
    }
  }
  for (const auto& label : labels_) {
    const auto it = words.find(label);
    if (it == words.end() || it->second.empty()) {
      throw Error(ErrorKind::Config, "prompt.verbalizer: label '" + label + "' has no words; give it "
                                     "at least one, e.g. \"" + label + "\": [\"...\"]");
    }
    for (const auto& w : it->second) {
      if (w.find_first_not_of(" \t\n") == std::string::npos) {
        throw Error(ErrorKind::Config, "prompt.verbalizer." + label + ": empty word");
      }
    }
    words_.push_back(it->second);
  }
}

std::optional<std::size_t> Verbalizer::index_of(const std::string& label) const {
  const auto it = std::find(labels_.begin(), labels_.end(), label);
  if (it == labels_.end()) return std::nullopt;
  return static_cast<std::size_t>(it - labels_.begin());
}

const std::string& Verbalizer::answer(const std::string& label) const {
  const auto index = index_of(label);
  if (!index) {
    throw Error(ErrorKind::Input, "label '" + label + "' is not one of task.labels (" +
                                      join_alternatives(labels_) + ")");
  }
  return words_[*index].front();
}

}  // namespace pft::prompt
