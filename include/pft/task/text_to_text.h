#pragma once
// Text-to-text classification with T5: the input is the rendered prompt.template (a {mask}
// slot becomes T5's first sentinel, <extra_id_0>), the target is the label's first verbalizer
// word (the label itself without a verbalizer) followed by </s>. Training is teacher forcing
// (targets shifted right after decoder_start_token_id; padding ignored as -100).
//
// Prediction (eval.predict_by): `rank` (default) scores every label by the log-likelihood of
// its words as the target (the sum of their tokens' log-probabilities, </s> included; the
// mean over a label's words) and takes the best; `generate` generates with generate.* and
// takes the label one of whose words equals the generated text (surrounding white space
// ignored), a text matching none counting as wrong.

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "pft/config/config.h"
#include "pft/model/t5.h"
#include "pft/peft/method.h"
#include "pft/prompt/verbalizer.h"
#include "pft/task/prompt_input.h"
#include "pft/task/t5_tasks.h"
#include "pft/tokenizer/tokenizer.h"
#include "pft/train/trainer.h"

namespace pft::task {

/// The candidate targets of rank classification: every word of every label, tokenized with
/// EOS, and the label it belongs to.
struct RankCandidates {
  std::vector<std::vector<std::int64_t>> targets;
  std::vector<std::int64_t> label;  // per target
  std::int64_t num_labels = 0;
};
RankCandidates rank_candidates(const prompt::Verbalizer& verbalizer,
                               const tokenizer::Tokenizer& tokenizer);

/// Label scores [batch, labels] from candidate log-likelihoods [batch, candidates]: per
/// label, the mean over its candidates.
torch::Tensor rank_scores(const torch::Tensor& candidate_scores, const RankCandidates& candidates);

class TextToTextTask : public train::TrainableTask {
 public:
  TextToTextTask(model::T5 model, peft::PeftMethod* method, const tokenizer::Tokenizer& tokenizer,
                 const config::RunConfig& config, std::vector<std::string> labels,
                 torch::Device device, bool load_train = true);

  std::vector<std::int64_t> train_lengths() const override;
  train::Batch train_batch(const std::vector<std::size_t>& indices,
                           const torch::Device& device) const override;
  torch::Tensor loss(const train::Batch& batch) override;
  bool has_eval() const override { return !eval_.empty(); }
  std::size_t eval_size() const override { return eval_.size(); }
  std::vector<nlohmann::json> predict(const std::vector<std::size_t>& indices) override;
  std::map<std::string, double> score(const std::vector<nlohmann::json>& predictions) const override;
  std::string main_metric() const override { return "accuracy"; }

  /// Rank-classification label scores [batch, labels] of a batch.
  torch::Tensor scores(const train::Batch& batch);

 private:
  std::vector<Seq2SeqExample> load(const std::string& path, std::size_t limit) const;

  model::T5 model_;
  peft::PeftMethod* method_;
  const tokenizer::Tokenizer& tokenizer_;
  config::GenerateConfig generate_;
  std::string predict_by_;
  std::vector<std::string> labels_;
  prompt::Verbalizer verbalizer_;
  RankCandidates candidates_;
  std::unique_ptr<PromptEncoder> encoder_;
  torch::Tensor soft_;  // the template's soft tokens; undefined without {soft} slots
  std::string label_field_;
  std::size_t max_length_;
  std::int64_t pad_id_;
  std::int64_t eval_batch_size_;
  std::vector<Seq2SeqExample> train_;
  std::vector<Seq2SeqExample> eval_;
  torch::Device device_;
};

}  // namespace pft::task
