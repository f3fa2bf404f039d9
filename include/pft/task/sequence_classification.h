#pragma once
// Sequence classification with a classification head (BERT's linear head on the pooled
// output, or any family's SequenceClassifier): examples from JSONL
// (data.text_field, optional data.text_pair_field, data.label_field), optionally rendered
// through prompt.template first, tokenized once, batched with dynamic padding. Loss is cross
// entropy; evaluation reports accuracy, macro F1 and micro F1 (docs/metrics.md).

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "pft/config/config.h"
#include "pft/model/interfaces.h"
#include "pft/peft/method.h"
#include "pft/task/hooked_model.h"
#include "pft/task/task.h"
#include "pft/tokenizer/tokenizer.h"

namespace pft::task {

/// One tokenized example.
struct ClassificationExample {
  std::vector<std::int64_t> ids;
  std::vector<std::int64_t> type_ids;
  std::int64_t label = -1;  // -1: unlabelled
};

/// Reads and tokenizes `path`. Labels not in `labels` are an error naming file and line.
std::vector<ClassificationExample> load_classification_data(const std::string& path,
                                                            const config::RunConfig& config,
                                                            const tokenizer::Tokenizer& tokenizer,
                                                            const std::vector<std::string>& labels,
                                                            std::size_t limit);

/// The label rule of the tasks with a classification head: task.labels, else
/// `checkpoint_labels` (the id2label of a checkpoint whose head is trained, see
/// model::checkpoint_labels), else `from_training_data()`; without data.train a pft::Error
/// (Config) naming task.labels and the `what` head that is missing.
std::vector<std::string> resolve_labels_or(
    const config::RunConfig& config, const std::vector<std::string>& checkpoint_labels,
    const std::string& what, const std::function<std::vector<std::string>()>& from_training_data);

/// Label names of a sequence-classification run (resolve_labels_or; from the training data:
/// its sorted distinct labels).
std::vector<std::string> resolve_labels(const config::RunConfig& config,
                                        const std::vector<std::string>& checkpoint_labels);

/// Classification metrics (accuracy, macro_f1, micro_f1) when every gold label is known; a
/// prediction outside `labels` (-1) counts as wrong, as an extra class left out of the macro
/// average.
std::map<std::string, double> classification_metrics(const std::vector<std::int64_t>& gold,
                                                     const std::vector<std::int64_t>& predicted,
                                                     const std::vector<std::string>& labels);

/// classification_metrics() of prediction lines: their "prediction" (a label name, or null)
/// against their "label" (absent when the example has none: then no metrics).
std::map<std::string, double> classification_score(const std::vector<nlohmann::json>& predictions,
                                                   const std::vector<std::string>& labels);

class SequenceClassificationTask : public ExampleTask<ClassificationExample> {
 public:
  /// `model` must be a model::SequenceClassifier.
  SequenceClassificationTask(std::shared_ptr<torch::nn::Module> model, peft::PeftMethod* method,
                             const tokenizer::Tokenizer& tokenizer, const config::RunConfig& config,
                             std::vector<std::string> labels, torch::Device device,
                             bool load_train = true);

  torch::Tensor loss(const train::Batch& batch) override;
  std::map<std::string, double> score(
      const std::vector<nlohmann::json>& predictions) const override;
  std::string main_metric() const override { return "accuracy"; }

  /// Logits [batch, labels] for a batch, through the method's hooks.
  torch::Tensor logits(const train::Batch& batch);

 protected:
  std::int64_t length_of(const ClassificationExample& e) const override {
    return static_cast<std::int64_t>(e.ids.size());
  }
  train::Batch make_batch(const std::vector<ClassificationExample>& data,
                          const std::vector<std::size_t>& indices,
                          const torch::Device& device) const override;
  std::vector<nlohmann::json> predict_batch(const train::Batch& batch,
                                            const std::vector<std::size_t>& chunk) override;

 private:
  ModelRef<model::SequenceClassifier> model_;
  ModelHooks hooks_;
  std::vector<std::string> labels_;
  std::int64_t pad_id_;
};

}  // namespace pft::task
