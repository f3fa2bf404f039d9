#include "pft/task/t5_tasks.h"

#include "pft/generate/generate.h"
#include "pft/task/prompt_input.h"

namespace pft::task {

std::unique_ptr<model::DecoderState> HookedT5::start(const torch::Tensor& input_ids,
                                                     const torch::Tensor& attention_mask,
                                                     std::int64_t copies) {
  const auto device = model_->device();
  const auto ids = input_ids.to(device);
  const auto mask = attention_mask.defined() ? attention_mask.to(device) : torch::ones_like(ids);
  // Virtual tokens and encoder prefixes (prefixes()) go into the encoder; the decoder's
  // self-attention and cross-attention prefixes into its cache, as seq2seq_logits() does.
  const auto embeds = put_soft_tokens(model_->embed(ids), soft_tokens_, soft_positions_);
  const auto h = apply_input_hooks(method_, embeds, mask);
  const auto hidden = model_->encode(h.embeds, h.mask, h.prefix_ptr());
  std::optional<model::LayerPrefixes> self, cross;
  if (method_ != nullptr) {
    self = method_->decoder_prefixes(ids.size(0) * copies, device);
    cross = method_->cross_attention_prefixes(ids.size(0), device);
  }
  return std::make_unique<model::T5DecoderCache>(model_->decoder->start_cache(
      hidden, h.mask, self ? &*self : nullptr, copies, cross ? &*cross : nullptr));
}

torch::Tensor HookedT5::step(model::DecoderState& state, const torch::Tensor& tokens) {
  return model_->step(state, tokens);
}

torch::Tensor seq2seq_loss(const torch::Tensor& logits, const torch::Tensor& labels) {
  return torch::nn::functional::cross_entropy(
      logits.reshape({-1, logits.size(-1)}), labels.reshape({-1}),
      torch::nn::functional::CrossEntropyFuncOptions().ignore_index(-100));
}

torch::Tensor sequence_log_likelihood(const torch::Tensor& logits, const torch::Tensor& labels) {
  const auto logp = torch::log_softmax(logits.to(torch::kFloat32), -1);
  const auto real = labels != -100;
  const auto picked = logp.gather(-1, labels.clamp_min(0).unsqueeze(-1)).squeeze(-1);
  return (picked * real.to(picked.dtype())).sum(-1);
}

torch::Tensor teacher_forced_loss(model::T5& model, peft::PeftMethod* method,
                                  const train::Batch& batch, const torch::Tensor& soft_tokens) {
  const auto& labels = batch.tensors.at("labels");
  const auto logits = seq2seq_logits(model, method, batch.tensors.at("input_ids"),
                                     batch.tensors.at("attention_mask"), model->shift_right(labels),
                                     torch::Tensor(), soft_tokens, soft_positions_of(batch.tensors));
  return seq2seq_loss(logits, labels);
}

std::vector<std::string> generate_texts(model::T5& model, peft::PeftMethod* method,
                                        const tokenizer::Tokenizer& tokenizer,
                                        const train::Batch& batch,
                                        const config::GenerateConfig& options,
                                        const torch::Tensor& soft_tokens) {
  HookedT5 hooked(model, method, soft_tokens, soft_positions_of(batch.tensors));
  std::vector<std::string> texts;
  for (const auto& ids : generate::generate(hooked, batch.tensors.at("input_ids"),
                                            batch.tensors.at("attention_mask"), options)) {
    texts.push_back(tokenizer.decode(ids, /*skip_special_tokens=*/true));
  }
  return texts;
}

std::vector<std::int64_t> target_ids(const tokenizer::Tokenizer& tokenizer, const std::string& text,
                                     std::size_t max_length) {
  auto ids = tokenizer.tokenize_ids(text);
  if (max_length > 0 && ids.size() + 1 > max_length) ids.resize(max_length - 1);
  ids.push_back(tokenizer.eos_id().value_or(1));
  return ids;
}

train::Batch seq2seq_batch(const std::vector<Seq2SeqExample>& data,
                           const std::vector<std::size_t>& indices, std::int64_t pad_id,
                           const torch::Device& device) {
  std::vector<const std::vector<std::int64_t>*> ids, targets, soft;
  for (const auto i : indices) {
    ids.push_back(&data[i].ids);
    targets.push_back(&data[i].target);
    soft.push_back(&data[i].soft_positions);
  }
  train::Batch b;
  b.indices = indices;
  auto [input_ids, mask] = pad_ids(ids, pad_id, device);
  b.num_tokens = mask.sum().item<std::int64_t>();
  b.tensors["input_ids"] = input_ids;
  b.tensors["attention_mask"] = mask;
  b.tensors["labels"] = pad_ids(targets, -100, device).first;
  if (auto s = stack_soft_positions(soft, device); s.defined()) b.tensors["soft_positions"] = s;
  return b;
}

}  // namespace pft::task
