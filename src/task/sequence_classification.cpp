#include "pft/task/sequence_classification.h"
#include "pft/data/records.h"

#include <algorithm>
#include <set>

#include "pft/data/batcher.h"
#include "pft/data/jsonl.h"
#include "pft/metrics/metrics.h"
#include "pft/prompt/template.h"
#include "pft/util/error.h"
#include "pft/util/fs.h"
#include "pft/util/log.h"
#include "pft/util/strings.h"

using nlohmann::json;

namespace pft::task {

std::vector<std::string> resolve_labels_or(
    const config::RunConfig& config, const std::vector<std::string>& checkpoint_labels,
    const std::string& what, const std::function<std::vector<std::string>()>& from_training_data) {
  if (!config.task.labels.empty()) return config.task.labels;
  // A fine-tuned checkpoint names its classes in config.json's id2label (task.labels' docs).
  if (!checkpoint_labels.empty()) return checkpoint_labels;
  if (config.data.train.empty()) {
    throw Error(ErrorKind::Config,
                "task.labels: empty, and " + config.model.path + " has no " + what +
                    " head whose id2label could name them, nor is there a data.train to "
                    "collect them from; list them in task.labels");
  }
  return from_training_data();
}

std::vector<std::string> resolve_labels(const config::RunConfig& config,
                                        const std::vector<std::string>& checkpoint_labels) {
  return resolve_labels_or(config, checkpoint_labels, "classification", [&] {
    std::set<std::string> seen;
    for (const auto& r : data::read_records(config.data.train, config.data.format)) {
      seen.insert(data::label_value(r, config.data.label_field, {}, config.data.train));
    }
    return std::vector<std::string>(seen.begin(), seen.end());
  });
}

std::vector<ClassificationExample> load_classification_data(const std::string& path,
                                                            const config::RunConfig& c,
                                                            const tokenizer::Tokenizer& tokenizer,
                                                            const std::vector<std::string>& labels,
                                                            std::size_t limit) {
  std::vector<ClassificationExample> out;
  std::optional<prompt::Template> tmpl;
  if (!c.prompt.template_text.empty()) {
    tmpl.emplace(c.prompt.template_text, "prompt.template");
    if (tmpl->has_mask() || tmpl->has_demos() || tmpl->soft_token_count() > 0) {
      throw Error(ErrorKind::Config,
                  "prompt.template: a sequence_classification task renders plain text; "
                  "{mask}, {soft} and {demos} belong to cloze and text-to-text tasks");
    }
  }
  tokenizer::EncodeOptions eo;
  eo.max_length = static_cast<std::size_t>(c.tokenizer.max_length);
  eo.truncation = c.tokenizer.truncation;
  for (const auto& r : data::read_records(path, c.data.format, limit)) {
    const std::string text = tmpl ? tmpl->render_text(r.value, {path, r.line})
                                  : data::string_field(r, c.data.text_field, path);
    const auto enc =
        c.data.text_pair_field.empty()
            ? tokenizer.encode(text, eo)
            : tokenizer.encode_pair(text, data::string_field(r, c.data.text_pair_field, path), eo);
    ClassificationExample e{enc.ids, enc.type_ids, -1};
    if (r.value.contains(c.data.label_field) && !r.value[c.data.label_field].is_null()) {
      const auto label = data::label_value(r, c.data.label_field, labels, path);
      const auto it = std::find(labels.begin(), labels.end(), label);
      if (it == labels.end()) {
        throw Error(ErrorKind::Input, path + ":" + std::to_string(r.line) + ": label '" + label +
                                          "' is not one of task.labels (" +
                                          join_alternatives(labels) + ")");
      }
      e.label = it - labels.begin();
    }
    out.push_back(std::move(e));
  }
  return out;
}

std::map<std::string, double> classification_metrics(const std::vector<std::int64_t>& gold,
                                                     const std::vector<std::int64_t>& predicted,
                                                     const std::vector<std::string>& labels) {
  if (gold.empty() || std::any_of(gold.begin(), gold.end(), [](std::int64_t g) { return g < 0; })) {
    return {};
  }
  // A prediction that is no label (a generated text matching no label word) counts as wrong:
  // it is scored as an extra class, left out of the macro average.
  auto names = labels;
  auto p = predicted;
  const auto k = static_cast<std::int64_t>(labels.size());
  const bool other =
      std::any_of(p.begin(), p.end(), [k](std::int64_t x) { return x < 0 || x >= k; });
  if (other) {
    names.push_back("(none)");
    for (auto& x : p) x = (x < 0 || x >= k) ? k : x;
  }
  const auto report = metrics::classify(gold, p, names);
  double macro = report.macro_f1;
  if (other) {
    macro = 0;
    for (std::int64_t c = 0; c < k; ++c) macro += report.per_class[static_cast<std::size_t>(c)].f1;
    macro /= static_cast<double>(k);
  }
  return {{"accuracy", report.accuracy}, {"macro_f1", macro}, {"micro_f1", report.micro_f1}};
}

std::map<std::string, double> classification_score(const std::vector<json>& predictions,
                                                   const std::vector<std::string>& labels) {
  const auto index_of = [&](const json& name) -> std::int64_t {
    if (!name.is_string()) return -1;
    const auto it = std::find(labels.begin(), labels.end(), name.get<std::string>());
    return it == labels.end() ? -1 : static_cast<std::int64_t>(it - labels.begin());
  };
  std::vector<std::int64_t> gold, predicted;
  for (const auto& p : predictions) {
    if (!p.contains("label")) return {};
    gold.push_back(index_of(p["label"]));
    predicted.push_back(index_of(p.value("prediction", json())));
  }
  return classification_metrics(gold, predicted, labels);
}

SequenceClassificationTask::SequenceClassificationTask(std::shared_ptr<torch::nn::Module> model,
                                                       peft::PeftMethod* method,
                                                       const tokenizer::Tokenizer& tokenizer,
                                                       const config::RunConfig& config,
                                                       std::vector<std::string> labels,
                                                       torch::Device device, bool load_train)
    : ExampleTask(device, config.eval.batch_size),
      model_(require_model<model::SequenceClassifier>(std::move(model), "sequence_classification",
                                                      "a sequence-classification head")),
      hooks_(method),
      labels_(std::move(labels)),
      pad_id_(tokenizer.pad_id()) {
  if (load_train) {
    train_ = load_classification_data(config.data.train, config, tokenizer, labels_,
                                      static_cast<std::size_t>(config.data.max_train_examples));
    for (std::size_t i = 0; i < train_.size(); ++i) {
      if (train_[i].label < 0) {
        throw Error(ErrorKind::Input, config.data.train + ": example " + std::to_string(i + 1) +
                                          " has no '" + config.data.label_field + "' field");
      }
    }
  }
  if (!config.data.eval.empty()) {
    eval_ = load_classification_data(config.data.eval, config, tokenizer, labels_,
                                     static_cast<std::size_t>(config.data.max_eval_examples));
  }
  log::info("data: {} training and {} evaluation examples", train_.size(), eval_.size());
}

train::Batch SequenceClassificationTask::make_batch(const std::vector<ClassificationExample>& data,
                                                    const std::vector<std::size_t>& indices,
                                                    const torch::Device& device) const {
  std::vector<const std::vector<std::int64_t>*> ids, types;
  std::vector<std::int64_t> labels;
  for (const auto i : indices) {
    ids.push_back(&data[i].ids);
    types.push_back(&data[i].type_ids);
    labels.push_back(data[i].label);
  }
  const auto p = data::pad_rows(ids, pad_id_);
  const auto t = data::pad_rows(types, 0);
  const auto opts = torch::TensorOptions().dtype(torch::kInt64);
  train::Batch b;
  b.indices = indices;
  b.tensors["input_ids"] = torch::tensor(p.values, opts).view({p.rows, p.width}).to(device);
  b.tensors["attention_mask"] = torch::tensor(p.mask, opts).view({p.rows, p.width}).to(device);
  b.tensors["token_type_ids"] = torch::tensor(t.values, opts).view({t.rows, t.width}).to(device);
  b.tensors["labels"] = torch::tensor(labels, opts).to(device);
  for (const auto m : p.mask) b.num_tokens += m;
  return b;
}

torch::Tensor SequenceClassificationTask::logits(const train::Batch& batch) {
  const auto h =
      hooks_.inputs(*model_, batch.tensors.at("input_ids"), batch.tensors.at("attention_mask"),
                    batch.tensors.at("token_type_ids"));
  return model_->classify(h.view());
}

torch::Tensor SequenceClassificationTask::loss(const train::Batch& batch) {
  return torch::nn::functional::cross_entropy(logits(batch), batch.tensors.at("labels"));
}

std::vector<json> SequenceClassificationTask::predict_batch(const train::Batch& batch,
                                                            const std::vector<std::size_t>& chunk) {
  std::vector<json> lines;
  const auto out = logits(batch).to(torch::kCPU).to(torch::kFloat32).contiguous();
  const auto best = out.argmax(1);
  for (std::size_t k = 0; k < chunk.size(); ++k) {
    const auto& e = eval_[chunk[k]];
    const auto row = out[static_cast<std::int64_t>(k)];
    json line = {
        {"index", chunk[k]},
        {"logits", std::vector<float>(row.data_ptr<float>(), row.data_ptr<float>() + row.numel())},
        {"prediction", labels_[static_cast<std::size_t>(
                           best[static_cast<std::int64_t>(k)].item<std::int64_t>())]}};
    if (e.label >= 0) line["label"] = labels_[static_cast<std::size_t>(e.label)];
    lines.push_back(std::move(line));
  }
  return lines;
}

std::map<std::string, double> SequenceClassificationTask::score(
    const std::vector<json>& predictions) const {
  return classification_score(predictions, labels_);
}

}  // namespace pft::task
