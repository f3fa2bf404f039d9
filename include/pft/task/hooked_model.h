#pragma once
// The one place where a PEFT method's hooks and the prompt template's {soft} tokens meet a
// model (ARCHITECTURE.md's hook points): the template's soft tokens replace the input
// embeddings at their positions, the method's virtual tokens are prepended (the attention
// mask and token types extended), and its per-layer prefixes go to the encoder, and for
// encoder-decoders to the decoder's self-attention and cross-attention. Every task and
// generation go through ModelHooks; none applies a hook itself.

#include <torch/torch.h>

#include <memory>
#include <optional>

#include "pft/model/interfaces.h"
#include "pft/peft/method.h"

namespace pft::task {

/// Encoder inputs after the hooks.
struct HookedInputs {
  torch::Tensor embeds, mask, types;  // `types` stays undefined when given undefined
  std::optional<model::LayerPrefixes> prefixes;
  std::int64_t virtual_tokens = 0;  // prepended by the method

  const model::LayerPrefixes* prefix_ptr() const { return prefixes ? &*prefixes : nullptr; }
  model::EncoderInputs view() const { return {embeds, mask, types, prefix_ptr()}; }
};

class ModelHooks {
 public:
  /// `method` may be null; `soft_tokens` is the template's soft-token table [soft, hidden]
  /// (undefined without {soft} slots).
  explicit ModelHooks(peft::PeftMethod* method = nullptr, torch::Tensor soft_tokens = {})
      : method_(method), soft_tokens_(std::move(soft_tokens)) {}

  /// `embedder`'s embeddings of `input_ids` [batch, seq] with the soft tokens at
  /// `soft_positions` ([batch, soft]; undefined: none), the method's virtual tokens prepended
  /// (`mask`, undefined meaning no padding, and `types` when defined extended) and its
  /// encoder prefixes.
  HookedInputs inputs(model::Embedder& embedder, const torch::Tensor& input_ids,
                      const torch::Tensor& mask, const torch::Tensor& types = {},
                      const torch::Tensor& soft_positions = {}) const;
  /// The same from embeddings the caller made.
  HookedInputs inputs_from_embeds(torch::Tensor embeds, torch::Tensor mask,
                                  torch::Tensor types = {}) const;

  /// Encoder-decoders: prefixes of the decoder's self-attention ([batch] rows) and of its
  /// cross-attention.
  std::optional<model::LayerPrefixes> decoder_prefixes(std::int64_t batch,
                                                       const torch::Device& device) const;
  std::optional<model::LayerPrefixes> cross_prefixes(std::int64_t batch,
                                                     const torch::Device& device) const;

  peft::PeftMethod* method() const { return method_; }
  const torch::Tensor& soft_tokens() const { return soft_tokens_; }

 private:
  peft::PeftMethod* method_;
  torch::Tensor soft_tokens_;
};

/// Teacher-forced logits [batch, dec_len, vocab] of an encoder-decoder through `hooks`.
/// Masks may be undefined; `soft_positions` ([batch, soft]) where the template's soft
/// tokens go in `input_ids`.
torch::Tensor seq2seq_logits(model::EncoderDecoderLM& model, const ModelHooks& hooks,
                             const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                             const torch::Tensor& decoder_input_ids,
                             const torch::Tensor& decoder_attention_mask,
                             const torch::Tensor& soft_positions = {});

/// An encoder-decoder with hooks, for generate::generate(): start() encodes through the
/// hooks and puts the decoder's prefixes into its cache.
class HookedEncoderDecoder : public model::Seq2SeqLM {
 public:
  /// `soft_positions`: where the template's soft tokens go in the input_ids that start()
  /// receives (undefined without {soft} slots).
  HookedEncoderDecoder(model::EncoderDecoderLM& model, ModelHooks hooks,
                       torch::Tensor soft_positions = {})
      : model_(model), hooks_(std::move(hooks)), soft_positions_(std::move(soft_positions)) {}

  std::unique_ptr<model::DecoderState> start(const torch::Tensor& input_ids,
                                             const torch::Tensor& attention_mask,
                                             std::int64_t copies) override;
  torch::Tensor step(model::DecoderState& state, const torch::Tensor& tokens) override {
    return model_.step(state, tokens);
  }
  model::SpecialTokens special_tokens() const override { return model_.special_tokens(); }
  torch::Device device() const override { return model_.device(); }
  void set_decode_compute_type(model::ComputeType type) override {
    model_.set_decode_compute_type(type);
  }
  model::ComputeType decode_compute_type() const override { return model_.decode_compute_type(); }

 private:
  model::EncoderDecoderLM& model_;
  ModelHooks hooks_;
  torch::Tensor soft_positions_;
};

}  // namespace pft::task
