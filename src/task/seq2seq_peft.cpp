#include "pft/task/seq2seq_peft.h"

#include "pft/task/prompt_input.h"

namespace pft::task {

peft::ModelInfo t5_model_info(const model::T5Config& config, const std::string& path,
                              const std::string& task_type) {
  peft::ModelInfo info;
  info.model_type = "t5";
  info.task_type = task_type;
  info.base_model_name_or_path = path;
  info.hidden_size = config.d_model;
  info.num_layers = config.num_layers;
  info.num_decoder_layers = config.num_decoder_layers;
  info.num_heads = config.num_heads;
  info.head_dim = config.d_kv;
  info.vocab_size = config.vocab_size;
  info.default_targets = {"q", "v"};
  info.word_embeddings = "shared.weight";
  return info;
}

torch::Tensor seq2seq_logits(model::T5& model, peft::PeftMethod* method,
                             const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                             const torch::Tensor& decoder_input_ids,
                             const torch::Tensor& decoder_attention_mask,
                             const torch::Tensor& soft_tokens,
                             const torch::Tensor& soft_positions) {
  auto embeds = put_soft_tokens(model->embed(input_ids), soft_tokens, soft_positions);
  auto mask = attention_mask;
  std::optional<model::LayerPrefixes> encoder_prefixes, decoder_prefixes, cross_prefixes;
  if (method != nullptr) {
    if (const auto n = method->num_virtual_tokens(); n > 0) {
      embeds = method->prepend_virtual_tokens(embeds);
      if (!mask.defined())
        mask = torch::ones({input_ids.size(0), input_ids.size(1)}, input_ids.options());
      mask = torch::cat({torch::ones({mask.size(0), n}, mask.options()), mask}, 1);
    }
    const auto batch = embeds.size(0);
    encoder_prefixes = method->prefixes(batch, embeds.device());
    decoder_prefixes = method->decoder_prefixes(batch, embeds.device());
    cross_prefixes = method->cross_attention_prefixes(batch, embeds.device());
  }
  const auto out = model->forward(
      embeds, mask, model->embed(decoder_input_ids), decoder_attention_mask,
      encoder_prefixes ? &*encoder_prefixes : nullptr,
      decoder_prefixes ? &*decoder_prefixes : nullptr, cross_prefixes ? &*cross_prefixes : nullptr);
  return out.logits;
}

}  // namespace pft::task
