#pragma once
// Verbalizers map each label to one or more words ("positive" -> ["great", "good"]). Cloze
// tasks score the label words at the mask slot; text-to-text tasks train on a label's first
// word as the target; demonstrations fill their {mask} with it.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pft::prompt {

class Verbalizer {
 public:
  /// `words` as in the config's prompt.verbalizer; `labels` in class-index order. Every label
  /// needs at least one non-empty word and every key must be a label: otherwise
  /// pft::Error (Config) naming prompt.verbalizer and the label.
  Verbalizer(const std::map<std::string, std::vector<std::string>>& words,
             std::vector<std::string> labels);

  const std::vector<std::string>& labels() const { return labels_; }
  std::size_t num_labels() const { return labels_.size(); }
  /// The words of label `index` (class-index order).
  const std::vector<std::string>& words(std::size_t index) const { return words_.at(index); }
  /// The first word of `label`: the answer text of demonstrations and text-to-text targets.
  const std::string& answer(const std::string& label) const;
  std::optional<std::size_t> index_of(const std::string& label) const;

 private:
  std::vector<std::string> labels_;
  std::vector<std::vector<std::string>> words_;
};

/// Refuses labels that scoring cannot tell apart: `scored[k][w]` are the token ids by which
/// word w of label k is scored (the first token at a cloze mask; the whole answer for
/// text-to-text ranking), `how` says which ("by its first token"). When a scored form of one
/// label equals one of another label, pft::Error (Config) names prompt.verbalizer, both words,
/// their labels and the shared tokens (`token_text` spells them).
void check_distinguishable(const Verbalizer& verbalizer,
                           const std::vector<std::vector<std::vector<std::int64_t>>>& scored,
                           const std::function<std::string(std::int64_t)>& token_text,
                           const std::string& how);
/// The same for words scored by one token each (`scored[k][w]`: the token of word w of label k).
void check_distinguishable(const Verbalizer& verbalizer,
                           const std::vector<std::vector<std::int64_t>>& scored,
                           const std::function<std::string(std::int64_t)>& token_text,
                           const std::string& how);

}  // namespace pft::prompt
