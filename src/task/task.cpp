#include "pft/task/task.h"

#include <algorithm>

namespace pft::task {

std::vector<std::vector<std::size_t>> eval_batches(const std::vector<std::size_t>& indices,
                                                   std::int64_t batch_size) {
  std::vector<std::vector<std::size_t>> out;
  const auto size = static_cast<std::size_t>(std::max<std::int64_t>(batch_size, 1));
  for (std::size_t i = 0; i < indices.size(); i += size) {
    out.emplace_back(
        indices.begin() + static_cast<std::ptrdiff_t>(i),
        indices.begin() + static_cast<std::ptrdiff_t>(std::min(indices.size(), i + size)));
  }
  return out;
}

}  // namespace pft::task
