#pragma once
// The PeftMethod interface: a parameter-efficient method attaches itself to a built model
// (module surgery through model::Linear extensions, or the models' two hook points), owns
// its parameters, and saves/loads them in Hugging Face PEFT's on-disk format
// (adapter_config.json + adapter_model.safetensors). Methods are made through the registry
// (pft/peft/registry.h, pft/peft/config.h).

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pft/model/family.h"
#include "pft/model/hooks.h"
#include "pft/tokenizer/tokenizer.h"

namespace pft::peft {

/// What a method needs to know about the model it attaches to (from the model's family).
using ModelInfo = model::ModelInfo;

using TensorMap = std::map<std::string, torch::Tensor>;

class PeftMethod {
 public:
  virtual ~PeftMethod() = default;

  /// Config name ("lora", ...) and PEFT's peft_type ("LORA", ...).
  virtual std::string name() const = 0;
  virtual std::string peft_type() const = 0;

  /// Called once before attach() with the run's tokenizer (prompt tuning's TEXT init
  /// tokenizes its text here).
  virtual void prepare(const tokenizer::Tokenizer& tokenizer) { (void)tokenizer; }

  /// Adds the method's parameters to `model`. Validates targets and shapes before touching
  /// any weight. Does not freeze: attach_method() does that for every method alike.
  virtual void attach(torch::nn::Module& model, const ModelInfo& info) = 0;

  /// The method's own trainable tensors by module path (e.g. "...query.lora_A.weight").
  virtual std::vector<std::pair<std::string, torch::Tensor>> parameters() const = 0;

  /// Base-model tensors the method trains in place (BitFit's biases, LoRA's bias="all",
  /// full fine-tuning): unfrozen by attach_method() and saved with the adapter.
  virtual std::vector<std::pair<std::string, torch::Tensor>> trained_base_tensors(
      torch::nn::Module& model) const {
    (void)model;
    return {};
  }

  /// The method's keys of adapter_config.json (peft_type and task keys are added by save).
  virtual nlohmann::json config_json() const = 0;

  /// Method tensors under PEFT's state-dict names (without the "base_model.model." prefix).
  virtual TensorMap state_dict() const;
  /// Loads tensors named as state_dict() returns them; missing or mis-shaped ones are a
  /// pft::Error (Input) naming `source` and the tensor.
  virtual void load_state_dict(const TensorMap& tensors, const std::string& source);

  // Hook points, identity unless the method overrides them.
  /// Virtual tokens prepended to the input embeddings (prompt tuning, p-tuning).
  virtual std::int64_t num_virtual_tokens() const { return 0; }
  /// `embeds` [batch, seq, hidden] -> [batch, virtual + seq, hidden].
  virtual torch::Tensor prepend_virtual_tokens(const torch::Tensor& embeds) { return embeds; }
  /// Per-layer key/value prefixes for a batch (prefix tuning); nullopt for none.
  virtual std::optional<model::LayerPrefixes> prefixes(std::int64_t batch_size,
                                                       const torch::Device& device) {
    (void)batch_size;
    (void)device;
    return std::nullopt;
  }

  /// Encoder-decoder models: per-layer prefixes of the decoder's self-attention and of its
  /// cross-attention (prefixes() above is the encoder's, or the only stack's).
  virtual std::optional<model::LayerPrefixes> decoder_prefixes(std::int64_t batch_size,
                                                               const torch::Device& device) {
    (void)batch_size;
    (void)device;
    return std::nullopt;
  }
  virtual std::optional<model::LayerPrefixes> cross_attention_prefixes(
      std::int64_t batch_size, const torch::Device& device) {
    (void)batch_size;
    (void)device;
    return std::nullopt;
  }

  /// Prompt-learning methods (prefix tuning, prompt tuning, p-tuning): PEFT saves their tensor
  /// as plain "prompt_embeddings" and modules_to_save under "base_model." (the base model is
  /// not wrapped in a tuner there).
  virtual bool is_prompt_learning() const { return false; }

  /// Whether the method's whole effect is base-model weights it trains in place (full
  /// fine-tuning, BitFit): the adapted model is already the merged one.
  virtual bool trains_base_weights() const { return false; }
  virtual bool can_merge() const { return false; }
  /// Folds the method into the base weights; returns the largest change to any weight.
  virtual double merge() { return 0.0; }
  virtual void unmerge() {}

  /// Further modules trained in full and saved beside the method (PEFT's modules_to_save),
  /// matched as PEFT does: every module whose path ends with the name. With `required`, a
  /// name that matches no module is an error (a run config); names from an adapter_config.json
  /// that match nothing are skipped, as PEFT skips them (its "classifier", "score" defaults).
  void set_modules_to_save(std::vector<std::string> names, bool required, std::string key) {
    modules_to_save_ = std::move(names);
    modules_to_save_required_ = required;
    modules_to_save_key_ = std::move(key);
  }
  const std::vector<std::string>& modules_to_save() const { return modules_to_save_; }
  bool modules_to_save_required() const { return modules_to_save_required_; }
  const std::string& modules_to_save_key() const { return modules_to_save_key_; }

 private:
  std::vector<std::string> modules_to_save_;
  bool modules_to_save_required_ = false;
  std::string modules_to_save_key_ = "peft.modules_to_save";
};

/// The prompt template's soft tokens ({soft} slots, docs/prompts.md): a parameter of this
/// name on the model root, [soft tokens of all slots, hidden], slot k taking its own rows in
/// template order. They train with (or, with peft.method none, without) the method and are
/// saved beside the adapter in their own file, so that adapter_model.safetensors stays
/// PEFT's.
inline constexpr const char* kTemplateSoftTokens = "template_soft_tokens";
inline constexpr const char* kTemplateSoftTokensFile = "template_soft_tokens.safetensors";

/// A model with its method attached: everything frozen but the method's parameters, the
/// tensors it trains in place, and info.modules_to_save. Owns the method.
struct AdaptedModel {
  std::shared_ptr<torch::nn::Module> model;
  std::unique_ptr<PeftMethod> method;  // null for "none"
  ModelInfo info;
  std::int64_t trainable_count = 0;
  std::int64_t total_count = 0;

  /// Every tensor that trains, by module path, in a stable order.
  std::vector<std::pair<std::string, torch::Tensor>> trainable() const;
};

/// Attaches `method` (may be null) to `model` and freezes the rest; logs
/// "trainable params: N || all params: M || trainable%: P" as PEFT prints it.
AdaptedModel attach_method(std::shared_ptr<torch::nn::Module> model,
                           std::unique_ptr<PeftMethod> method, ModelInfo info);

/// Registers `table` as the model's template soft tokens (trainable when `trainable`) on
/// `adapted`'s model root and counts it in trainable_count/total_count.
void add_template_soft_tokens(AdaptedModel& adapted, const torch::Tensor& table, bool trainable);

/// Writes DIR/adapter_config.json and DIR/adapter_model.safetensors in PEFT's format
/// (tensor names prefixed "base_model.model."; modules_to_save as PEFT saves them), and
/// DIR/template_soft_tokens.safetensors when the model has template soft tokens, each
/// atomically. With method none, only the soft tokens are written (there must be some).
void save_adapter(const AdaptedModel& adapted, const std::string& dir);

/// Loads an adapter folder written by save_adapter() or by Python PEFT into `adapted`
/// (whose method must match adapter_config.json's peft_type). Checks every tensor against
/// the model before copying any; mismatches name the file, the tensor and the hint that the
/// adapter may belong to another base model. A model with template soft tokens loads them
/// from DIR/template_soft_tokens.safetensors (a missing file or another shape is a
/// pft::Error (Input) naming the file); with method none that file is all DIR needs.
void load_adapter(AdaptedModel& adapted, const std::string& dir);

/// Reads DIR/adapter_config.json (errors name the file and key).
nlohmann::json read_adapter_config(const std::string& dir);

}  // namespace pft::peft
