#pragma once
// The loss of a run's task on one fixed batch of its training examples, for comparing a model
// before and after training.

#include <cstddef>

#include "pft/app/run.h"

namespace pft::test {

/// The batch of `run`'s first `n` training examples, on the CPU.
pft::train::Batch first_examples(const pft::app::Run& run, std::size_t n);

/// The task's loss on `batch` in eval mode, without gradients; leaves the model in training
/// mode.
double fixed_batch_loss(pft::app::Run& run, const pft::train::Batch& batch);

}  // namespace pft::test
