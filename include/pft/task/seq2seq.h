#pragma once
// Sequence-to-sequence generation with an encoder-decoder (T5; translation, summarization): JSONL
// examples with data.source_field and data.target_field; the source optionally rendered through
// prompt.template (e.g. "translate English to German: {source}"), truncated to
// tokenizer.max_length; the target's tokens + </s> (at most tokenizer.max_length) are learned
// with teacher forcing. Evaluation generates with the generate section (greedy or beam search)
// and reports corpus BLEU (sacrebleu), ROUGE-1/2/L F1 (rouge-score) and exact match.

#include <torch/torch.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "pft/config/config.h"
#include "pft/model/interfaces.h"
#include "pft/peft/method.h"
#include "pft/task/encoder_decoder.h"
#include "pft/task/prompt_input.h"
#include "pft/task/task.h"
#include "pft/tokenizer/tokenizer.h"

namespace pft::task {

class Seq2SeqTask : public ExampleTask<Seq2SeqExample> {
 public:
  /// `model` must be a model::EncoderDecoderLM.
  Seq2SeqTask(std::shared_ptr<torch::nn::Module> model, peft::PeftMethod* method,
              const tokenizer::Tokenizer& tokenizer, const config::RunConfig& config,
              torch::Device device, bool load_train = true);

  torch::Tensor loss(const train::Batch& batch) override;
  std::map<std::string, double> score(
      const std::vector<nlohmann::json>& predictions) const override;
  std::string main_metric() const override { return "bleu"; }

 protected:
  std::int64_t length_of(const Seq2SeqExample& e) const override {
    return static_cast<std::int64_t>(std::max(e.ids.size(), e.target.size()));
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
  std::unique_ptr<PromptEncoder> encoder_;
  ModelHooks hooks_;  // the method and the template's soft tokens
  std::string target_field_;
  std::string data_format_;  // data.format: jsonl, csv, tsv, parquet, arrow or auto
  std::size_t max_length_;
  std::int64_t pad_id_;
};

}  // namespace pft::task
