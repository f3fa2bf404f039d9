#include "pft/data/records.h"
#include "pft/task/text_to_text.h"

#include <tuple>

#include "pft/data/batcher.h"
#include "pft/data/jsonl.h"
#include "pft/task/sequence_classification.h"
#include "pft/util/error.h"
#include "pft/util/fs.h"
#include "pft/util/log.h"

using nlohmann::json;

namespace pft::task {

namespace {

std::string trimmed(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

}  // namespace

RankCandidates rank_candidates(const prompt::Verbalizer& verbalizer,
                               const tokenizer::Tokenizer& tokenizer) {
  RankCandidates c;
  c.num_labels = static_cast<std::int64_t>(verbalizer.num_labels());
  for (std::size_t k = 0; k < verbalizer.num_labels(); ++k) {
    for (const auto& word : verbalizer.words(k)) {
      c.targets.push_back(target_ids(tokenizer, word, 0));
      c.label.push_back(static_cast<std::int64_t>(k));
    }
  }
  std::vector<std::vector<std::vector<std::int64_t>>> scored(verbalizer.num_labels());
  for (std::size_t i = 0; i < c.targets.size(); ++i)
    scored[static_cast<std::size_t>(c.label[i])].push_back(c.targets[i]);
  prompt::check_distinguishable(
      verbalizer, scored, [&](std::int64_t id) { return tokenizer.id_to_token(id); },
      "a text-to-text answer is scored as a whole");
  return c;
}

torch::Tensor rank_scores(const torch::Tensor& candidate_scores, const RankCandidates& candidates) {
  std::vector<torch::Tensor> columns;
  const auto opts = torch::TensorOptions().dtype(torch::kInt64).device(candidate_scores.device());
  for (std::int64_t k = 0; k < candidates.num_labels; ++k) {
    std::vector<std::int64_t> mine;
    for (std::size_t i = 0; i < candidates.label.size(); ++i) {
      if (candidates.label[i] == k) mine.push_back(static_cast<std::int64_t>(i));
    }
    columns.push_back(candidate_scores.index_select(-1, torch::tensor(mine, opts)).mean(-1));
  }
  return torch::stack(columns, -1);
}

TextToTextTask::TextToTextTask(std::shared_ptr<torch::nn::Module> model, peft::PeftMethod* method,
                               const tokenizer::Tokenizer& tokenizer,
                               const config::RunConfig& config, std::vector<std::string> labels,
                               torch::Device device, bool load_train)
    : ExampleTask(device, config.eval.batch_size),
      model_(require_model<model::EncoderDecoderLM>(std::move(model), "text_to_text",
                                                    "an encoder-decoder language model")),
      tokenizer_(tokenizer),
      generate_(config.generate),
      predict_by_(config.eval.predict_by),
      labels_(std::move(labels)),
      verbalizer_(make_verbalizer(config, labels_)),
      candidates_(rank_candidates(verbalizer_, tokenizer)),
      label_field_(config.data.label_field),
      data_format_(config.data.format),
      max_length_(static_cast<std::size_t>(config.tokenizer.max_length)),
      pad_id_(tokenizer.pad_id()) {
  encoder_ =
      std::make_unique<PromptEncoder>(config, tokenizer, &verbalizer_, config.data.text_field);
  hooks_ = ModelHooks(
      method, template_soft_tokens(*model_.module, encoder_->prompt_template().soft_token_count()));
  std::tie(train_, eval_) = load_splits<Seq2SeqExample>(
      config, load_train, label_field_,
      [this](const std::string& path, std::size_t limit) { return load(path, limit); },
      [](const Seq2SeqExample& e) { return e.label >= 0; });
}

std::vector<Seq2SeqExample> TextToTextTask::load(const std::string& path, std::size_t limit) const {
  std::vector<Seq2SeqExample> out;
  for (const auto& r : data::read_records(path, data_format_, limit)) {
    Seq2SeqExample e;
    auto encoded = encoder_->encode(r.value, {path, r.line}, out.size());
    e.ids = std::move(encoded.ids);
    e.soft_positions = std::move(encoded.soft_positions);
    e.label = label_index(r, label_field_, labels_, path);
    if (e.label >= 0) {
      e.target = target_ids(
          tokenizer_, verbalizer_.answer(labels_[static_cast<std::size_t>(e.label)]), max_length_);
    }
    out.push_back(std::move(e));
  }
  return out;
}

train::Batch TextToTextTask::make_batch(const std::vector<Seq2SeqExample>& data,
                                        const std::vector<std::size_t>& indices,
                                        const torch::Device& device) const {
  return seq2seq_batch(data, indices, pad_id_, device);
}

torch::Tensor TextToTextTask::loss(const train::Batch& batch) {
  return teacher_forced_loss(*model_, hooks_, batch);
}

torch::Tensor TextToTextTask::scores(const train::Batch& batch) {
  const auto& ids = batch.tensors.at("input_ids");
  const auto rows = ids.size(0);
  const auto count = static_cast<std::int64_t>(candidates_.targets.size());
  std::vector<const std::vector<std::int64_t>*> targets;
  for (const auto& t : candidates_.targets) targets.push_back(&t);
  // Row b * count + c: example b with candidate c.
  const auto labels = pad_ids(targets, -100, ids.device()).first.repeat({rows, 1});
  auto soft_positions = soft_positions_of(batch.tensors);
  if (soft_positions.defined()) soft_positions = soft_positions.repeat_interleave(count, 0);
  const auto logits = seq2seq_logits(*model_, hooks_, ids.repeat_interleave(count, 0),
                                     batch.tensors.at("attention_mask").repeat_interleave(count, 0),
                                     model_->shift_right(labels), torch::Tensor(), soft_positions);
  return rank_scores(sequence_log_likelihood(logits, labels).view({rows, count}), candidates_);
}

std::vector<json> TextToTextTask::predict_batch(const train::Batch& batch,
                                                const std::vector<std::size_t>& chunk) {
  std::vector<json> lines;
  std::vector<json> extra(chunk.size());
  std::vector<std::int64_t> picks;
  if (predict_by_ == "generate") {
    const auto texts = generate_texts(*model_, hooks_, tokenizer_, batch, generate_);
    for (std::size_t k = 0; k < texts.size(); ++k) {
      std::int64_t pick = -1;
      for (std::size_t l = 0; l < labels_.size() && pick < 0; ++l) {
        for (const auto& word : verbalizer_.words(l)) {
          if (trimmed(texts[k]) == trimmed(word)) pick = static_cast<std::int64_t>(l);
        }
      }
      picks.push_back(pick);
      extra[k] = {{"generated", texts[k]}};
    }
  } else {
    const auto s = scores(batch).to(torch::kCPU).to(torch::kFloat32).contiguous();
    const auto best = s.argmax(1);
    for (std::size_t k = 0; k < chunk.size(); ++k) {
      const auto row = s[static_cast<std::int64_t>(k)];
      picks.push_back(best[static_cast<std::int64_t>(k)].item<std::int64_t>());
      extra[k] = {{"scores",
                   std::vector<float>(row.data_ptr<float>(), row.data_ptr<float>() + row.numel())}};
    }
  }
  for (std::size_t k = 0; k < chunk.size(); ++k) {
    const auto& e = eval_[chunk[k]];
    json line = {{"index", chunk[k]}};
    line["prediction"] =
        picks[k] >= 0 ? json(labels_[static_cast<std::size_t>(picks[k])]) : json(nullptr);
    if (e.label >= 0) line["label"] = labels_[static_cast<std::size_t>(e.label)];
    for (const auto& [key, value] : extra[k].items()) line[key] = value;
    lines.push_back(std::move(line));
  }
  return lines;
}

std::map<std::string, double> TextToTextTask::score(const std::vector<json>& predictions) const {
  return classification_score(predictions, labels_);
}

}  // namespace pft::task
