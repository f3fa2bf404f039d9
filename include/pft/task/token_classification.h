#pragma once
// Token classification (BIO named-entity recognition) with BERT's token-classification head,
// on CoNLL files: one token a line, the tag in the last column, blank lines between
// sentences, -DOCSTART- lines skipped. Each word is tokenized on its own; its first
// sub-token carries the word's tag and the other sub-tokens (and [CLS]/[SEP]) are ignored
// (-100) by the loss. Predictions are read at each word's first sub-token and mapped back to
// the words; words cut off by tokenizer.max_length are predicted "O". Evaluation reports
// entity precision/recall/F1 (seqeval strict, IOB2) and word-level accuracy.

#include <torch/torch.h>

#include <string>
#include <vector>

#include "pft/config/config.h"
#include "pft/data/conll.h"
#include "pft/model/bert.h"
#include "pft/peft/method.h"
#include "pft/tokenizer/tokenizer.h"
#include "pft/train/trainer.h"

namespace pft::task {

using data::ConllSentence;
using data::read_conll;

/// A sentence as model input: [CLS] sub-tokens... [SEP].
struct AlignedSentence {
  std::vector<std::int64_t> ids;
  std::vector<std::int64_t> labels;       // per token: the word's tag index or -100
  std::vector<std::int64_t> word_starts;  // per word: index of its first sub-token, -1 if cut
};

/// Aligns `words` (their tag indices in `tags`, empty for unlabelled) with the tokenizer's
/// sub-tokens, within `max_length` tokens (0: no limit). A word with no sub-token at all
/// (e.g. only control characters) becomes the unknown token.
AlignedSentence align_words(const std::vector<std::string>& words,
                            const std::vector<std::int64_t>& tags,
                            const tokenizer::Tokenizer& tokenizer, std::size_t max_length);

/// Word-level tags from per-token predictions (class indices, [tokens]): each word takes the
/// prediction of its first sub-token; words cut off take "O" (or `labels[0]` without "O").
std::vector<std::string> word_predictions(const std::vector<std::int64_t>& token_predictions,
                                          const std::vector<std::int64_t>& word_starts,
                                          const std::vector<std::string>& labels);

/// Tag set of a run: task.labels, else the checkpoint's id2label when it has a classifier,
/// else the distinct tags of data.train, "O" first and then sorted.
std::vector<std::string> resolve_tag_labels(const config::RunConfig& config);

class TokenClassificationTask : public train::TrainableTask {
 public:
  TokenClassificationTask(model::BertForTokenClassification model, peft::PeftMethod* method,
                          const tokenizer::Tokenizer& tokenizer, const config::RunConfig& config,
                          std::vector<std::string> labels, torch::Device device,
                          bool load_train = true);

  std::vector<std::int64_t> train_lengths() const override;
  train::Batch train_batch(const std::vector<std::size_t>& indices,
                           const torch::Device& device) const override;
  torch::Tensor loss(const train::Batch& batch) override;
  bool has_eval() const override { return !eval_.empty(); }
  std::size_t eval_size() const override { return eval_.size(); }
  std::vector<nlohmann::json> predict(const std::vector<std::size_t>& indices) override;
  std::map<std::string, double> score(const std::vector<nlohmann::json>& predictions) const override;
  std::string main_metric() const override { return "f1"; }

  /// Tag logits [batch, tokens, labels] through the method's hooks (virtual tokens removed).
  torch::Tensor logits(const train::Batch& batch);

 private:
  struct Example {
    ConllSentence sentence;
    AlignedSentence aligned;
  };
  std::vector<Example> load(const std::string& path, std::size_t limit) const;
  train::Batch make_batch(const std::vector<Example>& data, const std::vector<std::size_t>& indices,
                          const torch::Device& device) const;

  model::BertForTokenClassification model_;
  peft::PeftMethod* method_;
  const tokenizer::Tokenizer& tokenizer_;
  std::vector<std::string> labels_;
  std::size_t max_length_;
  std::int64_t pad_id_;
  std::int64_t eval_batch_size_;
  std::vector<Example> train_;
  std::vector<Example> eval_;
  torch::Device device_;
};

}  // namespace pft::task
