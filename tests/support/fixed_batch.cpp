#include "support/fixed_batch.h"

namespace pft::test {

pft::train::Batch first_examples(const pft::app::Run& run, std::size_t n) {
  std::vector<std::size_t> indices(n);
  for (std::size_t i = 0; i < n; ++i) indices[i] = i;
  return run.task->train_batch(indices, torch::kCPU);
}

double fixed_batch_loss(pft::app::Run& run, const pft::train::Batch& batch) {
  torch::NoGradGuard no_grad;
  run.adapted.model->eval();
  const double loss = run.task->loss(batch).item<double>();
  run.adapted.model->train();
  return loss;
}

}  // namespace pft::test
