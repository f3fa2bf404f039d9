#pragma once
// Text-to-text classification with an encoder-decoder (T5): the input is the rendered
// prompt.template (a {mask} slot becomes T5's first sentinel, <extra_id_0>), the target is the
// label's first verbalizer word (the label itself without a verbalizer) followed by </s>. Training
// is teacher forcing (targets shifted right after decoder_start_token_id; padding ignored as -100).
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
#include "pft/model/interfaces.h"
#include "pft/peft/method.h"
#include "pft/prompt/verbalizer.h"
#include "pft/task/encoder_decoder.h"
#include "pft/task/prompt_input.h"
#include "pft/task/task.h"
#include "pft/tokenizer/tokenizer.h"

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

class TextToTextTask : public ExampleTask<Seq2SeqExample> {
 public:
  /// `model` must be a model::EncoderDecoderLM.
  TextToTextTask(std::shared_ptr<torch::nn::Module> model, peft::PeftMethod* method,
                 const tokenizer::Tokenizer& tokenizer, const config::RunConfig& config,
                 std::vector<std::string> labels, torch::Device device, bool load_train = true);

  torch::Tensor loss(const train::Batch& batch) override;
  std::map<std::string, double> score(
      const std::vector<nlohmann::json>& predictions) const override;
  std::string main_metric() const override { return "accuracy"; }

  /// Rank-classification label scores [batch, labels] of a batch.
  torch::Tensor scores(const train::Batch& batch);

 protected:
  std::int64_t length_of(const Seq2SeqExample& e) const override {
    return static_cast<std::int64_t>(e.ids.size());
  }
  train::Batch make_batch(const std::vector<Seq2SeqExample>& data,
                          const std::vector<std::size_t>& indices,
                          const torch::Device& device) const override;
  std::vector<nlohmann::json> predict_batch(const train::Batch& batch,
                                            const std::vector<std::size_t>& chunk) override;

 private:
  std::vector<Seq2SeqExample> load(const std::string& path, std::size_t limit) const;

  ModelRef<model::EncoderDecoderLM> model_;
  const tokenizer::Tokenizer& tokenizer_;
  config::GenerateConfig generate_;
  std::string predict_by_;
  std::vector<std::string> labels_;
  prompt::Verbalizer verbalizer_;
  RankCandidates candidates_;
  std::unique_ptr<PromptEncoder> encoder_;
  ModelHooks hooks_;  // the method and the template's soft tokens
  std::string label_field_;
  std::string data_format_;  // data.format: jsonl, csv, tsv, parquet, arrow or auto
  std::size_t max_length_;
  std::int64_t pad_id_;
};

}  // namespace pft::task
