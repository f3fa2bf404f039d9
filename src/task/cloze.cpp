#include "pft/task/cloze.h"

#include <algorithm>
#include <tuple>

#include "pft/data/batcher.h"
#include "pft/data/jsonl.h"
#include "pft/task/metrics.h"
#include "pft/util/error.h"
#include "pft/util/fs.h"
#include "pft/util/log.h"

using nlohmann::json;

namespace pft::task {

LabelWords label_word_ids(const prompt::Verbalizer& verbalizer,
                          const tokenizer::Tokenizer& tokenizer) {
  LabelWords out;
  for (std::size_t k = 0; k < verbalizer.num_labels(); ++k) {
    std::vector<std::int64_t> ids;
    for (const auto& word : verbalizer.words(k)) {
      const auto pieces = tokenizer.tokenize_ids(word);
      if (pieces.empty()) {
        throw Error(ErrorKind::Config, "prompt.verbalizer: the word '" + word + "' of label '" +
                                           verbalizer.labels()[k] + "' has no tokens");
      }
      if (pieces.size() > 1) {
        log::warn(
            "prompt.verbalizer: '{}' (label '{}') is {} tokens; it is scored by its first, "
            "'{}'",
            word, verbalizer.labels()[k], pieces.size(), tokenizer.id_to_token(pieces[0]));
      }
      ids.push_back(pieces[0]);
    }
    out.ids.push_back(std::move(ids));
  }
  return out;
}

torch::Tensor label_scores(const torch::Tensor& vocab_logits, const LabelWords& words) {
  std::vector<torch::Tensor> columns;
  const auto opts = torch::TensorOptions().dtype(torch::kInt64).device(vocab_logits.device());
  for (const auto& ids : words.ids) {
    columns.push_back(vocab_logits.index_select(-1, torch::tensor(ids, opts)).mean(-1));
  }
  return torch::stack(columns, -1);
}

torch::Tensor calibrate(const torch::Tensor& scores, const torch::Tensor& content_free) {
  return torch::log_softmax(torch::log_softmax(scores, -1) - content_free.log(), -1);
}

train::Batch prompt_batch(const std::vector<PromptExample>& data,
                          const std::vector<std::size_t>& indices, std::int64_t pad_id,
                          const torch::Device& device) {
  std::vector<const std::vector<std::int64_t>*> rows, soft;
  std::vector<std::int64_t> labels, positions;
  for (const auto i : indices) {
    rows.push_back(&data[i].ids);
    soft.push_back(&data[i].soft_positions);
    labels.push_back(data[i].label);
    positions.push_back(data[i].mask_position);
  }
  train::Batch b;
  b.indices = indices;
  auto [ids, mask] = pad_ids(rows, pad_id, device);
  b.num_tokens = mask.sum().item<std::int64_t>();
  b.tensors["input_ids"] = ids;
  b.tensors["attention_mask"] = mask;
  const auto opts = torch::TensorOptions().dtype(torch::kInt64);
  b.tensors["labels"] = torch::tensor(labels, opts).to(device);
  if (std::all_of(positions.begin(), positions.end(), [](std::int64_t p) { return p >= 0; })) {
    b.tensors["mask_positions"] = torch::tensor(positions, opts).to(device);
  }
  if (auto s = stack_soft_positions(soft, device); s.defined()) b.tensors["soft_positions"] = s;
  return b;
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

ClozeTask::ClozeTask(model::BertForMaskedLM model, peft::PeftMethod* method,
                     const tokenizer::Tokenizer& tokenizer, const config::RunConfig& config,
                     std::vector<std::string> labels, torch::Device device, bool load_train)
    : model_(std::move(model)),
      method_(method),
      tokenizer_(tokenizer),
      labels_(std::move(labels)),
      verbalizer_(make_verbalizer(config, labels_)),
      words_(label_word_ids(verbalizer_, tokenizer)),
      label_field_(config.data.label_field),
      calibrate_(config.prompt.calibrate),
      content_free_(config.prompt.content_free),
      pad_id_(tokenizer.pad_id()),
      mask_id_(tokenizer.mask_id().value_or(-1)),
      eval_batch_size_(config.eval.batch_size),
      device_(device) {
  if (mask_id_ < 0) {
    throw Error(ErrorKind::Config, "task.type: cloze needs a tokenizer with a [MASK] token; " +
                                       config.tokenizer.path + " has none");
  }
  encoder_ =
      std::make_unique<PromptEncoder>(config, tokenizer, &verbalizer_, config.data.text_field);
  if (!encoder_->prompt_template().has_mask()) {
    throw Error(ErrorKind::Config,
                "prompt.template: the cloze task needs a template with a {mask} slot, e.g. "
                "\"{text} It was {mask}.\"");
  }
  soft_ = template_soft_tokens(*model_, encoder_->prompt_template().soft_token_count());
  std::tie(train_, eval_) = load_splits<PromptExample>(
      config, load_train, label_field_,
      [this](const std::string& path, std::size_t limit) { return load(path, limit); },
      [](const PromptExample& e) { return e.label >= 0; });
}

std::vector<PromptExample> ClozeTask::load(const std::string& path, std::size_t limit) const {
  std::vector<PromptExample> out;
  for (const auto& r : data::read_jsonl(path, limit)) {
    const prompt::Source source{path, r.line};
    PromptExample e;
    auto encoded = encoder_->encode(r.value, source, out.size());
    e.ids = std::move(encoded.ids);
    e.soft_positions = std::move(encoded.soft_positions);
    for (std::size_t i = 0; i < e.ids.size(); ++i) {
      if (e.ids[i] != mask_id_) continue;
      if (e.mask_position >= 0) {
        throw Error(ErrorKind::Input, source.describe() + ": the prompt holds more than one " +
                                          tokenizer_.id_to_token(mask_id_) +
                                          " token (does the example's text contain one?)");
      }
      e.mask_position = static_cast<std::int64_t>(i);
    }
    e.label = label_index(r, label_field_, labels_, path);
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<std::int64_t> ClozeTask::train_lengths() const { return id_lengths(train_); }

train::Batch ClozeTask::train_batch(const std::vector<std::size_t>& indices,
                                    const torch::Device& device) const {
  return prompt_batch(train_, indices, pad_id_, device);
}

torch::Tensor ClozeTask::mask_logits(const train::Batch& batch) {
  const auto& ids = batch.tensors.at("input_ids");
  const auto embeds = put_soft_tokens(model_->embed(ids), soft_, soft_positions_of(batch.tensors));
  const auto h = apply_input_hooks(method_, embeds, batch.tensors.at("attention_mask"));
  const auto hidden =
      model_->bert->forward(h.embeds, h.mask, h.types, h.prefix_ptr()).last_hidden_state;
  const auto rows = torch::arange(hidden.size(0), ids.options());
  const auto at_mask = hidden.index({rows, batch.tensors.at("mask_positions") + h.virtual_tokens});
  return model_->predict(at_mask);
}

torch::Tensor ClozeTask::scores(const train::Batch& batch) {
  return label_scores(mask_logits(batch), words_);
}

torch::Tensor ClozeTask::loss(const train::Batch& batch) {
  return torch::nn::functional::cross_entropy(scores(batch), batch.tensors.at("labels"));
}

namespace {

std::vector<float> row_values(const torch::Tensor& t, std::int64_t row) {
  const auto r = t[row].contiguous();
  return {r.data_ptr<float>(), r.data_ptr<float>() + r.numel()};
}

}  // namespace

train::EvalResult ClozeTask::evaluate(const std::string& predictions_path) {
  torch::Tensor content_free;
  if (calibrate_) {
    std::vector<PromptExample> cf(1);
    auto encoded = encoder_->encode_content_free(content_free_);
    cf[0].ids = std::move(encoded.ids);
    cf[0].soft_positions = std::move(encoded.soft_positions);
    for (std::size_t i = 0; i < cf[0].ids.size(); ++i) {
      if (cf[0].ids[i] == mask_id_) cf[0].mask_position = static_cast<std::int64_t>(i);
    }
    content_free = torch::softmax(
        scores(prompt_batch(cf, {0}, pad_id_, device_)).to(torch::kCPU).to(torch::kFloat32), -1)[0];
    std::string probabilities;
    for (const auto p : row_values(content_free.unsqueeze(0), 0)) {
      if (!probabilities.empty()) probabilities += ", ";
      probabilities += fmt::format("{:.4f}", p);
    }
    log::info("contextual calibration: content-free label probabilities {}", probabilities);
  }
  data::BatchPlanOptions o;
  o.batch_size = eval_batch_size_;
  o.shuffle = false;
  std::vector<std::int64_t> gold, predicted;
  std::string lines;
  for (const auto& indices : data::plan_batches(std::vector<std::int64_t>(eval_.size(), 0), o, 0)) {
    const auto s =
        scores(prompt_batch(eval_, indices, pad_id_, device_)).to(torch::kCPU).to(torch::kFloat32);
    const auto decision = calibrate_ ? calibrate(s, content_free) : s;
    const auto best = decision.argmax(1);
    for (std::size_t k = 0; k < indices.size(); ++k) {
      const auto row = static_cast<std::int64_t>(k);
      const auto& e = eval_[indices[k]];
      const auto p = best[row].item<std::int64_t>();
      gold.push_back(e.label);
      predicted.push_back(p);
      if (predictions_path.empty()) continue;
      json line = {{"index", indices[k]},
                   {"scores", row_values(s, row)},
                   {"prediction", labels_[static_cast<std::size_t>(p)]}};
      if (calibrate_) line["calibrated"] = row_values(decision.contiguous(), row);
      if (e.label >= 0) line["label"] = labels_[static_cast<std::size_t>(e.label)];
      lines += line.dump() + "\n";
    }
  }
  if (!predictions_path.empty()) write_file_atomic(predictions_path, lines);
  train::EvalResult r;
  r.examples = static_cast<std::int64_t>(gold.size());
  r.metrics = classification_metrics(gold, predicted, labels_);
  return r;
}

}  // namespace pft::task
