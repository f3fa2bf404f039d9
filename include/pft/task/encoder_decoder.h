#pragma once
// What the encoder-decoder tasks (text_to_text, seq2seq) share: tokenized sources with their
// targets, their batches, teacher-forced losses and generation, all through the method's
// hooks (task/hooked_model.h) on any model::EncoderDecoderLM.

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "pft/config/config.h"
#include "pft/model/interfaces.h"
#include "pft/task/hooked_model.h"
#include "pft/tokenizer/tokenizer.h"
#include "pft/train/trainer.h"

namespace pft::task {

/// Teacher-forced loss: mean cross entropy over the target tokens (labels -100 ignored).
torch::Tensor seq2seq_loss(const torch::Tensor& logits, const torch::Tensor& labels);

/// Sum of the log-probabilities of each row's target tokens [rows] (labels -100 ignored): the
/// sequence log-likelihood that rank classification compares.
torch::Tensor sequence_log_likelihood(const torch::Tensor& logits, const torch::Tensor& labels);

/// The teacher-forced loss of a seq2seq_batch(): decoder inputs are the labels shifted right;
/// the hooks' soft tokens go to the batch's soft_positions.
torch::Tensor teacher_forced_loss(model::EncoderDecoderLM& model, const ModelHooks& hooks,
                                  const train::Batch& batch);

/// Generates for a batch (generate::generate through HookedEncoderDecoder) and decodes each
/// output without special tokens.
std::vector<std::string> generate_texts(model::EncoderDecoderLM& model, const ModelHooks& hooks,
                                        const tokenizer::Tokenizer& tokenizer,
                                        const train::Batch& batch,
                                        const config::GenerateConfig& options);

/// Target ids: the tokens of `text` and EOS, at most `max_length` (EOS kept).
std::vector<std::int64_t> target_ids(const tokenizer::Tokenizer& tokenizer, const std::string& text,
                                     std::size_t max_length);

/// A tokenized source with its target.
struct Seq2SeqExample {
  std::vector<std::int64_t> ids;
  std::vector<std::int64_t> target;          // target tokens + EOS (may be empty: unlabelled)
  std::vector<std::int64_t> soft_positions;  // where the template's soft tokens go in ids
  std::int64_t label = -1;                   // text_to_text: the class index
  std::string reference;                     // seq2seq: the reference text
};

/// input_ids, attention_mask, labels (targets padded with -100) and, with {soft} slots,
/// soft_positions of a batch.
train::Batch seq2seq_batch(const std::vector<Seq2SeqExample>& data,
                           const std::vector<std::size_t>& indices, std::int64_t pad_id,
                           const torch::Device& device);

}  // namespace pft::task
