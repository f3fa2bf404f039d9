#include "pft/task/token_classification.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "pft/data/batcher.h"
#include "pft/metrics/metrics.h"
#include "pft/task/prompt_input.h"
#include "pft/task/sequence_classification.h"
#include "pft/util/error.h"
#include "pft/util/fs.h"
#include "pft/util/log.h"
#include "pft/util/strings.h"

using nlohmann::json;

namespace pft::task {

namespace {
constexpr std::int64_t kIgnore = -100;
}

AlignedSentence align_words(const std::vector<std::string>& words,
                            const std::vector<std::int64_t>& tags,
                            const tokenizer::Tokenizer& tokenizer, std::size_t max_length) {
  const auto specials = tokenizer.encode("").ids;  // BERT: [CLS] [SEP]
  const std::size_t prefix = specials.size() >= 2 ? 1 : 0;
  const std::size_t budget = max_length == 0 ? static_cast<std::size_t>(-1)
                                             : max_length - std::min(max_length, specials.size());
  AlignedSentence out;
  out.ids.assign(specials.begin(), specials.begin() + static_cast<std::ptrdiff_t>(prefix));
  out.labels.assign(prefix, kIgnore);
  std::int64_t unk = tokenizer.token_to_id("[UNK]");
  if (unk < 0) unk = tokenizer.token_to_id("<unk>");
  bool full = false;
  for (std::size_t w = 0; w < words.size(); ++w) {
    auto pieces = tokenizer.tokenize_ids(words[w]);
    if (pieces.empty()) pieces.push_back(unk);
    if (full || out.ids.size() - prefix + pieces.size() > budget) {
      full = true;  // this word and every later one are cut
      out.word_starts.push_back(-1);
      continue;
    }
    out.word_starts.push_back(static_cast<std::int64_t>(out.ids.size()));
    for (std::size_t p = 0; p < pieces.size(); ++p) {
      out.ids.push_back(pieces[p]);
      out.labels.push_back(p == 0 && !tags.empty() ? tags[w] : kIgnore);
    }
  }
  for (std::size_t i = prefix; i < specials.size(); ++i) {
    out.ids.push_back(specials[i]);
    out.labels.push_back(kIgnore);
  }
  return out;
}

std::vector<std::string> word_predictions(const std::vector<std::int64_t>& token_predictions,
                                          const std::vector<std::int64_t>& word_starts,
                                          const std::vector<std::string>& labels) {
  const auto o = std::find(labels.begin(), labels.end(), "O");
  const std::string outside = o != labels.end() ? *o : labels.at(0);
  std::vector<std::string> out;
  for (const auto start : word_starts) {
    if (start < 0 || static_cast<std::size_t>(start) >= token_predictions.size()) {
      out.push_back(outside);
    } else {
      out.push_back(
          labels.at(static_cast<std::size_t>(token_predictions[static_cast<std::size_t>(start)])));
    }
  }
  return out;
}

std::vector<std::string> resolve_tag_labels(const config::RunConfig& config,
                                            const std::vector<std::string>& checkpoint_labels) {
  return resolve_labels_or(config, checkpoint_labels, "token-classification", [&] {
    std::set<std::string> seen;
    for (const auto& s : read_conll(config.data.train)) seen.insert(s.tags.begin(), s.tags.end());
    std::vector<std::string> labels;
    if (seen.erase("O") != 0) labels.push_back("O");  // "O" first, as CoNLL label lists put it
    labels.insert(labels.end(), seen.begin(), seen.end());
    return labels;
  });
}

TokenClassificationTask::TokenClassificationTask(std::shared_ptr<torch::nn::Module> model,
                                                 peft::PeftMethod* method,
                                                 const tokenizer::Tokenizer& tokenizer,
                                                 const config::RunConfig& config,
                                                 std::vector<std::string> labels,
                                                 torch::Device device, bool load_train)
    : ExampleTask(device, config.eval.batch_size),
      model_(require_model<model::TokenClassifier>(std::move(model), "token_classification",
                                                   "a token-classification head")),
      hooks_(method),
      tokenizer_(tokenizer),
      labels_(std::move(labels)),
      max_length_(static_cast<std::size_t>(config.tokenizer.max_length)),
      pad_id_(tokenizer.pad_id()) {
  if (config.data.format != "auto" && config.data.format != "conll") {
    throw Error(ErrorKind::Config,
                "data.format: token_classification reads CoNLL files (auto or "
                "conll), not " +
                    config.data.format);
  }
  if (load_train) {
    train_ = load(config.data.train, static_cast<std::size_t>(config.data.max_train_examples));
  }
  if (!config.data.eval.empty()) {
    eval_ = load(config.data.eval, static_cast<std::size_t>(config.data.max_eval_examples));
  }
  log::info("data: {} training and {} evaluation sentences", train_.size(), eval_.size());
}

std::vector<TokenExample> TokenClassificationTask::load(const std::string& path,
                                                        std::size_t limit) const {
  std::vector<TokenExample> out;
  std::size_t cut = 0;
  for (auto& s : read_conll(path, limit)) {
    std::vector<std::int64_t> tags;
    for (std::size_t w = 0; w < s.tags.size(); ++w) {
      const auto it = std::find(labels_.begin(), labels_.end(), s.tags[w]);
      if (it == labels_.end()) {
        throw Error(ErrorKind::Input, path + ":" + std::to_string(s.line + w) + ": tag '" +
                                          s.tags[w] + "' is not one of task.labels (" +
                                          join_alternatives(labels_) + ")");
      }
      tags.push_back(it - labels_.begin());
    }
    auto aligned = align_words(s.words, tags, tokenizer_, max_length_);
    if (!aligned.word_starts.empty() && aligned.word_starts.back() < 0) ++cut;
    out.push_back({std::move(s), std::move(aligned)});
  }
  if (cut > 0) {
    log::warn(
        "{}: {} sentence(s) longer than tokenizer.max_length {}; their last words are "
        "left out of the model input (and predicted O)",
        path, cut, max_length_);
  }
  return out;
}

train::Batch TokenClassificationTask::make_batch(const std::vector<TokenExample>& data,
                                                 const std::vector<std::size_t>& indices,
                                                 const torch::Device& device) const {
  std::vector<const std::vector<std::int64_t>*> ids, labels;
  for (const auto i : indices) {
    ids.push_back(&data[i].aligned.ids);
    labels.push_back(&data[i].aligned.labels);
  }
  train::Batch b;
  b.indices = indices;
  auto [input_ids, mask] = pad_ids(ids, pad_id_, device);
  b.num_tokens = mask.sum().item<std::int64_t>();
  b.tensors["input_ids"] = input_ids;
  b.tensors["attention_mask"] = mask;
  b.tensors["labels"] = pad_ids(labels, kIgnore, device).first;
  return b;
}

torch::Tensor TokenClassificationTask::logits(const train::Batch& batch) {
  const auto& ids = batch.tensors.at("input_ids");
  const auto h = hooks_.inputs(*model_, ids, batch.tensors.at("attention_mask"));
  const auto out = model_->classify_tokens(h.view());
  return out.narrow(1, h.virtual_tokens, ids.size(1));
}

torch::Tensor TokenClassificationTask::loss(const train::Batch& batch) {
  const auto out = logits(batch);
  return torch::nn::functional::cross_entropy(
      out.reshape({-1, out.size(-1)}), batch.tensors.at("labels").reshape({-1}),
      torch::nn::functional::CrossEntropyFuncOptions().ignore_index(kIgnore));
}

std::vector<json> TokenClassificationTask::predict_batch(const train::Batch& batch,
                                                         const std::vector<std::size_t>& chunk) {
  std::vector<json> lines;
  const auto best = logits(batch).argmax(-1).to(torch::kCPU).contiguous();
  for (std::size_t k = 0; k < chunk.size(); ++k) {
    const auto& e = eval_[chunk[k]];
    const auto row = best[static_cast<std::int64_t>(k)];
    const std::vector<std::int64_t> tokens(row.data_ptr<std::int64_t>(),
                                           row.data_ptr<std::int64_t>() + row.numel());
    lines.push_back({{"index", chunk[k]},
                     {"words", e.sentence.words},
                     {"prediction", word_predictions(tokens, e.aligned.word_starts, labels_)},
                     {"label", e.sentence.tags}});
  }
  return lines;
}

std::map<std::string, double> TokenClassificationTask::score(
    const std::vector<json>& predictions) const {
  std::vector<std::vector<std::string>> gold, predicted;
  std::int64_t words = 0, correct = 0;
  for (const auto& p : predictions) {
    gold.push_back(p.at("label").get<std::vector<std::string>>());
    predicted.push_back(p.at("prediction").get<std::vector<std::string>>());
    for (std::size_t w = 0; w < predicted.back().size(); ++w)
      correct += predicted.back()[w] == gold.back()[w] ? 1 : 0;
    words += static_cast<std::int64_t>(predicted.back().size());
  }
  if (gold.empty()) return {};
  const auto scores = metrics::entity_f1(gold, predicted);
  return {{"precision", scores.precision},
          {"recall", scores.recall},
          {"f1", scores.f1},
          {"accuracy",
           static_cast<double>(correct) / static_cast<double>(std::max<std::int64_t>(words, 1))}};
}

}  // namespace pft::task
