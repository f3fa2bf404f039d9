#include "pft/peft/prompt_tuning/prompt_tuning.h"

#include "pft/util/error.h"

namespace pft::peft {

PromptTuningOptions prompt_tuning_options_from_config(const SharedConfig& shared,
                                                      const PromptTuningConfig& c) {
  PromptTuningOptions o;
  o.base.num_virtual_tokens = shared.num_virtual_tokens;
  o.init = c.prompt_tuning_init;
  o.init_text = c.prompt_tuning_init_text;
  return o;
}

std::unique_ptr<PeftMethod> PromptTuningEntry::from_config(const SharedConfig& shared,
                                                           const Config& own) {
  return std::make_unique<PromptTuningMethod>(prompt_tuning_options_from_config(shared, own));
}

std::unique_ptr<PeftMethod> PromptTuningEntry::from_adapter_config(const nlohmann::json& config,
                                                                   const std::string& source) {
  return std::make_unique<PromptTuningMethod>(
      prompt_tuning_options_from_adapter_config(config, source));
}

PromptTuningOptions prompt_tuning_options_from_adapter_config(const nlohmann::json& j,
                                                              const std::string& source) {
  PromptTuningOptions o;
  o.base = prompt_learning_options_from_adapter_config(j, source);
  // Inference mode: the saved table is loaded over whatever the initialisation gave.
  o.init = "RANDOM";
  return o;
}

PromptTuningMethod::PromptTuningMethod(PromptTuningOptions options)
    : PromptLearningMethod(options.base), prompt_options_(std::move(options)) {
  const auto& init = prompt_options_.init;
  if (init != "RANDOM" && init != "TEXT" && init != "SAMPLE_VOCAB") {
    throw Error(ErrorKind::Config, "peft.prompt_tuning_init: unknown initialisation '" + init +
                                       "'; known: RANDOM, TEXT, SAMPLE_VOCAB");
  }
  if (init == "TEXT" && prompt_options_.init_text.empty()) {
    throw Error(ErrorKind::Config,
                "peft.prompt_tuning_init_text: required when peft.prompt_tuning_init is TEXT");
  }
}

void PromptTuningMethod::prepare(const tokenizer::Tokenizer& tokenizer) {
  if (prompt_options_.init == "TEXT") {
    prompt_options_.init_ids = tokenizer.encode(prompt_options_.init_text).ids;
  }
}

void PromptTuningMethod::build(torch::nn::Module& encoder, torch::nn::Module& model) {
  (void)encoder;
  const auto& init = prompt_options_.init;
  if (init == "RANDOM") return;  // torch's Embedding init, N(0, 1), as PEFT's
  const auto params = model.named_parameters();
  const auto* words = params.find(info_.word_embeddings);
  if (words == nullptr) {
    throw Error(ErrorKind::Config, "peft.prompt_tuning_init: " + init +
                                       " needs the model's word embeddings ('" +
                                       info_.word_embeddings + "' not found)");
  }
  const auto total = rows();
  std::vector<std::int64_t> ids;
  if (init == "SAMPLE_VOCAB") {
    const auto drawn = torch::randint(0, words->size(0), {total}, torch::kLong);
    ids.assign(drawn.data_ptr<std::int64_t>(), drawn.data_ptr<std::int64_t>() + total);
  } else {
    const auto& text_ids = prompt_options_.init_ids;
    if (text_ids.empty()) {
      throw Error(ErrorKind::Config, "peft.prompt_tuning_init_text: tokenizes to no tokens");
    }
    // PEFT: cut to the table's rows, or repeat the ids ceil(total / n) times and cut.
    while (static_cast<std::int64_t>(ids.size()) < total)
      ids.insert(ids.end(), text_ids.begin(), text_ids.end());
    ids.resize(static_cast<std::size_t>(total));
  }
  for (const auto id : ids) {
    if (id < 0 || id >= words->size(0)) {
      throw Error(ErrorKind::Config,
                  "peft.prompt_tuning_init_text: token id " + std::to_string(id) +
                      " is outside the model's vocabulary of " + std::to_string(words->size(0)));
    }
  }
  torch::NoGradGuard no_grad;
  const auto index = torch::tensor(ids, torch::kLong).to(words->device());
  embedding_->weight.copy_(words->index_select(0, index).to(embedding_->weight.scalar_type()));
}

nlohmann::json PromptTuningMethod::method_config() const {
  nlohmann::json j;
  j["prompt_tuning_init"] = prompt_options_.init;
  j["prompt_tuning_init_text"] = prompt_options_.init == "TEXT"
                                     ? nlohmann::json(prompt_options_.init_text)
                                     : nlohmann::json(nullptr);
  // PEFT would load the tokenizer from here when initialising from text again; pft's adapter
  // is loaded in inference mode, where it is not used.
  j["tokenizer_name_or_path"] = prompt_options_.init == "TEXT"
                                    ? nlohmann::json(info_.base_model_name_or_path)
                                    : nlohmann::json(nullptr);
  j["tokenizer_kwargs"] = nullptr;
  return j;
}

}  // namespace pft::peft
