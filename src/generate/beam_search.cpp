#include "pft/generate/beam_search.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>

#include "pft/generate/generate.h"
#include "pft/generate/logits_process.h"

namespace pft::generate {

namespace {

// A score no real hypothesis reaches: marks empty slots and excluded candidates.
constexpr double kExcluded = -1.0e9;

// tensor [batch, beams, ...] -> the slices `index` [batch, k] picks along dim 1.
torch::Tensor gather_beams(const torch::Tensor& tensor, torch::Tensor index) {
  while (index.dim() < tensor.dim()) index = index.unsqueeze(-1);
  return torch::take_along_dim(tensor, index, 1);
}

}  // namespace

std::vector<std::vector<std::int64_t>> beam_search(model::Seq2SeqLM& model,
                                                   const torch::Tensor& input_ids,
                                                   const torch::Tensor& attention_mask,
                                                   const config::GenerateConfig& options) {
  c10::InferenceMode inference;
  const ComputeTypeScope compute_type(model, options);
  const auto special = model.special_tokens();
  const auto device = model.device();
  const auto batch = input_ids.size(0);
  const auto beams = options.num_beams;
  const double length_penalty = options.length_penalty;
  const bool early_stopping = options.early_stopping;
  const LogitsProcessor processor(options, special.eos, beams);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(static_cast<std::uint64_t>(options.seed));

  // The decoder "prompt" is the start token: lengths below count from it as transformers does.
  const std::int64_t prompt_length = 1;
  const std::int64_t max_length = prompt_length + options.max_new_tokens;
  // Keep enough candidates that num_beams survive even if the best ones all end.
  const std::int64_t keep =
      std::max<std::int64_t>(2, 1 + static_cast<std::int64_t>(special.eos.size())) * beams;
  const auto long_options = torch::TensorOptions().dtype(torch::kLong).device(device);
  const auto float_options = torch::TensorOptions().dtype(torch::kFloat).device(device);
  const auto bool_options = torch::TensorOptions().dtype(torch::kBool).device(device);
  const auto eos = torch::tensor(special.eos, torch::TensorOptions().dtype(torch::kLong)).to(device);
  const auto top_beams_mask =
      torch::cat({torch::ones({beams}, bool_options), torch::zeros({keep - beams}, bool_options)});

  auto running_sequences = torch::full({batch, beams, max_length}, special.pad, long_options);
  running_sequences.select(2, 0).fill_(special.decoder_start);
  auto sequences = running_sequences.clone();
  // Only the first beam is live at the start, so the first step does not pick one token
  // num_beams times.
  auto running_scores = torch::zeros({batch, beams}, float_options);
  running_scores.narrow(1, 1, beams - 1).fill_(kExcluded);
  auto scores = torch::full({batch, beams}, kExcluded, float_options);
  auto finished = torch::zeros({batch, beams}, bool_options);
  auto can_improve = torch::ones({batch, 1}, bool_options);
  auto running_beam_indices =
      torch::full({batch, beams, max_length - prompt_length}, -1, long_options);
  auto beam_indices = running_beam_indices.clone();

  auto state = model.start(input_ids, attention_mask, beams);
  std::int64_t length = prompt_length;
  while (true) {
    const auto flat_running =
        running_sequences.narrow(2, 0, length).reshape({batch * beams, length});
    const auto logits = model.step(*state, flat_running.select(1, -1));
    const auto vocab = logits.size(-1);

    auto log_probs = torch::log_softmax(logits, -1);
    log_probs = processor.constrain(flat_running, log_probs);
    if (options.do_sample) log_probs = processor.warp(log_probs);
    log_probs = (log_probs.view({batch, beams, vocab}) + running_scores.unsqueeze(-1))
                    .view({batch, beams * vocab});

    // The `keep` best continuations over all beams (or sampled without replacement).
    torch::Tensor top_scores, top_indices;
    if (options.do_sample) {
      top_indices = torch::multinomial(torch::softmax(log_probs, -1).to(torch::kCPU), keep,
                                       /*replacement=*/false, generator)
                        .to(device);
      top_scores = torch::gather(log_probs, 1, top_indices);
    } else {
      std::tie(top_scores, top_indices) = torch::topk(log_probs, keep);
    }
    const auto top_source_beams = torch::div(top_indices, vocab, "floor");
    const auto top_tokens = top_indices.remainder(vocab);
    auto top_beam_indices = gather_beams(running_beam_indices, top_source_beams);
    auto top_sequences = gather_beams(running_sequences, top_source_beams);
    top_sequences.select(2, length).copy_(top_tokens);
    const auto batch_offset = torch::arange(batch, long_options).view({-1, 1}) * beams;
    top_beam_indices.select(2, length - prompt_length).copy_(top_source_beams + batch_offset);

    // Which candidates end here: an EOS, or the length limit.
    auto ends = torch::isin(top_tokens, eos);
    if (length + 1 >= max_length) ends = torch::ones_like(ends);

    // The best num_beams candidates that go on.
    const auto running_candidates = top_scores + ends.to(torch::kFloat) * kExcluded;
    const auto next_running = std::get<1>(torch::topk(running_candidates, beams));
    running_sequences = gather_beams(top_sequences, next_running);
    running_scores = gather_beams(running_candidates, next_running);
    running_beam_indices = gather_beams(top_beam_indices, next_running);

    // Candidates among the top num_beams that end become finished hypotheses when they beat
    // the worst ones kept so far.
    const auto just_finished = ends & top_beams_mask.unsqueeze(0);
    auto finished_scores =
        top_scores / std::pow(static_cast<double>(length + 1 - prompt_length), length_penalty);
    const auto all_finished = finished.all(-1, /*keepdim=*/true) & early_stopping;
    finished_scores = finished_scores + all_finished.to(torch::kFloat) * kExcluded;
    finished_scores = finished_scores + (~can_improve).to(torch::kFloat) * kExcluded;
    finished_scores = finished_scores + (~just_finished).to(torch::kFloat) * kExcluded;
    const auto merged_scores = torch::cat({scores, finished_scores}, 1);
    const auto best = std::get<1>(torch::topk(merged_scores, beams));
    sequences = gather_beams(torch::cat({sequences, top_sequences}, 1), best);
    scores = gather_beams(merged_scores, best);
    beam_indices = gather_beams(torch::cat({beam_indices, top_beam_indices}, 1), best);
    finished = gather_beams(torch::cat({finished, just_finished}, 1), best);

    // The cache follows the beams that go on.
    state->select(running_beam_indices.select(2, length - prompt_length).reshape({-1}));
    ++length;

    // Can a running beam still beat the worst finished hypothesis? Without early stopping
    // the best running score is judged at the current length (transformers' heuristic).
    const auto best_running =
        running_scores.narrow(1, 0, 1) /
        std::pow(static_cast<double>(length - prompt_length), length_penalty);
    const auto worst_finished =
        torch::where(finished, std::get<0>(torch::min(scores, 1, /*keepdim=*/true)),
                     torch::full({}, kExcluded, float_options));
    can_improve = can_improve & (best_running > worst_finished).any(-1, /*keepdim=*/true);

    const bool improvement_possible = can_improve.any().item<bool>();
    const bool open_beam = !(early_stopping && finished.all().item<bool>());
    const bool continuations = !ends.all().item<bool>();
    if (!(improvement_possible && open_beam && continuations)) break;
  }

  // The best hypothesis of each item; its length is where its beam indices stop.
  const auto best_sequences = sequences.select(1, 0).to(torch::kCPU);
  const auto generated = (beam_indices.select(1, 0) >= 0).sum(-1).to(torch::kCPU);
  std::vector<std::vector<std::int64_t>> out;
  out.reserve(static_cast<std::size_t>(batch));
  for (std::int64_t i = 0; i < batch; ++i) {
    const auto count = generated[i].item<std::int64_t>();
    std::vector<std::int64_t> ids;
    for (std::int64_t t = 0; t < count; ++t) {
      const auto id = best_sequences[i][prompt_length + t].item<std::int64_t>();
      ids.push_back(id);
      if (std::find(special.eos.begin(), special.eos.end(), id) != special.eos.end()) break;
    }
    out.push_back(std::move(ids));
  }
  return out;
}

}  // namespace pft::generate
