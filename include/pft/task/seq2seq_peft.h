#pragma once
// A T5 with a PEFT method's hooks: what the method needs to know of the model, and the
// teacher-forced forward pass through the hooks (virtual tokens before the encoder input,
// prefixes of the encoder's self-attention, the decoder's self-attention and its
// cross-attention), the way sequence_classification.cpp does it for BERT.

#include <torch/torch.h>

#include <string>

#include "pft/model/t5.h"
#include "pft/peft/method.h"

namespace pft::task {

/// What PEFT methods need to know of a T5 (PEFT's task type SEQ_2_SEQ_LM).
peft::ModelInfo t5_model_info(const model::T5Config& config, const std::string& path,
                              const std::string& task_type = "SEQ_2_SEQ_LM");

/// Teacher-forced logits [batch, dec_len, vocab]. `method` may be null; masks may be
/// undefined. The template's `soft_tokens` replace the input embeddings at `soft_positions`
/// ([batch, soft]; both undefined without {soft} slots) before a method's virtual tokens are
/// prepended, which extend the encoder mask with ones.
torch::Tensor seq2seq_logits(model::T5& model, peft::PeftMethod* method,
                             const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                             const torch::Tensor& decoder_input_ids,
                             const torch::Tensor& decoder_attention_mask,
                             const torch::Tensor& soft_tokens = {},
                             const torch::Tensor& soft_positions = {});

}  // namespace pft::task
