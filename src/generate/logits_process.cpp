#include "pft/generate/logits_process.h"

#include <algorithm>
#include <limits>
#include <utility>

namespace pft::generate {

namespace {
constexpr double kMinusInf = -std::numeric_limits<double>::infinity();
}  // namespace

LogitsProcessor::LogitsProcessor(const config::GenerateConfig& options,
                                 std::vector<std::int64_t> eos, std::int64_t beams)
    : options_(options),
      eos_(std::move(eos)),
      min_tokens_to_keep_(beams > 1 ? static_cast<std::int64_t>(eos_.size()) + 1 : 1) {}

torch::Tensor LogitsProcessor::constrain(const torch::Tensor& sequences,
                                         torch::Tensor scores) const {
  const auto length = sequences.size(1);
  const auto n = options_.no_repeat_ngram_size;
  if (n > 0 && length >= n) {
    // A window of n tokens whose first n-1 equal the last n-1 tokens bans its last token
    // (transformers' vectorised NoRepeatNGramLogitsProcessor).
    const auto prefix = sequences.narrow(1, length + 1 - n, n - 1);
    const auto windows = sequences.unfold(1, n, 1);  // [rows, length - n + 1, n]
    const auto matches = (windows.narrow(-1, 0, n - 1) == prefix.unsqueeze(1)).all(-1);
    const auto vocab = scores.size(-1);
    // Non-matching windows mark a spare column past the vocabulary.
    auto banned = torch::zeros({scores.size(0), vocab + 1},
                               scores.options().dtype(torch::kBool));
    banned.scatter_(1,
                    torch::where(matches, windows.select(-1, n - 1).clamp_max(vocab),
                                 torch::full({}, vocab, windows.options())),
                    true);
    scores = scores.masked_fill(banned.narrow(1, 0, vocab), kMinusInf);
  }
  if (options_.min_new_tokens > 0 && length - 1 < options_.min_new_tokens && !eos_.empty()) {
    const auto eos = torch::tensor(eos_, torch::TensorOptions().dtype(torch::kLong))
                         .to(scores.device());
    scores = scores.index_fill(1, eos, kMinusInf);
  }
  return scores;
}

torch::Tensor LogitsProcessor::warp(torch::Tensor scores) const {
  if (options_.temperature != 1.0) scores = scores / options_.temperature;
  if (options_.top_k != 0) {
    const auto k = std::min(std::max(options_.top_k, min_tokens_to_keep_), scores.size(-1));
    const auto kth = std::get<0>(torch::topk(scores, k)).narrow(-1, k - 1, 1);
    scores = scores.masked_fill(scores < kth, kMinusInf);
  }
  if (options_.top_p < 1.0) {
    const auto [sorted, order] = torch::sort(scores, /*dim=*/-1, /*descending=*/false);
    const auto cumulative = sorted.softmax(-1).cumsum(-1);
    auto remove = cumulative <= (1 - options_.top_p);
    remove.narrow(-1, remove.size(-1) - min_tokens_to_keep_, min_tokens_to_keep_).fill_(false);
    scores = scores.masked_fill(remove.scatter(1, order, remove), kMinusInf);
  }
  return scores;
}

}  // namespace pft::generate
