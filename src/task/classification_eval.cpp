#include "pft/task/classification_eval.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <numeric>

#include "pft/data/jsonl.h"
#include "pft/model/bert_loader.h"
#include "pft/tokenizer/tokenizer.h"
#include "pft/util/error.h"
#include "pft/util/fs.h"
#include "pft/util/log.h"
#include "pft/util/progress.h"

#include <fmt/ranges.h>

namespace pft::task {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

struct Example {
  tokenizer::Encoding encoding;
  std::optional<std::int64_t> label;  // class index
};

// A gold label as class index: a label name, or an integer index into `labels`.
std::optional<std::int64_t> read_label(const data::JsonlRecord& record, const std::string& field,
                                       const std::vector<std::string>& labels,
                                       const std::string& path) {
  const auto it = record.value.find(field);
  if (it == record.value.end() || it->is_null()) return std::nullopt;
  const std::string where = path + ":" + std::to_string(record.line);
  const auto count = static_cast<std::int64_t>(labels.size());
  if (it->is_string()) {
    const auto name = it->get<std::string>();
    const auto found = std::find(labels.begin(), labels.end(), name);
    if (found == labels.end()) {
      throw Error(ErrorKind::Input,
                  fmt::format("{}: label \"{}\" is not one of the model's labels: {}", where, name,
                              fmt::join(labels, ", ")),
                  "set task.labels to the names the data uses, in the checkpoint's class order");
    }
    return found - labels.begin();
  }
  if (it->is_number_integer()) {
    const auto index = it->get<std::int64_t>();
    if (index < 0 || index >= count) {
      throw Error(ErrorKind::Input, fmt::format("{}: label index {} is outside [0, {})", where,
                                                index, count));
    }
    return index;
  }
  throw Error(ErrorKind::Input,
              fmt::format("{}: field \"{}\": expected a label name or class index, got {}", where,
                          field, it->dump()));
}

// Pads a batch to its longest member.
struct Batch {
  torch::Tensor input_ids, attention_mask, token_type_ids;
};

Batch collate(const std::vector<Example>& examples, const std::vector<std::size_t>& order,
              std::size_t begin, std::size_t end, std::int64_t pad_id) {
  std::size_t longest = 0;
  for (std::size_t i = begin; i < end; ++i) {
    longest = std::max(longest, examples[order[i]].encoding.ids.size());
  }
  const auto rows = static_cast<std::int64_t>(end - begin);
  const auto cols = static_cast<std::int64_t>(longest);
  Batch b;
  b.input_ids = torch::full({rows, cols}, pad_id, torch::kLong);
  b.attention_mask = torch::zeros({rows, cols}, torch::kLong);
  b.token_type_ids = torch::zeros({rows, cols}, torch::kLong);
  auto ids = b.input_ids.accessor<std::int64_t, 2>();
  auto mask = b.attention_mask.accessor<std::int64_t, 2>();
  auto types = b.token_type_ids.accessor<std::int64_t, 2>();
  for (std::int64_t r = 0; r < rows; ++r) {
    const auto& e = examples[order[begin + static_cast<std::size_t>(r)]].encoding;
    for (std::size_t c = 0; c < e.ids.size(); ++c) {
      ids[r][static_cast<std::int64_t>(c)] = e.ids[c];
      mask[r][static_cast<std::int64_t>(c)] = 1;
      types[r][static_cast<std::int64_t>(c)] = e.type_ids[c];
    }
  }
  return b;
}

}  // namespace

ClassificationEvalResult evaluate_sequence_classification(const ClassificationEvalOptions& options) {
  ClassificationEvalResult result;
  if (options.batch_size == 0) throw Error(ErrorKind::Config, "eval.batch_size must be >= 1");

  // Data first: a bad file fails before the model is loaded.
  const auto records = data::read_jsonl(options.data_path, options.max_examples);
  if (records.empty()) {
    throw Error(ErrorKind::Input, options.data_path + ": no examples (the file has no records)");
  }

  const auto load_start = Clock::now();
  const std::string tokenizer_dir =
      options.tokenizer_dir.empty() ? options.model_dir : options.tokenizer_dir;
  const auto tok = tokenizer::load_tokenizer(tokenizer_dir);
  model::BertLoadOptions load_options;
  load_options.labels = options.labels;
  load_options.device = options.device;
  model::BertLoadInfo info;
  auto classifier =
      model::load_bert_for_sequence_classification(options.model_dir, load_options, &info);
  if (!info.initialized.empty()) {
    // A fresh head predicts noise; evaluating it is almost always a wrong folder.
    throw Error(ErrorKind::Input,
                fmt::format("{}: no trained classification head ({} missing from the checkpoint)",
                            options.model_dir, fmt::join(info.initialized, ", ")),
                "pft eval needs a folder saved from BertForSequenceClassification");
  }
  result.labels = info.config.id2label;
  result.load_seconds = seconds_since(load_start);

  const auto eval_start = Clock::now();
  tokenizer::EncodeOptions encode;
  encode.max_length = options.max_length;
  encode.truncation = options.truncation;
  std::vector<Example> examples;
  examples.reserve(records.size());
  for (const auto& record : records) {
    Example e;
    const auto text = data::string_field(record, options.text_field, options.data_path);
    try {
      if (options.text_pair_field.empty()) {
        e.encoding = tok->encode(text, encode);
      } else {
        const auto pair = data::string_field(record, options.text_pair_field, options.data_path);
        e.encoding = tok->encode_pair(text, pair, encode);
      }
    } catch (const Error& err) {
      throw Error(err.kind(),
                  fmt::format("{}:{}: {}", options.data_path, record.line, err.what()), err.hint());
    }
    e.label = read_label(record, options.label_field, result.labels, options.data_path);
    examples.push_back(std::move(e));
  }
  result.examples = examples.size();

  // Longest first: batches of similar length waste little on padding, and a batch too large
  // for the device fails at once.
  std::vector<std::size_t> order(examples.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return examples[a].encoding.ids.size() > examples[b].encoding.ids.size();
  });

  const auto num_labels = static_cast<std::int64_t>(result.labels.size());
  torch::Tensor logits = torch::empty({static_cast<std::int64_t>(examples.size()), num_labels});
  const auto batches = (examples.size() + options.batch_size - 1) / options.batch_size;
  ProgressBar progress("eval", static_cast<std::int64_t>(batches), std::cerr,
                       ProgressBar::stderr_is_tty());
  {
    torch::InferenceMode inference;
    for (std::size_t b = 0; b < batches; ++b) {
      const auto begin = b * options.batch_size;
      const auto end = std::min(examples.size(), begin + options.batch_size);
      const auto batch = collate(examples, order, begin, end, tok->pad_id());
      const auto out = classifier
                           ->forward_ids(batch.input_ids.to(options.device),
                                         batch.attention_mask.to(options.device),
                                         batch.token_type_ids.to(options.device))
                           .to(torch::kCPU, torch::kFloat);
      for (std::size_t i = begin; i < end; ++i) {
        logits[static_cast<std::int64_t>(order[i])].copy_(out[static_cast<std::int64_t>(i - begin)]);
      }
      progress.update(static_cast<std::int64_t>(b + 1));
    }
  }
  progress.finish();

  const auto predicted = logits.argmax(1);
  const auto predicted_a = predicted.accessor<std::int64_t, 1>();
  for (std::size_t i = 0; i < examples.size(); ++i) {
    if (!examples[i].label) continue;
    ++result.labelled;
    if (*examples[i].label == predicted_a[static_cast<std::int64_t>(i)]) ++result.correct;
  }
  if (result.labelled > 0) {
    result.accuracy = static_cast<double>(result.correct) / static_cast<double>(result.labelled);
    if (result.labelled < result.examples) {
      log::warn("{}: {} of {} examples have no \"{}\"; accuracy counts the labelled ones",
                options.data_path, result.examples - result.labelled, result.examples,
                options.label_field);
    }
  }
  result.eval_seconds = seconds_since(eval_start);

  if (!options.predictions_path.empty()) {
    const auto logits_a = logits.accessor<float, 2>();
    write_file_atomic(options.predictions_path, [&](std::ostream& out) {
      for (std::size_t i = 0; i < examples.size(); ++i) {
        const auto row = static_cast<std::int64_t>(i);
        nlohmann::ordered_json line;
        line["index"] = i;
        auto values = nlohmann::ordered_json::array();
        for (std::int64_t c = 0; c < num_labels; ++c) values.push_back(logits_a[row][c]);
        line["logits"] = std::move(values);
        line["prediction"] = result.labels[static_cast<std::size_t>(predicted_a[row])];
        out << line.dump() << '\n';
      }
    });
    log::info("wrote {} predictions to {}", examples.size(), options.predictions_path);
  }
  return result;
}

}  // namespace pft::task
