#include "pft/app/run.h"

#include <functional>

#include "pft/model/registry.h"
#include "pft/peft/registry.h"
#include "pft/prompt/template.h"
#include "pft/task/cloze.h"
#include "pft/task/prompt_input.h"
#include "pft/task/seq2seq.h"
#include "pft/task/sequence_classification.h"
#include "pft/task/text_to_text.h"
#include "pft/task/token_classification.h"
#include "pft/util/error.h"
#include "pft/util/log.h"

namespace pft::app {

namespace {

using LabelRule = std::function<std::vector<std::string>(
    const config::RunConfig& config, const std::vector<std::string>& checkpoint_labels)>;
using TaskMaker = std::function<std::unique_ptr<train::TrainableTask>(Run& run, bool training)>;

/// What each task.type runs on and how it is built.
struct TaskKind {
  std::string name;
  model::Head head;
  bool soft_slots;   // takes a template's {soft} slots
  LabelRule labels;  // null: no labels
  TaskMaker make;
};

/// Builds task T with the run's model, method, tokenizer, config and labels.
template <class T>
TaskMaker labelled_task() {
  return [](Run& r, bool training) -> std::unique_ptr<train::TrainableTask> {
    return std::make_unique<T>(r.adapted.model, r.adapted.method.get(), *r.tokenizer, r.config,
                               r.labels, r.device, training);
  };
}

std::vector<TaskKind> task_kinds() {
  const auto prompt_labels = [](const config::RunConfig& c, const std::vector<std::string>&) {
    return task::resolve_prompt_labels(c);
  };
  return {
      {"sequence_classification", model::Head::SequenceClassification, false, task::resolve_labels,
       labelled_task<task::SequenceClassificationTask>()},
      {"cloze", model::Head::MaskedLM, true, prompt_labels, labelled_task<task::ClozeTask>()},
      {"token_classification", model::Head::TokenClassification, false, task::resolve_tag_labels,
       labelled_task<task::TokenClassificationTask>()},
      {"text_to_text", model::Head::Seq2SeqLM, true, prompt_labels,
       labelled_task<task::TextToTextTask>()},
      {"seq2seq", model::Head::Seq2SeqLM, true, nullptr,
       [](Run& r, bool training) -> std::unique_ptr<train::TrainableTask> {
         return std::make_unique<task::Seq2SeqTask>(r.adapted.model, r.adapted.method.get(),
                                                    *r.tokenizer, r.config, r.device, training);
       }},
  };
}

TaskKind task_kind(const std::string& name) {
  for (auto& k : task_kinds()) {
    if (k.name == name) return k;
  }
  throw Error(ErrorKind::Config, "task.type: unknown task '" + name + "'");
}

/// The number of soft tokens of prompt.template's {soft} slots (0 without a template).
std::int64_t template_soft_count(const config::RunConfig& c) {
  if (c.prompt.template_text.empty()) return 0;
  return prompt::Template(c.prompt.template_text, "prompt.template").soft_token_count();
}

/// The initial template soft tokens [count, hidden] (docs/prompts.md): copies of word
/// embeddings, of uniformly drawn ids (prompt.soft_init vocab) or of prompt.soft_init_text's
/// tokens repeated or cut to `count` (text).
torch::Tensor initial_soft_tokens(const Run& run, std::int64_t count) {
  const auto& c = run.config;
  const auto params = run.adapted.model->named_parameters();
  const auto* words = params.find(run.adapted.info.word_embeddings);
  if (words == nullptr) {
    std::string message = "template soft tokens: the model has no word embeddings '";
    message += run.adapted.info.word_embeddings + "'";
    throw Error(ErrorKind::Runtime, message);
  }
  const auto vocab = words->size(0);
  torch::Tensor ids;
  if (c.prompt.soft_init == "text") {
    const auto tokens = run.tokenizer->tokenize_ids(c.prompt.soft_init_text);
    if (tokens.empty()) {
      throw Error(ErrorKind::Config,
                  "prompt.soft_init_text: has no tokens; prompt.soft_init text "
                  "initialises the {soft} tokens from its tokens");
    }
    std::vector<std::int64_t> picked;
    for (std::int64_t i = 0; i < count; ++i) {
      picked.push_back(tokens[static_cast<std::size_t>(i) % tokens.size()]);
    }
    ids = torch::tensor(picked, torch::kInt64);
  } else {
    ids = torch::randint(vocab, {count}, torch::kInt64);
  }
  torch::NoGradGuard no_grad;
  return words->index_select(0, ids.to(words->device())).detach().clone();
}

/// The method of a run: from the config when training, from the adapter folder otherwise
/// (none without one). Made before anything is loaded, so that a bad adapter folder is
/// reported first.
std::unique_ptr<peft::PeftMethod> method_of(const config::RunConfig& config, bool training,
                                            const std::string& adapter_dir) {
  if (training) return peft::make_method(config.peft);
  if (!adapter_dir.empty()) return peft::method_from_adapter(adapter_dir);
  return nullptr;
}

/// Loads the model with `head`, attaches the method, adds the template's soft tokens and
/// loads the adapter when evaluating.
void load_and_attach(Run& run, const model::FamilyDescriptor& family, model::Head head,
                     std::unique_ptr<peft::PeftMethod> method, bool training,
                     const std::string& adapter_dir) {
  model::LoadRequest request;
  request.path = run.config.model.path;
  request.head = head;
  request.device = run.device;
  request.labels = run.labels;
  request.gradient_checkpointing = run.config.train.gradient_checkpointing;
  run.model = family.heads.at(head)(request);
  if (method) method->prepare(*run.tokenizer);
  run.adapted = peft::attach_method(run.model.module, std::move(method), run.model.info);
  if (const auto soft = template_soft_count(run.config); soft > 0) {
    if (!training && adapter_dir.empty()) {
      throw Error(ErrorKind::Config,
                  "prompt.template: its {soft} slots are trainable soft tokens with no value "
                  "before training; evaluate with --adapter DIR of a run trained with this "
                  "template (it holds template_soft_tokens.safetensors)");
    }
    peft::add_template_soft_tokens(run.adapted, initial_soft_tokens(run, soft), training);
  }
  if (!training && !adapter_dir.empty()) peft::load_adapter(run.adapted, adapter_dir);
}

/// The family `run` needs for `head`; one without it is a pft::Error (Config) naming `what`.
void require_head(const model::FamilyDescriptor& family, model::Head head,
                  const config::RunConfig& config, const std::string& what) {
  if (family.has(head)) return;
  throw Error(ErrorKind::Config, what + " needs a model with a " + model::head_name(head) +
                                     " head, but " + config.model.path + " is a " +
                                     family.model_type + " checkpoint (" + family.description +
                                     ": " + family.head_names() + ")");
}

}  // namespace

const model::FamilyDescriptor& family_of(const model::FamilyRegistry& registry,
                                         const config::RunConfig& c) {
  if (c.model.type != "auto") return registry.at(c.model.type, "model.type");
  return registry.at(model::read_model_type(c.model.path), c.model.path + "/config.json");
}

namespace {

/// Everything but the task: seed, family, head check, method, tokenizer, labels (`labels`
/// may be null), model with the method attached.
Run build_model(const config::RunConfig& config, torch::Device device, model::Head head,
                const std::string& what, const LabelRule& labels, bool training,
                const std::string& adapter_dir) {
  Run run;
  run.config = config;
  run.device = device;
  torch::manual_seed(static_cast<std::uint64_t>(config.train.seed));
  const auto registry = model::builtin_families();
  const auto& family = family_of(registry, config);
  require_head(family, head, config, what);
  auto method = method_of(config, training, adapter_dir);
  run.tokenizer = tokenizer::load_tokenizer(config.tokenizer.path);
  if (labels) {
    run.labels = labels(config, model::checkpoint_labels(family, head, config.model.path));
  }
  load_and_attach(run, family, head, std::move(method), training, adapter_dir);
  return run;
}

}  // namespace

Run build_run(const config::RunConfig& config, torch::Device device, bool training,
              const std::string& adapter_dir) {
  const auto kind = task_kind(config.task.type);
  if (!kind.soft_slots && template_soft_count(config) > 0) {
    std::string message =
        "prompt.template: {soft} slots are available to the cloze, "
        "text_to_text and seq2seq tasks, not to task.type '";
    message += kind.name + "'";
    throw Error(ErrorKind::Config, message);
  }
  auto run = build_model(config, device, kind.head, "task.type: '" + kind.name + "'", kind.labels,
                         training, adapter_dir);
  run.task = kind.make(run, training);
  return run;
}

Run build_generation_run(const config::RunConfig& config, torch::Device device,
                         const std::string& adapter_dir) {
  auto run = build_model(config, device, model::Head::Seq2SeqLM, "`pft generate`", nullptr,
                         /*training=*/false, adapter_dir);
  run.adapted.model->eval();
  return run;
}

}  // namespace pft::app
