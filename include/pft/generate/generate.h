#pragma once
// Text generation over any encoder-decoder with a key/value cache (model::Seq2SeqLM):
// greedy search, multinomial sampling, beam search and beam sampling, with the semantics of
// transformers' generate() for the options of the config's `generate` section
// (config::GenerateConfig; docs/generation.md).
//
// Decoding starts from the model's decoder_start token. A sequence ends at one of the EOS ids
// (kept in the output) or after max_new_tokens tokens; in a batch, every sequence stops on
// its own (finished rows are fed the pad token until the batch is done, as transformers
// does, so results do not depend on the other rows).

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "pft/config/config.h"
#include "pft/model/seq2seq.h"

namespace pft::generate {

/// Called after every step of greedy search and sampling with the token each row chose
/// (pad for rows already finished) and whether each row is still running. Beam search
/// does not call it: its best hypothesis is only known at the end.
using StepCallback =
    std::function<void(const std::vector<std::int64_t>& tokens, const std::vector<bool>& running)>;

/// For its lifetime, the model decodes with the compute type that `options.compute_type`
/// resolves to on the model's device (model::resolve_compute_type); the previous one is set
/// back after. Greedy search, sampling and beam search each hold one.
class ComputeTypeScope {
 public:
  ComputeTypeScope(model::Seq2SeqLM& model, const config::GenerateConfig& options);
  ~ComputeTypeScope();
  ComputeTypeScope(const ComputeTypeScope&) = delete;
  ComputeTypeScope& operator=(const ComputeTypeScope&) = delete;

 private:
  model::Seq2SeqLM& model_;
  model::ComputeType previous_;
};

/// Checks the options the config loader also checks, for callers that fill the struct
/// themselves; throws pft::Error (Config) naming `generate.<key>`.
void validate(const config::GenerateConfig& options);

/// Generates for `input_ids` [batch, src_len] (attention_mask: 1 token, 0 padding; may be
/// undefined). Returns, per input, the generated ids without the decoder start token,
/// ending with the EOS id when one was produced. Sampling draws from a CPU torch::Generator
/// seeded with options.seed, so a seed gives the same output on every run and device.
std::vector<std::vector<std::int64_t>> generate(model::Seq2SeqLM& model,
                                                const torch::Tensor& input_ids,
                                                const torch::Tensor& attention_mask,
                                                const config::GenerateConfig& options,
                                                const StepCallback& on_step = {});

/// Greedy search or sampling (num_beams == 1).
std::vector<std::vector<std::int64_t>> greedy_or_sample(model::Seq2SeqLM& model,
                                                        const torch::Tensor& input_ids,
                                                        const torch::Tensor& attention_mask,
                                                        const config::GenerateConfig& options,
                                                        const StepCallback& on_step = {});

}  // namespace pft::generate
