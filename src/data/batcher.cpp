#include "pft/data/batcher.h"

#include <algorithm>
#include <numeric>
#include <random>

#include "pft/util/error.h"

namespace pft::data {

std::vector<std::vector<std::size_t>> plan_batches(const std::vector<std::int64_t>& lengths,
                                                   const BatchPlanOptions& o, std::int64_t epoch) {
  if (o.batch_size < 1) throw Error(ErrorKind::Config, "batch size must be >= 1");
  std::vector<std::size_t> order(lengths.size());
  std::iota(order.begin(), order.end(), 0);
  // One stream per epoch, independent of how many values earlier epochs drew.
  std::mt19937_64 rng(o.seed * 1000003ULL + static_cast<std::uint64_t>(epoch));
  if (o.shuffle) std::shuffle(order.begin(), order.end(), rng);
  const auto bs = static_cast<std::size_t>(o.batch_size);
  if (o.shuffle && o.pool_batches > 1) {
    const std::size_t pool = bs * static_cast<std::size_t>(o.pool_batches);
    for (std::size_t start = 0; start < order.size(); start += pool) {
      const auto end = std::min(order.size(), start + pool);
      std::stable_sort(order.begin() + static_cast<std::ptrdiff_t>(start),
                       order.begin() + static_cast<std::ptrdiff_t>(end),
                       [&](std::size_t a, std::size_t b) { return lengths[a] < lengths[b]; });
    }
  }
  std::vector<std::vector<std::size_t>> batches;
  for (std::size_t start = 0; start < order.size(); start += bs) {
    const auto end = std::min(order.size(), start + bs);
    if (o.drop_last && end - start < bs) break;
    batches.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(start),
                         order.begin() + static_cast<std::ptrdiff_t>(end));
  }
  if (o.shuffle) std::shuffle(batches.begin(), batches.end(), rng);
  return batches;
}

Padded pad_rows(const std::vector<const std::vector<std::int64_t>*>& rows, std::int64_t pad,
                std::int64_t pad_to_multiple) {
  Padded p;
  p.rows = static_cast<std::int64_t>(rows.size());
  for (const auto* r : rows) p.width = std::max<std::int64_t>(p.width, static_cast<std::int64_t>(r->size()));
  if (pad_to_multiple > 1) p.width = (p.width + pad_to_multiple - 1) / pad_to_multiple * pad_to_multiple;
  p.values.assign(static_cast<std::size_t>(p.rows * p.width), pad);
  p.mask.assign(p.values.size(), 0);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto offset = i * static_cast<std::size_t>(p.width);
    std::copy(rows[i]->begin(), rows[i]->end(), p.values.begin() + static_cast<std::ptrdiff_t>(offset));
    std::fill_n(p.mask.begin() + static_cast<std::ptrdiff_t>(offset), rows[i]->size(), 1);
  }
  return p;
}

}  // namespace pft::data
