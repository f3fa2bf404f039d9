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

void check_distinguishable(const Verbalizer& verbalizer,
                           const std::vector<std::vector<std::vector<std::int64_t>>>& scored,
                           const std::function<std::string(std::int64_t)>& token_text,
                           const std::string& how) {
  for (std::size_t a = 0; a < scored.size(); ++a) {
    for (std::size_t b = a + 1; b < scored.size(); ++b) {
      for (std::size_t i = 0; i < scored[a].size(); ++i) {
        for (std::size_t j = 0; j < scored[b].size(); ++j) {
          if (scored[a][i] != scored[b][j]) continue;
          std::string tokens;
          for (const auto id : scored[a][i]) {
            if (!tokens.empty()) tokens += ' ';
            tokens += token_text(id);
          }
          throw Error(ErrorKind::Config,
                      "prompt.verbalizer: '" + verbalizer.words(a).at(i) + "' (label '" +
                          verbalizer.labels()[a] + "') and '" + verbalizer.words(b).at(j) +
                          "' (label '" + verbalizer.labels()[b] + "') are both scored as '" +
                          tokens + "' (" + how + "), so the two labels cannot be told apart",
                      "choose label words whose scored tokens differ");
        }
      }
    }
  }
}

void check_distinguishable(const Verbalizer& verbalizer,
                           const std::vector<std::vector<std::int64_t>>& scored,
                           const std::function<std::string(std::int64_t)>& token_text,
                           const std::string& how) {
  std::vector<std::vector<std::vector<std::int64_t>>> words;
  for (const auto& ids : scored) {
    words.emplace_back();
    for (const auto id : ids) words.back().push_back({id});
  }
  check_distinguishable(verbalizer, words, token_text, how);
}

}  // namespace pft::prompt
