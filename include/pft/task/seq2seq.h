#pragma once
// Sequence-to-sequence generation with T5 (translation, summarization): JSONL examples with
// data.source_field and data.target_field; the source optionally rendered through
// prompt.template (e.g. "translate English to German: {source}"), truncated to
// tokenizer.max_length; the target's tokens + </s> (at most tokenizer.max_length) are learned
// with teacher forcing. Evaluation generates with the generate section (greedy or beam search)
// and reports corpus BLEU (sacrebleu), ROUGE-1/2/L F1 (rouge-score) and exact match.

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "pft/config/config.h"
#include "pft/model/t5.h"
#include "pft/peft/method.h"
#include "pft/task/prompt_input.h"
#include "pft/task/t5_tasks.h"
#include "pft/tokenizer/tokenizer.h"
#include "pft/train/trainer.h"

namespace pft::task {

class Seq2SeqTask : public train::TrainableTask {
 public:
  Seq2SeqTask(model::T5 model, peft::PeftMethod* method, const tokenizer::Tokenizer& tokenizer,
              const config::RunConfig& config, torch::Device device, bool load_train = true);

  std::vector<std::int64_t> train_lengths() const override;
  train::Batch train_batch(const std::vector<std::size_t>& indices,
                           const torch::Device& device) const override;
  torch::Tensor loss(const train::Batch& batch) override;
  bool has_eval() const override { return !eval_.empty(); }
  std::size_t eval_size() const override { return eval_.size(); }
  std::vector<nlohmann::json> predict(const std::vector<std::size_t>& indices) override;
  std::map<std::string, double> score(const std::vector<nlohmann::json>& predictions) const override;
  std::string main_metric() const override { return "bleu"; }

 private:
  std::vector<Seq2SeqExample> load(const std::string& path, std::size_t limit) const;

  model::T5 model_;
  peft::PeftMethod* method_;
  const tokenizer::Tokenizer& tokenizer_;
  config::GenerateConfig generate_;
  std::unique_ptr<PromptEncoder> encoder_;
  torch::Tensor soft_;  // the template's soft tokens; undefined without {soft} slots
  std::string target_field_;
  std::size_t max_length_;
  std::int64_t pad_id_;
  std::int64_t eval_batch_size_;
  std::vector<Seq2SeqExample> train_;
  std::vector<Seq2SeqExample> eval_;
  torch::Device device_;
};

}  // namespace pft::task
