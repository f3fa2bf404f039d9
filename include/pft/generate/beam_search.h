#pragma once
// Beam search (and beam sampling) as transformers' generate() does it since its vectorised
// rewrite: at every step the 2 * num_beams best continuations over all beams (sampled
// without replacement when do_sample), those that end (EOS or max_new_tokens) become
// finished hypotheses scored by sum of log-probabilities / generated_length^length_penalty,
// the best num_beams that do not end continue. A batch item stops when its finished
// hypotheses cannot be beaten any more (early_stopping = false: the best running score at the
// current length is no better than the worst finished one), or, with early_stopping, as soon
// as num_beams hypotheses are finished.

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "pft/config/config.h"
#include "pft/model/seq2seq.h"

namespace pft::generate {

/// The best hypothesis per input: generated ids without the start token, EOS included when
/// the hypothesis ended with one.
std::vector<std::vector<std::int64_t>> beam_search(model::Seq2SeqLM& model,
                                                   const torch::Tensor& input_ids,
                                                   const torch::Tensor& attention_mask,
                                                   const config::GenerateConfig& options);

}  // namespace pft::generate
