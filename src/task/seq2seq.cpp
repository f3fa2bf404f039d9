#include "pft/data/records.h"
#include "pft/task/seq2seq.h"

#include <algorithm>
#include <tuple>

#include "pft/data/batcher.h"
#include "pft/data/jsonl.h"
#include "pft/metrics/metrics.h"
#include "pft/task/sequence_classification.h"
#include "pft/util/error.h"
#include "pft/util/fs.h"
#include "pft/util/log.h"

using nlohmann::json;

namespace pft::task {

Seq2SeqTask::Seq2SeqTask(std::shared_ptr<torch::nn::Module> model, peft::PeftMethod* method,
                         const tokenizer::Tokenizer& tokenizer, const config::RunConfig& config,
                         torch::Device device, bool load_train)
    : ExampleTask(device, config.eval.batch_size),
      model_(require_model<model::EncoderDecoderLM>(std::move(model), "seq2seq",
                                                    "an encoder-decoder language model")),
      tokenizer_(tokenizer),
      generate_(config.generate),
      target_field_(config.data.target_field),
      data_format_(config.data.format),
      max_length_(static_cast<std::size_t>(config.tokenizer.max_length)),
      pad_id_(tokenizer.pad_id()) {
  encoder_ = std::make_unique<PromptEncoder>(config, tokenizer, nullptr, config.data.source_field);
  hooks_ = ModelHooks(
      method, template_soft_tokens(*model_.module, encoder_->prompt_template().soft_token_count()));
  if (encoder_->prompt_template().has_mask()) {
    throw Error(ErrorKind::Config,
                "prompt.template: a seq2seq task generates its target; the "
                "template has no {mask} slot to fill");
  }
  std::tie(train_, eval_) = load_splits<Seq2SeqExample>(
      config, load_train, target_field_,
      [this](const std::string& path, std::size_t limit) { return load(path, limit); },
      [](const Seq2SeqExample& e) { return !e.target.empty(); });
}

std::vector<Seq2SeqExample> Seq2SeqTask::load(const std::string& path, std::size_t limit) const {
  std::vector<Seq2SeqExample> out;
  for (const auto& r : data::read_records(path, data_format_, limit)) {
    Seq2SeqExample e;
    auto encoded = encoder_->encode(r.value, {path, r.line}, out.size());
    e.ids = std::move(encoded.ids);
    e.soft_positions = std::move(encoded.soft_positions);
    if (r.value.contains(target_field_)) {
      e.reference = data::string_field(r, target_field_, path);
      e.target = target_ids(tokenizer_, e.reference, max_length_);
    }
    out.push_back(std::move(e));
  }
  return out;
}

train::Batch Seq2SeqTask::make_batch(const std::vector<Seq2SeqExample>& data,
                                     const std::vector<std::size_t>& indices,
                                     const torch::Device& device) const {
  return seq2seq_batch(data, indices, pad_id_, device);
}

torch::Tensor Seq2SeqTask::loss(const train::Batch& batch) {
  return teacher_forced_loss(*model_, hooks_, batch);
}

std::vector<json> Seq2SeqTask::predict_batch(const train::Batch& batch,
                                             const std::vector<std::size_t>& chunk) {
  std::vector<json> lines;
  const auto texts = generate_texts(*model_, hooks_, tokenizer_, batch, generate_);
  for (std::size_t k = 0; k < chunk.size(); ++k) {
    json line = {{"index", chunk[k]}, {"prediction", texts[k]}};
    if (!eval_[chunk[k]].target.empty()) line["reference"] = eval_[chunk[k]].reference;
    lines.push_back(std::move(line));
  }
  return lines;
}

std::map<std::string, double> Seq2SeqTask::score(const std::vector<json>& predictions) const {
  std::vector<std::string> hypotheses, references;
  for (const auto& p : predictions) {
    if (!p.contains("reference")) return {};
    hypotheses.push_back(p.at("prediction").get<std::string>());
    references.push_back(p.at("reference").get<std::string>());
  }
  if (hypotheses.empty()) return {};
  const auto bleu = metrics::corpus_bleu(hypotheses, {references});
  const auto rouge = metrics::rouge(hypotheses, references);
  return {{"bleu", bleu.score},
          {"rouge1", rouge.rouge1},
          {"rouge2", rouge.rouge2},
          {"rougeL", rouge.rougeL},
          {"exact_match", metrics::exact_match(hypotheses, references)}};
}

}  // namespace pft::task
