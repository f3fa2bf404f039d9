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

std::int64_t LabelWords::masks() const {
  if (word_tokens != "whole_word") return 1;
  std::size_t longest = 1;
  for (const auto& words : tokens) {
    for (const auto& word : words) longest = std::max(longest, word.size());
  }
  return static_cast<std::int64_t>(longest);
}

LabelWords label_word_ids(const prompt::Verbalizer& verbalizer,
                          const tokenizer::Tokenizer& tokenizer, const std::string& word_tokens,
                          const std::string& label_words) {
  LabelWords out;
  out.word_tokens = word_tokens;
  out.label_words = label_words;
  const bool first = word_tokens == "first";
  std::vector<std::vector<std::int64_t>> first_ids;
  for (std::size_t k = 0; k < verbalizer.num_labels(); ++k) {
    std::vector<std::vector<std::int64_t>> words;
    std::vector<std::int64_t> firsts;
    for (const auto& word : verbalizer.words(k)) {
      auto pieces = tokenizer.tokenize_ids(word);
      if (pieces.empty()) {
        throw Error(ErrorKind::Config, "prompt.verbalizer: the word '" + word + "' of label '" +
                                           verbalizer.labels()[k] + "' has no tokens");
      }
      if (first && pieces.size() > 1) {
        log::warn(
            "prompt.verbalizer: '{}' (label '{}') is {} tokens; it is scored by its first, "
            "'{}' (prompt.word_tokens mean, max or whole_word score them all)",
            word, verbalizer.labels()[k], pieces.size(), tokenizer.id_to_token(pieces[0]));
      }
      firsts.push_back(pieces[0]);
      words.push_back(std::move(pieces));
    }
    first_ids.push_back(std::move(firsts));
    out.tokens.push_back(std::move(words));
  }
  const auto text = [&](std::int64_t id) { return tokenizer.id_to_token(id); };
  if (first) {
    prompt::check_distinguishable(verbalizer, first_ids, text,
                                  "a cloze label word is scored by its first token");
  } else {
    prompt::check_distinguishable(verbalizer, out.tokens, text,
                                  "a cloze label word is scored by all its tokens");
  }
  return out;
}

torch::Tensor label_scores(const torch::Tensor& vocab_logits, const LabelWords& words) {
  const auto opts = torch::TensorOptions().dtype(torch::kInt64).device(vocab_logits.device());
  const bool whole = words.word_tokens == "whole_word";
  const auto log_probs = whole ? torch::log_softmax(vocab_logits, -1) : torch::Tensor();
  std::vector<torch::Tensor> columns;
  for (const auto& label : words.tokens) {
    std::vector<torch::Tensor> scores;  // [batch] per word
    for (const auto& ids : label) {
      if (whole) {
        // The i-th sub-token at the i-th mask: log_probs[:, i, ids[i]], averaged.
        const auto n = static_cast<std::int64_t>(ids.size());
        const auto at = log_probs.slice(1, 0, n);  // [batch, n, vocab]
        const auto index = torch::tensor(ids, opts).view({1, n, 1}).expand({at.size(0), n, 1});
        scores.push_back(at.gather(2, index).squeeze(2).mean(1));
        continue;
      }
      const auto picked = vocab_logits.index_select(-1, torch::tensor(ids, opts));  // [batch, n]
      if (words.word_tokens == "mean") {
        scores.push_back(picked.mean(-1));
      } else if (words.word_tokens == "max") {
        scores.push_back(std::get<0>(picked.max(-1)));
      } else {
        scores.push_back(picked.select(-1, 0));
      }
    }
    const auto stacked = torch::stack(scores, -1);  // [batch, words]
    columns.push_back(words.label_words == "max" ? std::get<0>(stacked.max(-1))
                                                 : stacked.mean(-1));
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
      words_(label_word_ids(verbalizer_, tokenizer, config.prompt.word_tokens,
                            config.prompt.label_words)),
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
  encoder_->repeat_mask(static_cast<std::size_t>(words_.masks()));
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

std::int64_t ClozeTask::find_masks(const std::vector<std::int64_t>& ids,
                                    const prompt::Source& source) const {
  // The {mask} slot's masks() mask tokens, in a row; any other mask token is the text's.
  const auto count = static_cast<std::size_t>(words_.masks());
  std::int64_t position = -1;
  std::size_t found = 0;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] != mask_id_) continue;
    if (found == 0) position = static_cast<std::int64_t>(i);
    if (++found > count || i != static_cast<std::size_t>(position) + found - 1) {
      throw Error(ErrorKind::Input, source.describe() + ": the prompt holds more " +
                                        tokenizer_.id_to_token(mask_id_) +
                                        " tokens than its {mask} slot (does the example's text "
                                        "contain one?)");
    }
  }
  return position;
}

std::vector<PromptExample> ClozeTask::load(const std::string& path, std::size_t limit) const {
  std::vector<PromptExample> out;
  for (const auto& r : data::read_records(path, data_format_, limit)) {
    const prompt::Source source{path, r.line};
    PromptExample e;
    auto encoded = encoder_->encode(r.value, source, out.size());
    e.ids = std::move(encoded.ids);
    e.soft_positions = std::move(encoded.soft_positions);
    e.mask_position = find_masks(e.ids, source);
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
  const auto first = batch.tensors.at("mask_positions") + h.virtual_tokens;
  const auto masks = words_.masks();
  if (masks == 1) return model_->predict(hidden.index({rows, first}));
  // [batch, masks]: the slot's consecutive mask positions.
  const auto positions = first.unsqueeze(1) + torch::arange(masks, ids.options()).unsqueeze(0);
  return model_->predict(hidden.index({rows.unsqueeze(1), positions}));
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
  cf[0].mask_position = find_masks(cf[0].ids, {"prompt.content_free", 0});
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
