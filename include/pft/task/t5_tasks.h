#pragma once
// The T5 side of the tasks: every model call of text_to_text and seq2seq goes through
// seq2seq_logits() (teacher forcing) or HookedT5 (generation), which apply the PEFT method's
// hooks: virtual tokens prepended to the encoder's input embeddings (its mask extended),
// prefixes() in the encoder, decoder_prefixes() and cross_attention_prefixes() in the decoder.

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "pft/config/config.h"
#include "pft/model/seq2seq.h"
#include "pft/model/t5.h"
#include "pft/peft/method.h"
#include "pft/task/seq2seq_peft.h"
#include "pft/tokenizer/tokenizer.h"
#include "pft/train/trainer.h"

namespace pft::task {

// seq2seq_logits() and t5_model_info() live in pft/task/seq2seq_peft.h.

/// A T5 with a method's hooks, for generate::generate().
class HookedT5 : public model::Seq2SeqLM {
 public:
  /// `soft_tokens`/`soft_positions`: the template's soft tokens and where they go in the
  /// input_ids that start() receives (both undefined without {soft} slots).
  HookedT5(model::T5 model, peft::PeftMethod* method, torch::Tensor soft_tokens = {},
           torch::Tensor soft_positions = {})
      : model_(std::move(model)),
        method_(method),
        soft_tokens_(std::move(soft_tokens)),
        soft_positions_(std::move(soft_positions)) {}
  std::unique_ptr<model::DecoderState> start(const torch::Tensor& input_ids,
                                             const torch::Tensor& attention_mask,
                                             std::int64_t copies) override;
  torch::Tensor step(model::DecoderState& state, const torch::Tensor& tokens) override;
  model::SpecialTokens special_tokens() const override { return model_->special_tokens(); }
  torch::Device device() const override { return model_->device(); }
  void set_decode_compute_type(model::ComputeType type) override {
    model_->set_decode_compute_type(type);
  }
  model::ComputeType decode_compute_type() const override { return model_->decode_compute_type(); }

 private:
  model::T5 model_;
  peft::PeftMethod* method_;
  torch::Tensor soft_tokens_;
  torch::Tensor soft_positions_;
};

/// Teacher-forced loss: mean cross entropy over the target tokens (labels -100 ignored).
torch::Tensor seq2seq_loss(const torch::Tensor& logits, const torch::Tensor& labels);

/// Sum of the log-probabilities of each row's target tokens [rows] (labels -100 ignored): the
/// sequence log-likelihood that rank classification compares.
torch::Tensor sequence_log_likelihood(const torch::Tensor& logits, const torch::Tensor& labels);

/// The teacher-forced loss of a seq2seq_batch(): decoder inputs are the labels shifted right;
/// `soft_tokens` go to the batch's soft_positions.
torch::Tensor teacher_forced_loss(model::T5& model, peft::PeftMethod* method,
                                  const train::Batch& batch, const torch::Tensor& soft_tokens = {});

/// Generates for a batch (generate::generate through HookedT5) and decodes each output
/// without special tokens.
std::vector<std::string> generate_texts(model::T5& model, peft::PeftMethod* method,
                                        const tokenizer::Tokenizer& tokenizer,
                                        const train::Batch& batch,
                                        const config::GenerateConfig& options,
                                        const torch::Tensor& soft_tokens = {});

/// Target ids: the tokens of `text` and EOS, at most `max_length` (EOS kept).
std::vector<std::int64_t> target_ids(const tokenizer::Tokenizer& tokenizer, const std::string& text,
                                     std::size_t max_length);

/// A tokenized source with its target.
struct Seq2SeqExample {
  std::vector<std::int64_t> ids;
  std::vector<std::int64_t> target;  // target tokens + EOS (may be empty: unlabelled)
  std::vector<std::int64_t> soft_positions;  // where the template's soft tokens go in ids
  std::int64_t label = -1;           // text_to_text: the class index
  std::string reference;             // seq2seq: the reference text
};

/// input_ids, attention_mask, labels (targets padded with -100) and, with {soft} slots,
/// soft_positions of a batch.
train::Batch seq2seq_batch(const std::vector<Seq2SeqExample>& data,
                           const std::vector<std::size_t>& indices, std::int64_t pad_id,
                           const torch::Device& device);

}  // namespace pft::task
