#include "pft/task/run.h"

#include <filesystem>

#include "pft/io/checkpoint.h"
#include "pft/model/bert_loader.h"
#include "pft/model/t5.h"
#include "pft/peft/adapter.h"
#include "pft/peft/bitfit.h"
#include "pft/peft/full.h"
#include "pft/peft/ia3.h"
#include "pft/peft/lora_method.h"
#include "pft/peft/prompt_learning.h"
#include "pft/peft/prompt_tuning.h"
#include "pft/prompt/template.h"
#include "pft/task/cloze.h"
#include "pft/task/prompt_input.h"
#include "pft/task/seq2seq.h"
#include "pft/task/sequence_classification.h"
#include "pft/task/text_to_text.h"
#include "pft/task/token_classification.h"
#include "pft/util/error.h"
#include "pft/util/log.h"

namespace fs = std::filesystem;

namespace pft::task {
namespace {

std::string model_type_of(const config::RunConfig& c) {
  if (c.model.type != "auto") return c.model.type;
  const auto doc = io::read_model_config(c.model.path);
  const auto type = doc.value("model_type", std::string());
  if (type == "bert" || type == "t5") return type;
  throw Error(ErrorKind::Config, c.model.path + "/config.json: model_type '" + type +
                                     "' is not supported (pft runs bert and t5); set model.type to override");
}

}  // namespace

std::unique_ptr<peft::PeftMethod> method_for_eval(const std::string& adapter_dir) {
  // A run with peft.method none that trained only a template's soft tokens saves just those.
  if (!fs::exists(fs::path(adapter_dir) / "adapter_config.json") &&
      fs::exists(fs::path(adapter_dir) / peft::kTemplateSoftTokensFile)) {
    return nullptr;
  }
  const auto j = peft::read_adapter_config(adapter_dir);
  const std::string type = j["peft_type"];
  const std::string source = (fs::path(adapter_dir) / "adapter_config.json").string();
  if (type == "LORA") return std::make_unique<peft::LoraMethod>(peft::lora_options_from_adapter_config(j, source));
  if (type == "IA3") return std::make_unique<peft::Ia3Method>(peft::ia3_options_from_adapter_config(j, source));
  if (type == "BITFIT") return std::make_unique<peft::BitFitMethod>();
  if (type == "FULL") return std::make_unique<peft::FullMethod>();
  if (type == "BOTTLENECK_ADAPTER") {
    return std::make_unique<peft::AdapterMethod>(peft::adapter_options_from_adapter_config(j, source));
  }
  if (auto m = peft::prompt_learning_method_from_adapter_config(j, source)) return m;
  throw Error(ErrorKind::Input, source + ": peft_type " + type +
                                    " is not available in this version of pft (available: LORA, IA3, BITFIT, "
                                    "FULL, BOTTLENECK_ADAPTER, PREFIX_TUNING, PROMPT_TUNING, P_TUNING)");
}

namespace {

/// The model architecture each task runs on.
std::string architecture_of(const std::string& task) {
  return task == "text_to_text" || task == "seq2seq" ? "t5" : "bert";
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
      throw Error(ErrorKind::Config, "prompt.soft_init_text: has no tokens; prompt.soft_init text "
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

void attach(Run& run, std::shared_ptr<torch::nn::Module> model,
            std::unique_ptr<peft::PeftMethod> method, peft::ModelInfo info, bool training,
            const std::string& adapter_dir) {
  run.adapted = peft::attach_method(std::move(model), std::move(method), std::move(info));
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

}  // namespace

Run build_run(const config::RunConfig& config, torch::Device device, bool training,
              const std::string& adapter_dir) {
  Run run;
  run.config = config;
  run.device = device;
  torch::manual_seed(static_cast<std::uint64_t>(config.train.seed));
  const auto type = model_type_of(config);
  const auto& task = config.task.type;
  if (task != "cloze" && task != "text_to_text" && task != "seq2seq" &&
      template_soft_count(config) > 0) {
    std::string message = "prompt.template: {soft} slots are available to the cloze, "
                          "text_to_text and seq2seq tasks, not to task.type '";
    message += task + "'";
    throw Error(ErrorKind::Config, message);
  }
  if (architecture_of(task) != type) {
    throw Error(ErrorKind::Config, "task.type: '" + task + "' runs on a " + architecture_of(task) +
                                       " model, but " + config.model.path + " is a " + type +
                                       " checkpoint (bert: sequence_classification, cloze, "
                                       "token_classification; t5: text_to_text, seq2seq)");
  }
  run.tokenizer = tokenizer::load_tokenizer(config.tokenizer.path);
  std::unique_ptr<peft::PeftMethod> method;
  if (training) {
    method = peft::make_method(config.peft);
    if (auto* prompt = dynamic_cast<peft::PromptTuningMethod*>(method.get());
        prompt != nullptr && prompt->options().init == "TEXT") {
      prompt->set_init_ids(run.tokenizer->encode(prompt->options().init_text).ids);  // with special tokens, as PEFT
    }
  } else if (!adapter_dir.empty()) {
    method = method_for_eval(adapter_dir);
  }
  if (type == "t5") {
    auto model = model::load_t5(config.model.path, device);
    model->encoder->gradient_checkpointing = config.train.gradient_checkpointing;
    model->decoder->gradient_checkpointing = config.train.gradient_checkpointing;
    log::info("model: {} (t5, {} + {} layers, d_model {})", config.model.path,
              model->config().num_layers, model->config().num_decoder_layers,
              model->config().d_model);
    attach(run, model.ptr(), std::move(method), t5_model_info(model->config(), config.model.path),
           training, adapter_dir);
    auto* m = run.adapted.method.get();
    if (task == "seq2seq") {
      run.task = std::make_unique<Seq2SeqTask>(model, m, *run.tokenizer, config, device, training);
    } else {
      run.labels = resolve_prompt_labels(config);
      run.task = std::make_unique<TextToTextTask>(model, m, *run.tokenizer, config, run.labels,
                                                  device, training);
    }
    return run;
  }
  model::BertLoadOptions lo;
  lo.device = device;
  model::BertLoadInfo info;
  const auto loaded = [&] {
    log::info("model: {} ({} layers, hidden {}), loaded in {:.2f} s", config.model.path,
              info.config.num_hidden_layers, info.config.hidden_size, info.seconds);
  };
  if (task == "cloze") {
    run.labels = resolve_prompt_labels(config);
    auto model = model::load_bert_for_masked_lm(config.model.path, lo, &info);
    model->bert->encoder->gradient_checkpointing = config.train.gradient_checkpointing;
    loaded();
    auto model_info = bert_model_info(info.config, config.model.path, "FEATURE_EXTRACTION");
    model_info.modules_to_save.clear();  // the masked-LM head is pretrained, not new
    attach(run, model.ptr(), std::move(method), model_info, training, adapter_dir);
    run.task = std::make_unique<ClozeTask>(model, run.adapted.method.get(), *run.tokenizer, config,
                                           run.labels, device, training);
  } else if (task == "token_classification") {
    run.labels = resolve_tag_labels(config);
    lo.labels = run.labels;
    auto model = model::load_bert_for_token_classification(config.model.path, lo, &info);
    model->bert->encoder->gradient_checkpointing = config.train.gradient_checkpointing;
    loaded();
    attach(run, model.ptr(), std::move(method),
           bert_model_info(info.config, config.model.path, "TOKEN_CLS"), training, adapter_dir);
    run.task = std::make_unique<TokenClassificationTask>(
        model, run.adapted.method.get(), *run.tokenizer, config, run.labels, device, training);
  } else {
    run.labels = resolve_labels(config);
    lo.labels = run.labels;
    auto model = model::load_bert_for_sequence_classification(config.model.path, lo, &info);
    model->bert->encoder->gradient_checkpointing = config.train.gradient_checkpointing;
    loaded();
    attach(run, model.ptr(), std::move(method),
           bert_model_info(info.config, config.model.path, "SEQ_CLS"), training, adapter_dir);
    run.task = std::make_unique<SequenceClassificationTask>(
        model, run.adapted.method.get(), *run.tokenizer, config, run.labels, device, training);
  }
  return run;
}

}  // namespace pft::task
