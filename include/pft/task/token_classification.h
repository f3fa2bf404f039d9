#pragma once
// Token classification (BIO named-entity recognition) with a token-classification head,
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
#include "pft/model/interfaces.h"
#include "pft/data/conll.h"
#include "pft/peft/method.h"
#include "pft/task/hooked_model.h"
#include "pft/task/task.h"
#include "pft/tokenizer/tokenizer.h"

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

/// Tag set of a run: task.labels, else `checkpoint_labels` (a trained head's id2label), else
/// the distinct tags of data.train, "O" first and then sorted.
std::vector<std::string> resolve_tag_labels(const config::RunConfig& config,
                                            const std::vector<std::string>& checkpoint_labels);

/// A CoNLL sentence with its model input.
struct TokenExample {
  ConllSentence sentence;
  AlignedSentence aligned;
};

class TokenClassificationTask : public ExampleTask<TokenExample> {
 public:
  /// `model` must be a model::TokenClassifier.
  TokenClassificationTask(std::shared_ptr<torch::nn::Module> model, peft::PeftMethod* method,
                          const tokenizer::Tokenizer& tokenizer, const config::RunConfig& config,
                          std::vector<std::string> labels, torch::Device device,
                          bool load_train = true);

  torch::Tensor loss(const train::Batch& batch) override;
  std::map<std::string, double> score(
      const std::vector<nlohmann::json>& predictions) const override;
  std::string main_metric() const override { return "f1"; }

  /// Tag logits [batch, tokens, labels] through the method's hooks (virtual tokens removed).
  torch::Tensor logits(const train::Batch& batch);

 protected:
  std::int64_t length_of(const TokenExample& e) const override {
    return static_cast<std::int64_t>(e.aligned.ids.size());
  }
  train::Batch make_batch(const std::vector<TokenExample>& data,
                          const std::vector<std::size_t>& indices,
                          const torch::Device& device) const override;
  std::vector<nlohmann::json> predict_batch(const train::Batch& batch,
                                            const std::vector<std::size_t>& chunk) override;

 private:
  std::vector<TokenExample> load(const std::string& path, std::size_t limit) const;

  ModelRef<model::TokenClassifier> model_;
  ModelHooks hooks_;
  const tokenizer::Tokenizer& tokenizer_;
  std::vector<std::string> labels_;
  std::size_t max_length_;
  std::int64_t pad_id_;
};

}  // namespace pft::task
