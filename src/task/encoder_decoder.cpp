#include "pft/task/encoder_decoder.h"

#include "pft/generate/generate.h"
#include "pft/task/prompt_input.h"

namespace pft::task {

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

torch::Tensor teacher_forced_loss(model::EncoderDecoderLM& model, const ModelHooks& hooks,
                                  const train::Batch& batch) {
  const auto& labels = batch.tensors.at("labels");
  const auto logits = seq2seq_logits(model, hooks, batch.tensors.at("input_ids"),
                                     batch.tensors.at("attention_mask"), model.shift_right(labels),
                                     torch::Tensor(), soft_positions_of(batch.tensors));
  return seq2seq_loss(logits, labels);
}

std::vector<std::string> generate_texts(model::EncoderDecoderLM& model, const ModelHooks& hooks,
                                        const tokenizer::Tokenizer& tokenizer,
                                        const train::Batch& batch,
                                        const config::GenerateConfig& options) {
  HookedEncoderDecoder hooked(model, hooks, soft_positions_of(batch.tensors));
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
