#pragma once
// Sequence classification with a linear head on BERT's pooled output: examples from JSONL
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
#include "pft/model/bert.h"
#include "pft/peft/method.h"
#include "pft/prompt/template.h"
#include "pft/tokenizer/tokenizer.h"
#include "pft/train/trainer.h"

namespace pft::task {

/// One tokenized example.
struct ClassificationExample {
  std::vector<std::int64_t> ids;
  std::vector<std::int64_t> type_ids;
  std::int64_t label = -1;  // -1: unlabelled
};

struct ClassificationData {
  std::vector<ClassificationExample> examples;
  std::string path;
};

/// Reads and tokenizes `path`. Labels not in `labels` are an error naming file and line.
ClassificationData load_classification_data(const std::string& path, const config::RunConfig& config,
                                            const tokenizer::Tokenizer& tokenizer,
                                            const std::vector<std::string>& labels, std::size_t limit);

/// Label names for a run: task.labels, else the checkpoint's id2label when it has a
/// classification head, else the sorted distinct labels of the training file.
std::vector<std::string> resolve_labels(const config::RunConfig& config);

/// The label rule shared by the tasks with a head: task.labels, else the checkpoint's
/// id2label when it has a `classifier`, else `from_training_data()`; without data.train a
/// pft::Error (Config) naming task.labels and the `what` head that is missing.
std::vector<std::string> resolve_labels_or(const config::RunConfig& config, const std::string& what,
                                           const std::function<std::vector<std::string>()>& from_training_data);

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

/// `indices` cut into consecutive batches of at most `batch_size` (evaluation order).
std::vector<std::vector<std::size_t>> eval_batches(const std::vector<std::size_t>& indices,
                                                   std::int64_t batch_size);

class SequenceClassificationTask : public train::TrainableTask {
 public:
  SequenceClassificationTask(model::BertForSequenceClassification model, peft::PeftMethod* method,
                             const tokenizer::Tokenizer& tokenizer, const config::RunConfig& config,
                             std::vector<std::string> labels, torch::Device device, bool load_train = true);

  std::vector<std::int64_t> train_lengths() const override;
  train::Batch train_batch(const std::vector<std::size_t>& indices, const torch::Device& device) const override;
  torch::Tensor loss(const train::Batch& batch) override;
  bool has_eval() const override { return !eval_.examples.empty(); }
  std::size_t eval_size() const override { return eval_.examples.size(); }
  std::vector<nlohmann::json> predict(const std::vector<std::size_t>& indices) override;
  std::map<std::string, double> score(const std::vector<nlohmann::json>& predictions) const override;
  std::string main_metric() const override { return "accuracy"; }

  /// Logits [batch, labels] for a batch, through the method's hooks.
  torch::Tensor logits(const train::Batch& batch);

 private:
  train::Batch make_batch(const ClassificationData& data, const std::vector<std::size_t>& indices,
                          const torch::Device& device) const;

  model::BertForSequenceClassification model_;
  peft::PeftMethod* method_;
  std::vector<std::string> labels_;
  std::int64_t pad_id_;
  std::int64_t eval_batch_size_;
  ClassificationData train_;
  ClassificationData eval_;
  torch::Device device_;
};

/// What PEFT methods need to know of a BERT classifier.
peft::ModelInfo bert_model_info(const model::BertConfig& config, const std::string& path, const std::string& task_type);

}  // namespace pft::task
