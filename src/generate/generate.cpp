#include "pft/generate/generate.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <string>

#include "pft/generate/beam_search.h"
#include "pft/generate/logits_process.h"
#include "pft/util/error.h"

namespace pft::generate {

namespace {

[[noreturn]] void bad_option(const std::string& key, const std::string& what) {
  throw Error(ErrorKind::Config, "generate." + key + ": " + what);
}

torch::Tensor eos_tensor(const model::SpecialTokens& special, const torch::Device& device) {
  return torch::tensor(special.eos, torch::TensorOptions().dtype(torch::kLong)).to(device);
}

// Generated ids of one row (start token dropped), cut after the first EOS.
std::vector<std::int64_t> crop(const torch::Tensor& row, const std::vector<std::int64_t>& eos) {
  const auto cpu = row.to(torch::kCPU).contiguous();
  const auto* data = cpu.data_ptr<std::int64_t>();
  std::vector<std::int64_t> out;
  for (std::int64_t i = 1; i < cpu.numel(); ++i) {
    out.push_back(data[i]);
    if (std::find(eos.begin(), eos.end(), data[i]) != eos.end()) break;
  }
  return out;
}

}  // namespace

ComputeTypeScope::ComputeTypeScope(model::Seq2SeqLM& model, const config::GenerateConfig& options)
    : model_(model), previous_(model.decode_compute_type()) {
  model_.set_decode_compute_type(model::resolve_compute_type(options.compute_type, model.device()));
}

ComputeTypeScope::~ComputeTypeScope() { model_.set_decode_compute_type(previous_); }

void validate(const config::GenerateConfig& o) {
  if (o.max_new_tokens < 1) bad_option("max_new_tokens", "must be >= 1, got " + std::to_string(o.max_new_tokens));
  if (o.min_new_tokens < 0) bad_option("min_new_tokens", "must be >= 0, got " + std::to_string(o.min_new_tokens));
  if (o.min_new_tokens > o.max_new_tokens) {
    bad_option("min_new_tokens", "must be <= generate.max_new_tokens (" +
                                     std::to_string(o.max_new_tokens) + "), got " +
                                     std::to_string(o.min_new_tokens));
  }
  if (o.num_beams < 1) bad_option("num_beams", "must be >= 1, got " + std::to_string(o.num_beams));
  if (o.no_repeat_ngram_size < 0) {
    bad_option("no_repeat_ngram_size", "must be >= 0, got " + std::to_string(o.no_repeat_ngram_size));
  }
  if (!(o.temperature > 0.0)) bad_option("temperature", "must be > 0, got " + std::to_string(o.temperature));
  if (o.top_k < 0) bad_option("top_k", "must be >= 0, got " + std::to_string(o.top_k));
  if (!(o.top_p > 0.0 && o.top_p <= 1.0)) {
    bad_option("top_p", "must be in (0, 1], got " + std::to_string(o.top_p));
  }
  if (o.seed < 0) bad_option("seed", "must be >= 0, got " + std::to_string(o.seed));
  (void)model::resolve_compute_type(o.compute_type, torch::Device(torch::kCPU));
}

std::vector<std::vector<std::int64_t>> generate(model::Seq2SeqLM& model,
                                                const torch::Tensor& input_ids,
                                                const torch::Tensor& attention_mask,
                                                const config::GenerateConfig& options,
                                                const StepCallback& on_step) {
  validate(options);
  if (input_ids.dim() != 2 || input_ids.size(0) == 0 || input_ids.size(1) == 0) {
    throw Error(ErrorKind::Input, "generate: expected input_ids of shape [batch >= 1, length >= 1], got " +
                                      c10::str(input_ids.sizes()));
  }
  if (options.num_beams > 1) return beam_search(model, input_ids, attention_mask, options);
  return greedy_or_sample(model, input_ids, attention_mask, options, on_step);
}

std::vector<std::vector<std::int64_t>> greedy_or_sample(model::Seq2SeqLM& model,
                                                        const torch::Tensor& input_ids,
                                                        const torch::Tensor& attention_mask,
                                                        const config::GenerateConfig& options,
                                                        const StepCallback& on_step) {
  c10::InferenceMode inference;
  const ComputeTypeScope compute_type(model, options);
  const auto special = model.special_tokens();
  const auto device = model.device();
  const auto rows = input_ids.size(0);
  const LogitsProcessor processor(options, special.eos, /*beams=*/1);
  const auto eos = eos_tensor(special, device);
  // CPU generator whatever the device: the same seed gives the same tokens everywhere.
  auto generator = at::make_generator<at::CPUGeneratorImpl>(static_cast<std::uint64_t>(options.seed));

  auto state = model.start(input_ids, attention_mask, 1);
  const auto long_options = torch::TensorOptions().dtype(torch::kLong).device(device);
  auto sequences = torch::full({rows, 1}, special.decoder_start, long_options);
  auto running = torch::ones({rows}, long_options);
  for (std::int64_t step = 0; step < options.max_new_tokens; ++step) {
    const auto logits = model.step(*state, sequences.select(1, -1));
    auto scores = processor.constrain(sequences, logits);
    torch::Tensor next;
    if (options.do_sample) {
      const auto probs = torch::softmax(processor.warp(scores), -1);
      next = torch::multinomial(probs.to(torch::kCPU), 1, /*replacement=*/false, generator)
                 .squeeze(1)
                 .to(device);
    } else {
      next = scores.argmax(-1);
    }
    // Finished rows get the pad token.
    next = next * running + special.pad * (1 - running);
    sequences = torch::cat({sequences, next.unsqueeze(1)}, 1);
    running = running * (~torch::isin(next, eos)).to(torch::kLong);
    if (on_step) {
      const auto tokens_cpu = next.to(torch::kCPU);
      const auto running_cpu = running.to(torch::kCPU);
      std::vector<std::int64_t> tokens(tokens_cpu.data_ptr<std::int64_t>(),
                                       tokens_cpu.data_ptr<std::int64_t>() + rows);
      std::vector<bool> still(static_cast<std::size_t>(rows));
      for (std::int64_t i = 0; i < rows; ++i) still[i] = running_cpu[i].item<std::int64_t>() != 0;
      on_step(tokens, still);
    }
    if (running.max().item<std::int64_t>() == 0) break;
  }
  std::vector<std::vector<std::int64_t>> out;
  out.reserve(static_cast<std::size_t>(rows));
  for (std::int64_t i = 0; i < rows; ++i) out.push_back(crop(sequences[i], special.eos));
  return out;
}

}  // namespace pft::generate
