#include "pft/data/records.h"
#include "pft/task/cloze.h"

#include <algorithm>
#include <tuple>

#include "pft/data/batcher.h"
#include "pft/data/jsonl.h"
#include "pft/metrics/metrics.h"
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
  prompt::check_distinguishable(
      verbalizer, out.ids, [&](std::int64_t id) { return tokenizer.id_to_token(id); },
      "a cloze label word is scored by its first token");
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

ClozeTask::ClozeTask(std::shared_ptr<torch::nn::Module> model, peft::PeftMethod* method,
                     const tokenizer::Tokenizer& tokenizer, const config::RunConfig& config,
                     std::vector<std::string> labels, torch::Device device, bool load_train)
    : ExampleTask(device, config.eval.batch_size),
      model_(require_model<model::MaskedLM>(std::move(model), "cloze", "a masked-LM head")),
      tokenizer_(tokenizer),
      labels_(std::move(labels)),
      verbalizer_(make_verbalizer(config, labels_)),
      words_(label_word_ids(verbalizer_, tokenizer)),
      label_field_(config.data.label_field),
      data_format_(config.data.format),
      calibrate_(config.prompt.calibrate),
      content_free_(config.prompt.content_free),
      pad_id_(tokenizer.pad_id()),
      mask_id_(tokenizer.mask_id().value_or(-1)) {
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
  hooks_ = ModelHooks(
      method, template_soft_tokens(*model_.module, encoder_->prompt_template().soft_token_count()));
  std::tie(train_, eval_) = load_splits<PromptExample>(
      config, load_train, label_field_,
      [this](const std::string& path, std::size_t limit) { return load(path, limit); },
      [](const PromptExample& e) { return e.label >= 0; });
}

std::vector<PromptExample> ClozeTask::load(const std::string& path, std::size_t limit) const {
  std::vector<PromptExample> out;
  for (const auto& r : data::read_records(path, data_format_, limit)) {
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

train::Batch ClozeTask::make_batch(const std::vector<PromptExample>& data,
                                   const std::vector<std::size_t>& indices,
                                   const torch::Device& device) const {
  return prompt_batch(data, indices, pad_id_, device);
}

torch::Tensor ClozeTask::mask_logits(const train::Batch& batch) {
  const auto& ids = batch.tensors.at("input_ids");
  const auto h = hooks_.inputs(*model_, ids, batch.tensors.at("attention_mask"), {},
                               soft_positions_of(batch.tensors));
  const auto hidden = model_->encode(h.view());
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

void ClozeTask::before_predict() {
  if (!calibrate_) return;
  std::vector<PromptExample> cf(1);
  auto encoded = encoder_->encode_content_free(content_free_);
  cf[0].ids = std::move(encoded.ids);
  cf[0].soft_positions = std::move(encoded.soft_positions);
  for (std::size_t i = 0; i < cf[0].ids.size(); ++i) {
    if (cf[0].ids[i] == mask_id_) cf[0].mask_position = static_cast<std::int64_t>(i);
  }
  content_free_probabilities_ = torch::softmax(
      scores(prompt_batch(cf, {0}, pad_id_, device_)).to(torch::kCPU).to(torch::kFloat32), -1)[0];
  std::string probabilities;
  for (const auto p : row_values(content_free_probabilities_.unsqueeze(0), 0)) {
    if (!probabilities.empty()) probabilities += ", ";
    probabilities += fmt::format("{:.4f}", p);
  }
  log::info("contextual calibration: content-free label probabilities {}", probabilities);
}

std::vector<json> ClozeTask::predict_batch(const train::Batch& batch,
                                           const std::vector<std::size_t>& chunk) {
  std::vector<json> lines;
  const auto s = scores(batch).to(torch::kCPU).to(torch::kFloat32);
  const auto decision = calibrate_ ? calibrate(s, content_free_probabilities_) : s;
  const auto best = decision.argmax(1);
  for (std::size_t k = 0; k < chunk.size(); ++k) {
    const auto row = static_cast<std::int64_t>(k);
    const auto& e = eval_[chunk[k]];
    json line = {{"index", chunk[k]},
                 {"scores", row_values(s, row)},
                 {"prediction", labels_[static_cast<std::size_t>(best[row].item<std::int64_t>())]}};
    if (calibrate_) line["calibrated"] = row_values(decision.contiguous(), row);
    if (e.label >= 0) line["label"] = labels_[static_cast<std::size_t>(e.label)];
    lines.push_back(std::move(line));
  }
  return lines;
}

std::map<std::string, double> ClozeTask::score(const std::vector<json>& predictions) const {
  return classification_score(predictions, labels_);
}

}  // namespace pft::task
