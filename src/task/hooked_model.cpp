#include "pft/task/hooked_model.h"

#include "pft/task/prompt_input.h"

namespace pft::task {

HookedInputs ModelHooks::inputs(model::Embedder& embedder, const torch::Tensor& input_ids,
                                const torch::Tensor& mask, const torch::Tensor& types,
                                const torch::Tensor& soft_positions) const {
  auto embeds = put_soft_tokens(embedder.embed(input_ids), soft_tokens_, soft_positions);
  return inputs_from_embeds(std::move(embeds), mask, types);
}

HookedInputs ModelHooks::inputs_from_embeds(torch::Tensor embeds, torch::Tensor mask,
                                            torch::Tensor types) const {
  HookedInputs h{std::move(embeds), std::move(mask), std::move(types), std::nullopt, 0};
  if (method_ == nullptr) return h;
  if (const auto n = method_->num_virtual_tokens(); n > 0) {
    const auto batch = h.embeds.size(0);
    h.embeds = method_->prepend_virtual_tokens(h.embeds);
    if (!h.mask.defined()) {
      h.mask = torch::ones({batch, h.embeds.size(1) - n},
                           torch::TensorOptions().dtype(torch::kLong).device(h.embeds.device()));
    }
    h.mask = torch::cat({torch::ones({batch, n}, h.mask.options()), h.mask}, 1);
    if (h.types.defined()) {
      h.types = torch::cat({torch::zeros({batch, n}, h.types.options()), h.types}, 1);
    }
    h.virtual_tokens = n;
  }
  h.prefixes = method_->prefixes(h.embeds.size(0), h.embeds.device());
  return h;
}

std::optional<model::LayerPrefixes> ModelHooks::decoder_prefixes(
    std::int64_t batch, const torch::Device& device) const {
  if (method_ == nullptr) return std::nullopt;
  return method_->decoder_prefixes(batch, device);
}

std::optional<model::LayerPrefixes> ModelHooks::cross_prefixes(std::int64_t batch,
                                                               const torch::Device& device) const {
  if (method_ == nullptr) return std::nullopt;
  return method_->cross_attention_prefixes(batch, device);
}

torch::Tensor seq2seq_logits(model::EncoderDecoderLM& model, const ModelHooks& hooks,
                             const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                             const torch::Tensor& decoder_input_ids,
                             const torch::Tensor& decoder_attention_mask,
                             const torch::Tensor& soft_positions) {
  const auto h = hooks.inputs(model, input_ids, attention_mask, {}, soft_positions);
  const auto batch = h.embeds.size(0);
  const auto self = hooks.decoder_prefixes(batch, h.embeds.device());
  const auto cross = hooks.cross_prefixes(batch, h.embeds.device());
  return model.logits(h.view(), model.embed(decoder_input_ids), decoder_attention_mask,
                      self ? &*self : nullptr, cross ? &*cross : nullptr);
}

std::unique_ptr<model::DecoderState> HookedEncoderDecoder::start(
    const torch::Tensor& input_ids, const torch::Tensor& attention_mask, std::int64_t copies) {
  const auto device = model_.device();
  const auto ids = input_ids.to(device);
  const auto mask = attention_mask.defined() ? attention_mask.to(device) : torch::ones_like(ids);
  const auto h = hooks_.inputs(model_, ids, mask, {}, soft_positions_);
  const auto hidden = model_.encode(h.view());
  const auto self = hooks_.decoder_prefixes(ids.size(0) * copies, device);
  const auto cross = hooks_.cross_prefixes(ids.size(0), device);
  return model_.start_decoding(hidden, h.mask, self ? &*self : nullptr, copies,
                               cross ? &*cross : nullptr);
}

}  // namespace pft::task
