#pragma once
// Cloze classification (PET, Schick & Schuetze 2021) with a masked-LM head (BERT's): the
// template's {mask} becomes the mask token ([MASK]), the vocabulary logits at that position are
// restricted to the verbalizer's words, and the label scores are trained with cross entropy over
// the labels.
//
// Label words (prompt.word_tokens, prompt.label_words): a word that splits into several
// sub-tokens is scored by its first sub-token's logit (a warning names it), by the mean or
// the max of its sub-tokens' logits, or, as PET does, with one mask per sub-token: the
// template's {mask} becomes as many mask tokens as the longest word has sub-tokens and a word
// scores the mean log-probability of its sub-tokens, each at its own mask. A label with
// several words scores the mean (or the max) of its words' scores.
// Optional contextual calibration (Zhao et al. 2021, prompt.calibrate): at evaluation the
// label probabilities are divided by those of a content-free input (every template field set
// to prompt.content_free, "N/A") and renormalised; training is not calibrated.

#include <torch/torch.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "pft/config/config.h"
#include "pft/model/interfaces.h"
#include "pft/peft/method.h"
#include "pft/prompt/verbalizer.h"
#include "pft/task/hooked_model.h"
#include "pft/task/prompt_input.h"
#include "pft/task/sequence_classification.h"
#include "pft/task/task.h"
#include "pft/tokenizer/tokenizer.h"

namespace pft::task {

/// Per label (class-index order), per word, the vocabulary ids of its sub-tokens, and how
/// they are scored.
struct LabelWords {
  std::vector<std::vector<std::vector<std::int64_t>>> tokens;
  std::string word_tokens = "first";  // first | mean | max | whole_word
  std::string label_words = "mean";   // mean | max
  /// Mask tokens the {mask} slot stands for: the longest word's sub-tokens under whole_word,
  /// else 1.
  std::int64_t masks() const;
};

/// The sub-tokens of every verbalizer word. A word with no token at all is a pft::Error
/// (Config) naming prompt.verbalizer; with `first`, one of several tokens is logged. Labels
/// that the chosen scoring cannot tell apart are a pft::Error (Config).
LabelWords label_word_ids(const prompt::Verbalizer& verbalizer,
                          const tokenizer::Tokenizer& tokenizer,
                          const std::string& word_tokens = "first",
                          const std::string& label_words = "mean");

/// Label scores [batch, labels] from vocabulary logits at the mask(s): [batch, vocab], or
/// [batch, masks, vocab] (whole_word).
torch::Tensor label_scores(const torch::Tensor& vocab_logits, const LabelWords& words);

/// Contextual calibration: log(softmax(scores) / p) renormalised, i.e. log-probabilities of the
/// calibrated distribution. `content_free` [labels] are the probabilities the model gives the
/// content-free input.
torch::Tensor calibrate(const torch::Tensor& scores, const torch::Tensor& content_free);

/// One tokenized prompt.
struct PromptExample {
  std::vector<std::int64_t> ids;
  std::int64_t mask_position = -1;           // index of [MASK] in ids (cloze)
  std::vector<std::int64_t> soft_positions;  // where the template's soft tokens go in ids
  std::int64_t label = -1;                   // -1: unlabelled
};

class ClozeTask : public ExampleTask<PromptExample> {
 public:
  /// `model` must be a model::MaskedLM.
  ClozeTask(std::shared_ptr<torch::nn::Module> model, peft::PeftMethod* method,
            const tokenizer::Tokenizer& tokenizer, const config::RunConfig& config,
            std::vector<std::string> labels, torch::Device device, bool load_train = true);

  torch::Tensor loss(const train::Batch& batch) override;
  std::map<std::string, double> score(
      const std::vector<nlohmann::json>& predictions) const override;
  std::string main_metric() const override { return "accuracy"; }

  /// Label scores [batch, labels] of a batch, through the method's hooks.
  torch::Tensor scores(const train::Batch& batch);
  /// Vocabulary logits at the mask position: [batch, vocab], or [batch, masks, vocab] when
  /// the {mask} slot holds several masks (whole_word).
  torch::Tensor mask_logits(const train::Batch& batch);
  const LabelWords& words() const { return words_; }

 protected:
  std::int64_t length_of(const PromptExample& e) const override {
    return static_cast<std::int64_t>(e.ids.size());
  }
  train::Batch make_batch(const std::vector<PromptExample>& data,
                          const std::vector<std::size_t>& indices,
                          const torch::Device& device) const override;
  std::vector<nlohmann::json> predict_batch(const train::Batch& batch,
                                            const std::vector<std::size_t>& chunk) override;
  void before_predict() override;

 private:
  std::vector<PromptExample> load(const std::string& path, std::size_t limit) const;
  /// Position of the first of the {mask} slot's masks; a mask token elsewhere is a
  /// pft::Error (Input) naming `source`.
  std::int64_t find_masks(const std::vector<std::int64_t>& ids,
                          const prompt::Source& source) const;

  ModelRef<model::MaskedLM> model_;
  const tokenizer::Tokenizer& tokenizer_;
  std::vector<std::string> labels_;
  prompt::Verbalizer verbalizer_;
  LabelWords words_;
  std::unique_ptr<PromptEncoder> encoder_;
  ModelHooks hooks_;  // the method and the template's soft tokens
  std::string label_field_;
  std::string data_format_;  // data.format: jsonl, csv, tsv, parquet, arrow or auto
  bool calibrate_;
  std::string content_free_;
  torch::Tensor content_free_probabilities_;  // [labels], when calibrating
  std::int64_t pad_id_;
  std::int64_t mask_id_;
};

/// Builds the batch tensors of prompt examples: input_ids, attention_mask, labels,
/// mask_positions (when every example has one) and soft_positions (when the template has
/// {soft} slots).
train::Batch prompt_batch(const std::vector<PromptExample>& data,
                          const std::vector<std::size_t>& indices, std::int64_t pad_id,
                          const torch::Device& device);

}  // namespace pft::task
