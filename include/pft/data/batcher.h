#pragma once
// Batch plans: which examples form each batch of an epoch. Length-bucketed and seeded: the
// examples are shuffled with (seed, epoch), cut into pools of `pool_batches` batches, each
// pool sorted by length so that a batch holds examples of similar length (little padding),
// and the batches are shuffled again. The plan depends only on (lengths, options, epoch), so
// a resumed run rebuilds exactly the plan it was in and skips the batches already done.

#include <cstdint>
#include <vector>

namespace pft::data {

struct BatchPlanOptions {
  std::int64_t batch_size = 16;
  std::uint64_t seed = 42;
  bool shuffle = true;             // false: file order (evaluation)
  std::int64_t pool_batches = 50;  // batches per length-sorted pool (0 or 1: no bucketing)
  bool drop_last = false;
};

/// The batches of one epoch as lists of example indices.
std::vector<std::vector<std::size_t>> plan_batches(const std::vector<std::int64_t>& lengths,
                                                   const BatchPlanOptions& options, std::int64_t epoch);

/// Pads each row of `rows` with `pad` to the longest row (or `pad_to_multiple` multiples).
struct Padded {
  std::vector<std::int64_t> values;  // row-major [rows, width]
  std::vector<std::int64_t> mask;    // 1 real, 0 padding
  std::int64_t rows = 0, width = 0;
};
Padded pad_rows(const std::vector<const std::vector<std::int64_t>*>& rows, std::int64_t pad,
                std::int64_t pad_to_multiple = 1);

}  // namespace pft::data
