#include "pft/peft/prompt_learning.h"

#include "pft/util/error.h"

namespace pft::peft {

namespace {

constexpr const char* kEncoderName = "prompt_encoder";

void check_expected(std::int64_t expected, std::int64_t actual, const std::string& source,
                    const char* key, const std::string& what) {
  if (expected <= 0 || expected == actual) return;
  std::string msg = source;
  msg += ": ";
  msg += key;
  msg += " is " + std::to_string(expected) + " but the model's " + what + " is " +
         std::to_string(actual) + " (the adapter belongs to another base model)";
  throw Error(ErrorKind::Input, msg);
}

}  // namespace

void PromptLearningMethod::attach(torch::nn::Module& model, const ModelInfo& info) {
  info_ = info;
  submodules_ = info.task_type == "SEQ_2_SEQ_LM" ? 2 : 1;
  if (info.num_heads <= 0 || info.hidden_size % info.num_heads != 0 ||
      info.hidden_size / info.num_heads != info.head_dim) {
    throw Error(ErrorKind::Config, "peft.method: " + name() +
                                       " needs hidden size = heads * head_dim (PEFT's "
                                       "token_dim // num_attention_heads); the model has hidden " +
                                       std::to_string(info.hidden_size) + ", " +
                                       std::to_string(info.num_heads) + " heads of " +
                                       std::to_string(info.head_dim));
  }
  check_expected(options_.expected_token_dim, info.hidden_size, options_.source, "token_dim",
                 "hidden size");
  if (peft_type() == "PREFIX_TUNING" && !info.takes_key_value_prefixes) {
    throw Error(ErrorKind::Config,
                "peft.method: prefix_tuning passes cached keys/values to every layer, which "
                "transformers' " + info.model_type +
                    " does not take (PEFT cannot run it either); use prompt_tuning, lora or "
                    "another method");
  }
  // Virtual tokens prepended to the input embeddings are token_dim (= hidden size) wide, as
  // PEFT makes them; a model whose embeddings are narrower (ELECTRA-small) cannot take them.
  if (peft_type() != "PREFIX_TUNING") {
    const auto params = model.named_parameters();
    if (const auto* words = params.find(info.word_embeddings);
        words != nullptr && words->size(1) != info.hidden_size) {
      throw Error(ErrorKind::Config,
                  "peft.method: " + name() + " prepends virtual tokens of the hidden size (" +
                      std::to_string(info.hidden_size) + ", PEFT's token_dim), but this " +
                      info.model_type + " model's input embeddings are " +
                      std::to_string(words->size(1)) +
                      " wide (embedding_size); use prefix_tuning, lora or another method");
    }
  }
  check_expected(options_.expected_num_layers, info.num_layers, options_.source, "num_layers",
                 "layer count");
  check_expected(options_.expected_num_heads, info.num_heads, options_.source,
                 "num_attention_heads", "attention head count");
  check_expected(options_.expected_submodules, submodules_, options_.source,
                 "num_transformer_submodules",
                 "transformer submodule count (task " + info.task_type + ")");
  encoder_ = std::make_shared<torch::nn::Module>(kEncoderName);
  const auto cols = options_.inference ? width() : embedding_width();
  embedding_ = encoder_->register_module("embedding", torch::nn::Embedding(rows(), cols));
  if (!options_.inference) build(*encoder_, model);
  // Parameters follow the model's device and dtype.
  for (const auto& p : model.parameters()) {
    encoder_->to(p.device(), p.scalar_type());
    break;
  }
  model.register_module(kEncoderName, encoder_);
}

std::int64_t PromptLearningMethod::rows() const {
  return options_.num_virtual_tokens * submodules();
}

std::int64_t PromptLearningMethod::width() const { return info_.hidden_size; }

std::vector<std::pair<std::string, torch::Tensor>> PromptLearningMethod::parameters() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  if (!encoder_) return out;
  for (const auto& p : encoder_->named_parameters())
    out.emplace_back(std::string(kEncoderName) + "." + p.key(), p.value());
  return out;
}

torch::Tensor PromptLearningMethod::prompt_embeddings() {
  TORCH_CHECK(embedding_, name(), ": prompt_embeddings() before attach()");
  if (options_.inference) return embedding_->weight;
  return reparameterize(embedding_->weight);
}

torch::Tensor PromptLearningMethod::prepend_virtual_tokens(const torch::Tensor& embeds) {
  const auto n = options_.num_virtual_tokens;
  const auto prompt = prompt_embeddings().narrow(0, 0, n).to(embeds.dtype());
  return torch::cat({prompt.unsqueeze(0).expand({embeds.size(0), n, prompt.size(1)}), embeds}, 1);
}

TensorMap PromptLearningMethod::state_dict() const {
  // prompt_embeddings() runs the encoder; it does not change the method's state.
  auto* self = const_cast<PromptLearningMethod*>(this);
  torch::NoGradGuard no_grad;
  return {{"prompt_embeddings", self->prompt_embeddings()}};
}

void PromptLearningMethod::load_state_dict(const TensorMap& tensors, const std::string& source) {
  const auto it = tensors.find("prompt_embeddings");
  if (it == tensors.end()) {
    throw Error(ErrorKind::Input, source + ": tensor 'prompt_embeddings' is missing (not a " +
                                      peft_type() + " adapter?)");
  }
  for (const auto& [key, t] : tensors) {
    if (key != "prompt_embeddings") {
      throw Error(ErrorKind::Input,
                  source + ": unexpected tensor '" + key + "' in a " + peft_type() + " adapter");
    }
  }
  const auto& t = it->second;
  if (t.dim() != 2 || t.size(0) != rows() || t.size(1) != width()) {
    throw Error(ErrorKind::Input, source + ": tensor 'prompt_embeddings' has shape " +
                                      c10::str(t.sizes()) + ", the model expects [" +
                                      std::to_string(rows()) + ", " + std::to_string(width()) +
                                      "] (adapter trained for another base model?)");
  }
  if (!options_.inference && reparameterized()) {
    throw Error(ErrorKind::Input,
                source + ": prompt_embeddings are the output of " + name() +
                    "'s reparameterization and load only in inference mode (as PEFT loads them)");
  }
  torch::NoGradGuard no_grad;
  embedding_->weight.copy_(t.to(embedding_->weight.device(), embedding_->weight.scalar_type()));
}

nlohmann::json PromptLearningMethod::config_json() const {
  nlohmann::json j;
  j["num_virtual_tokens"] = options_.num_virtual_tokens;
  j["token_dim"] = info_.hidden_size;
  j["num_transformer_submodules"] = submodules_;
  j["num_attention_heads"] = info_.num_heads;
  j["num_layers"] = info_.num_layers;
  const nlohmann::json own = method_config();
  for (const auto& [k, v] : own.items()) j[k] = v;
  return j;
}

PromptLearningOptions prompt_learning_options_from_adapter_config(const nlohmann::json& j,
                                                                  const std::string& source) {
  PromptLearningOptions o;
  o.inference = true;
  o.source = source;
  const auto integer = [&](const char* key, bool required) -> std::int64_t {
    const auto it = j.find(key);
    if (it == j.end() || it->is_null()) {
      if (required) throw Error(ErrorKind::Input, source + ": " + key + ": missing");
      return 0;
    }
    if (!it->is_number_integer() || it->get<std::int64_t>() <= 0) {
      throw Error(ErrorKind::Input,
                  source + ": " + key + ": expected a positive integer, got " + it->dump());
    }
    return it->get<std::int64_t>();
  };
  o.num_virtual_tokens = integer("num_virtual_tokens", true);
  o.expected_token_dim = integer("token_dim", false);
  o.expected_num_layers = integer("num_layers", false);
  o.expected_num_heads = integer("num_attention_heads", false);
  o.expected_submodules = integer("num_transformer_submodules", false);
  return o;
}

}  // namespace pft::peft
