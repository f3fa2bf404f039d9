#include "pft/model/bert/loader.h"

#include <chrono>
#include <set>

#include "pft/util/error.h"
#include "pft/util/log.h"

#include <fmt/ranges.h>

namespace pft::model {

namespace {

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Names as the model being built registers them.
enum class Layout {
  Bare,      // transformers' BertModel: embeddings.*, encoder.*, pooler.*
  Prefixed,  // task classes: bert.embeddings.*, ..., plus their heads
};

// How one class is loaded.
struct Spec {
  const char* class_name;
  Layout layout;
  // Missing tensors under these prefixes are initialised fresh (as transformers does when a
  // checkpoint has no such head) instead of failing.
  std::vector<std::string> fresh_prefixes;
  bool has_labels;  // the class has a classification head sized by the labels
};

// TF-era checkpoints name LayerNorm parameters gamma/beta; transformers renames them on load.
std::string legacy_renamed(const std::string& name) {
  if (ends_with(name, ".gamma")) return name.substr(0, name.size() - 6) + ".weight";
  if (ends_with(name, ".beta")) return name.substr(0, name.size() - 5) + ".bias";
  return name;
}

// Tensors that transformers never loads into a BERT: non-persistent buffers some versions
// saved, and, when tied, the masked-LM decoder whose weight is the word embeddings and whose
// bias is `cls.predictions.bias`.
bool never_loaded(const std::string& name, const BertConfig& config) {
  return ends_with(name, "embeddings.position_ids") ||
         ends_with(name, "embeddings.token_type_ids") ||
         (config.tie_word_embeddings &&
          (name == "cls.predictions.decoder.weight" || name == "cls.predictions.decoder.bias"));
}

std::string list_names(const std::vector<std::string>& names, std::size_t at_most = 8) {
  if (names.size() <= at_most) return fmt::format("{}", fmt::join(names, ", "));
  const std::vector<std::string> head(names.begin(), names.begin() + static_cast<long>(at_most));
  return fmt::format("{}, ... ({} more)", fmt::join(head, ", "), names.size() - at_most);
}

io::StateDict map_names(const io::StateDict& in, Layout layout, const BertConfig& config,
                        const std::string& dir, std::vector<std::string>& ignored) {
  io::StateDict out;
  for (const auto& [original, tensor] : in.tensors) {
    std::string name = legacy_renamed(original);
    if (never_loaded(name, config)) {
      ignored.push_back(original);
      continue;
    }
    const bool encoder_part = starts_with(name, "embeddings.") || starts_with(name, "encoder.") ||
                              starts_with(name, "pooler.");
    if (layout == Layout::Prefixed && encoder_part) name = "bert." + name;
    if (layout == Layout::Bare && starts_with(name, "bert.")) name = name.substr(5);
    if (out.tensors.count(name) != 0) {
      throw Error(ErrorKind::Input,
                  fmt::format("{}: the checkpoint holds '{}' twice (with and without the "
                              "'bert.' prefix, or as gamma/beta and weight/bias)",
                              dir, name));
    }
    out.tensors.emplace(name, tensor);
    const auto file = in.source_file.find(original);
    if (file != in.source_file.end()) out.source_file.emplace(name, file->second);
  }
  return out;
}

// Transformers' initialisation of a fresh Linear (the only kind of module a fresh head
// holds): weight ~ N(0, initializer_range), bias zero.
void init_fresh(torch::nn::Module& model, const std::vector<std::string>& names,
                const BertConfig& config) {
  torch::NoGradGuard no_grad;
  const auto params = model.named_parameters(/*recurse=*/true);
  for (const auto& name : names) {
    auto* p = params.find(name);
    if (p == nullptr) continue;
    if (ends_with(name, ".bias")) {
      p->zero_();
    } else {
      p->normal_(0.0, config.initializer_range);
    }
  }
}

template <class Holder>
Holder load_as(const std::string& dir, const BertLoadOptions& options, BertLoadInfo* info,
               const Spec& spec) {
  const auto start = std::chrono::steady_clock::now();
  BertConfig config = read_bert_config(dir);
  const io::StateDict state = io::read_state_dict(dir);

  std::vector<std::string> ignored;
  const io::StateDict mapped = map_names(state, spec.layout, config, dir, ignored);

  if (spec.has_labels && !options.labels.empty()) {
    const auto it = mapped.tensors.find("classifier.weight");
    if (it != mapped.tensors.end() &&
        it->second.size(0) != static_cast<std::int64_t>(options.labels.size())) {
      throw Error(ErrorKind::Config,
                  fmt::format("{}: classifier.weight has {} classes (id2label: {}), but {} labels "
                              "were given: {}",
                              dir, it->second.size(0), fmt::join(config.id2label, ", "),
                              options.labels.size(), fmt::join(options.labels, ", ")),
                  "list the checkpoint's labels in task.labels, or leave task.labels empty to "
                  "use them");
    }
    config.set_labels(options.labels);
    config.validate();
  }

  const auto read_done = std::chrono::steady_clock::now();
  Holder model(config);
  const auto build_done = std::chrono::steady_clock::now();
  io::LoadReport report = io::load_into(*model, mapped, {""});
  const auto copy_done = std::chrono::steady_clock::now();
  const auto span = [](auto from, auto to) {
    return std::chrono::duration<double>(to - from).count();
  };
  log::debug(
      "{}: config and weights read in {:.3f} s, {} built in {:.3f} s, weights copied in "
      "{:.3f} s",
      dir, span(start, read_done), spec.class_name, span(read_done, build_done),
      span(build_done, copy_done));

  std::vector<std::string> fresh;
  std::vector<std::string> lacking;
  for (const auto& name : report.missing) {
    bool allowed = false;
    for (const auto& prefix : spec.fresh_prefixes) allowed = allowed || starts_with(name, prefix);
    (allowed ? fresh : lacking).push_back(name);
  }
  if (!lacking.empty()) {
    bool head_only = true;
    for (const auto& name : lacking) head_only = head_only && starts_with(name, "cls.");
    throw Error(ErrorKind::Input,
                fmt::format("{}: the checkpoint lacks {} tensor(s) that {} needs: {}", dir,
                            lacking.size(), spec.class_name, list_names(lacking)),
                head_only ? "this checkpoint has no masked-LM head (cls.predictions.*); use one "
                            "saved from BertForMaskedLM or BertForPreTraining"
                          : "is this a BERT checkpoint, and does its config.json describe it?");
  }
  if (!fresh.empty()) {
    init_fresh(*model, fresh, config);
    log::warn(
        "{}: {} not in the checkpoint: initialised fresh as transformers does (weights ~ "
        "N(0, {}), biases 0); train them before trusting the outputs",
        dir, list_names(fresh), config.initializer_range);
  }
  if (!report.unexpected.empty()) {
    log::info("{}: {} tensor(s) of the checkpoint not used by {}: {}", dir,
              report.unexpected.size(), spec.class_name, list_names(report.unexpected));
  }
  if (!ignored.empty()) {
    log::debug("{}: ignored as transformers does: {}", dir, list_names(ignored));
  }

  model->to(options.device);
  model->eval();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  log::info("loaded {} from {} ({} layers, hidden {}, {} heads{}) in {:.2f} s", spec.class_name,
            dir, config.num_hidden_layers, config.hidden_size, config.num_attention_heads,
            spec.has_labels ? fmt::format(", {} labels", config.num_labels()) : std::string(),
            seconds);
  if (info != nullptr) {
    info->config = config;
    info->report = std::move(report);
    info->initialized = std::move(fresh);
    info->seconds = seconds;
  }
  return model;
}

}  // namespace

BertConfig read_bert_config(const std::string& dir) {
  return BertConfig::from_json(io::read_model_config(dir), dir + "/config.json");
}

BertModel load_bert_model(const std::string& dir, const BertLoadOptions& options,
                          BertLoadInfo* info) {
  return load_as<BertModel>(dir, options, info,
                            {"BertModel", Layout::Bare, {"pooler."}, /*has_labels=*/false});
}

BertForMaskedLM load_bert_for_masked_lm(const std::string& dir, const BertLoadOptions& options,
                                        BertLoadInfo* info) {
  return load_as<BertForMaskedLM>(dir, options, info,
                                  {"BertForMaskedLM", Layout::Prefixed, {}, /*has_labels=*/false});
}

BertForSequenceClassification load_bert_for_sequence_classification(const std::string& dir,
                                                                    const BertLoadOptions& options,
                                                                    BertLoadInfo* info) {
  return load_as<BertForSequenceClassification>(dir, options, info,
                                                {"BertForSequenceClassification",
                                                 Layout::Prefixed,
                                                 {"classifier.", "bert.pooler."},
                                                 /*has_labels=*/true});
}

BertForTokenClassification load_bert_for_token_classification(const std::string& dir,
                                                              const BertLoadOptions& options,
                                                              BertLoadInfo* info) {
  return load_as<BertForTokenClassification>(
      dir, options, info,
      {"BertForTokenClassification", Layout::Prefixed, {"classifier."}, /*has_labels=*/true});
}

}  // namespace pft::model
