#include "pft/task/sequence_classification.h"

#include <algorithm>
#include <set>

#include "pft/data/batcher.h"
#include "pft/data/jsonl.h"
#include "pft/io/checkpoint.h"
#include "pft/model/bert_loader.h"
#include "pft/task/metrics.h"
#include "pft/util/error.h"
#include "pft/util/fs.h"
#include "pft/util/log.h"
#include "pft/util/strings.h"

using nlohmann::json;

namespace pft::task {

std::vector<std::string> resolve_labels_or(
    const config::RunConfig& config, const std::string& what,
    const std::function<std::vector<std::string>()>& from_training_data) {
  if (!config.task.labels.empty()) return config.task.labels;
  // A fine-tuned checkpoint names its classes in config.json's id2label (task.labels' docs).
  const auto state = io::read_state_dict(config.model.path);
  if (state.tensors.count("classifier.weight") != 0) {
    return model::read_bert_config(config.model.path).id2label;
  }
  if (config.data.train.empty()) {
    throw Error(ErrorKind::Config,
                "task.labels: empty, and " + config.model.path + " has no " + what +
                    " head whose id2label could name them, nor is there a data.train to "
                    "collect them from; list them in task.labels");
  }
  return from_training_data();
}

std::vector<std::string> resolve_labels(const config::RunConfig& config) {
  return resolve_labels_or(config, "classification", [&] {
    std::set<std::string> seen;
    for (const auto& r : data::read_jsonl(config.data.train)) {
      seen.insert(data::string_field(r, config.data.label_field, config.data.train));
    }
    return std::vector<std::string>(seen.begin(), seen.end());
  });
}

ClassificationData load_classification_data(const std::string& path, const config::RunConfig& c,
                                            const tokenizer::Tokenizer& tokenizer,
                                            const std::vector<std::string>& labels,
                                            std::size_t limit) {
  ClassificationData out;
  out.path = path;
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
  for (const auto& r : data::read_jsonl(path, limit)) {
    const std::string text = tmpl ? tmpl->render_text(r.value, {path, r.line})
                                  : data::string_field(r, c.data.text_field, path);
    const auto enc =
        c.data.text_pair_field.empty()
            ? tokenizer.encode(text, eo)
            : tokenizer.encode_pair(text, data::string_field(r, c.data.text_pair_field, path), eo);
    ClassificationExample e{enc.ids, enc.type_ids, -1};
    if (r.value.contains(c.data.label_field)) {
      const auto label = data::string_field(r, c.data.label_field, path);
      const auto it = std::find(labels.begin(), labels.end(), label);
      if (it == labels.end()) {
        throw Error(ErrorKind::Input, path + ":" + std::to_string(r.line) + ": label '" + label +
                                          "' is not one of task.labels (" +
                                          join_alternatives(labels) + ")");
      }
      e.label = it - labels.begin();
    }
    out.examples.push_back(std::move(e));
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

std::vector<std::vector<std::size_t>> eval_batches(const std::vector<std::size_t>& indices,
                                                   std::int64_t batch_size) {
  std::vector<std::vector<std::size_t>> out;
  const auto size = static_cast<std::size_t>(std::max<std::int64_t>(batch_size, 1));
  for (std::size_t i = 0; i < indices.size(); i += size) {
    out.emplace_back(indices.begin() + static_cast<std::ptrdiff_t>(i),
                     indices.begin() + static_cast<std::ptrdiff_t>(std::min(indices.size(), i + size)));
  }
  return out;
}

peft::ModelInfo bert_model_info(const model::BertConfig& config, const std::string& path,
                                const std::string& task_type) {
  peft::ModelInfo info;
  info.model_type = "bert";
  info.task_type = task_type;
  info.base_model_name_or_path = path;
  info.hidden_size = config.hidden_size;
  info.num_layers = config.num_hidden_layers;
  info.num_heads = config.num_attention_heads;
  info.head_dim = config.head_dim();
  info.vocab_size = config.vocab_size;
  info.modules_to_save = {"classifier"};
  info.default_targets = {"query", "value"};
  info.word_embeddings = "bert.embeddings.word_embeddings.weight";
  return info;
}

SequenceClassificationTask::SequenceClassificationTask(model::BertForSequenceClassification model,
                                                       peft::PeftMethod* method,
                                                       const tokenizer::Tokenizer& tokenizer,
                                                       const config::RunConfig& config,
                                                       std::vector<std::string> labels,
                                                       torch::Device device, bool load_train)
    : model_(std::move(model)),
      method_(method),
      labels_(std::move(labels)),
      pad_id_(tokenizer.pad_id()),
      eval_batch_size_(config.eval.batch_size),
      device_(device) {
  if (load_train) {
    train_ = load_classification_data(config.data.train, config, tokenizer, labels_,
                                      static_cast<std::size_t>(config.data.max_train_examples));
    for (std::size_t i = 0; i < train_.examples.size(); ++i) {
      if (train_.examples[i].label < 0) {
        throw Error(ErrorKind::Input, config.data.train + ": example " + std::to_string(i + 1) +
                                          " has no '" + config.data.label_field + "' field");
      }
    }
  }
  if (!config.data.eval.empty()) {
    eval_ = load_classification_data(config.data.eval, config, tokenizer, labels_,
                                     static_cast<std::size_t>(config.data.max_eval_examples));
  }
  log::info("data: {} training and {} evaluation examples", train_.examples.size(),
            eval_.examples.size());
}

std::vector<std::int64_t> SequenceClassificationTask::train_lengths() const {
  std::vector<std::int64_t> lengths;
  lengths.reserve(train_.examples.size());
  for (const auto& e : train_.examples) lengths.push_back(static_cast<std::int64_t>(e.ids.size()));
  return lengths;
}

train::Batch SequenceClassificationTask::make_batch(const ClassificationData& data,
                                                    const std::vector<std::size_t>& indices,
                                                    const torch::Device& device) const {
  std::vector<const std::vector<std::int64_t>*> ids, types;
  std::vector<std::int64_t> labels;
  for (const auto i : indices) {
    ids.push_back(&data.examples[i].ids);
    types.push_back(&data.examples[i].type_ids);
    labels.push_back(data.examples[i].label);
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

train::Batch SequenceClassificationTask::train_batch(const std::vector<std::size_t>& indices,
                                                     const torch::Device& device) const {
  return make_batch(train_, indices, device);
}

torch::Tensor SequenceClassificationTask::logits(const train::Batch& batch) {
  auto embeds = model_->embed(batch.tensors.at("input_ids"));
  auto mask = batch.tensors.at("attention_mask");
  auto types = batch.tensors.at("token_type_ids");
  std::optional<model::LayerPrefixes> prefixes;
  if (method_ != nullptr) {
    if (const auto n = method_->num_virtual_tokens(); n > 0) {
      embeds = method_->prepend_virtual_tokens(embeds);
      mask = torch::cat({torch::ones({mask.size(0), n}, mask.options()), mask}, 1);
      types = torch::cat({torch::zeros({types.size(0), n}, types.options()), types}, 1);
    }
    prefixes = method_->prefixes(embeds.size(0), embeds.device());
  }
  return model_->forward(embeds, mask, types, prefixes ? &*prefixes : nullptr);
}

torch::Tensor SequenceClassificationTask::loss(const train::Batch& batch) {
  return torch::nn::functional::cross_entropy(logits(batch), batch.tensors.at("labels"));
}

std::vector<json> SequenceClassificationTask::predict(const std::vector<std::size_t>& indices) {
  std::vector<json> lines;
  for (const auto& chunk : eval_batches(indices, eval_batch_size_)) {
    const auto out = logits(make_batch(eval_, chunk, device_)).to(torch::kCPU).to(torch::kFloat32).contiguous();
    const auto best = out.argmax(1);
    for (std::size_t k = 0; k < chunk.size(); ++k) {
      const auto& e = eval_.examples[chunk[k]];
      const auto row = out[static_cast<std::int64_t>(k)];
      json line = {{"index", chunk[k]},
                   {"logits", std::vector<float>(row.data_ptr<float>(), row.data_ptr<float>() + row.numel())},
                   {"prediction", labels_[static_cast<std::size_t>(best[static_cast<std::int64_t>(k)].item<std::int64_t>())]}};
      if (e.label >= 0) line["label"] = labels_[static_cast<std::size_t>(e.label)];
      lines.push_back(std::move(line));
    }
  }
  return lines;
}

std::map<std::string, double> SequenceClassificationTask::score(const std::vector<json>& predictions) const {
  return classification_score(predictions, labels_);
}

}  // namespace pft::task
