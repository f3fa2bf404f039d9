#include "pft/task/run.h"

#include <filesystem>

#include "pft/io/checkpoint.h"
#include "pft/model/bert_loader.h"
#include "pft/peft/adapter.h"
#include "pft/peft/bitfit.h"
#include "pft/peft/full.h"
#include "pft/peft/ia3.h"
#include "pft/peft/lora_method.h"
#include "pft/peft/prompt_learning.h"
#include "pft/peft/prompt_tuning.h"
#include "pft/task/sequence_classification.h"
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

Run build_run(const config::RunConfig& config, torch::Device device, bool training, const std::string& adapter_dir) {
  Run run;
  run.config = config;
  run.device = device;
  torch::manual_seed(static_cast<std::uint64_t>(config.train.seed));
  const auto type = model_type_of(config);
  if (config.task.type != "sequence_classification" || type != "bert") {
    throw Error(ErrorKind::Config, "task.type: '" + config.task.type + "' on a " + type +
                                       " model is not available in this version of pft (available: "
                                       "sequence_classification on bert)");
  }
  run.tokenizer = tokenizer::load_tokenizer(config.tokenizer.path);
  run.labels = resolve_labels(config);
  model::BertLoadOptions lo;
  lo.labels = run.labels;
  lo.device = device;
  model::BertLoadInfo info;
  auto model = model::load_bert_for_sequence_classification(config.model.path, lo, &info);
  model->bert->encoder->gradient_checkpointing = config.train.gradient_checkpointing;
  log::info("model: {} ({} layers, hidden {}), loaded in {:.2f} s", config.model.path, info.config.num_hidden_layers,
            info.config.hidden_size, info.seconds);
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
  run.adapted = peft::attach_method(model.ptr(), std::move(method),
                                    bert_model_info(info.config, config.model.path, "SEQ_CLS"));
  if (!training && !adapter_dir.empty()) peft::load_adapter(run.adapted, adapter_dir);
  run.task = std::make_unique<SequenceClassificationTask>(model, run.adapted.method.get(), *run.tokenizer, config,
                                                          run.labels, device, training);
  return run;
}

}  // namespace pft::task
