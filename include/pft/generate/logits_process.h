#pragma once
// The score processing of transformers' generate(), for the options pft offers, in the same
// order and with the same arithmetic: first the constraints (no_repeat_ngram_size, then
// min_new_tokens), then, when sampling, the warpers (temperature, top_k, top_p).

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "pft/config/config.h"

namespace pft::generate {

class LogitsProcessor {
 public:
  /// `eos`: ids blocked until min_new_tokens tokens exist; `beams` > 1 makes top-k/top-p
  /// keep at least len(eos) + 1 tokens (transformers' min_tokens_to_keep for beam methods).
  LogitsProcessor(const config::GenerateConfig& options, std::vector<std::int64_t> eos,
                  std::int64_t beams);

  /// Applies the constraints to `scores` [rows, vocab]. `sequences` [rows, len] are the
  /// decoder ids so far, the start token included (len - 1 tokens generated).
  torch::Tensor constrain(const torch::Tensor& sequences, torch::Tensor scores) const;
  /// Applies temperature, top-k and top-p (sampling only).
  torch::Tensor warp(torch::Tensor scores) const;

 private:
  config::GenerateConfig options_;
  std::vector<std::int64_t> eos_;
  std::int64_t min_tokens_to_keep_;
};

}  // namespace pft::generate
