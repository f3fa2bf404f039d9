#pragma once
// Comparing tensors in parity tests.

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace pft::test {

/// The largest absolute difference of two tensors (in double); differing shapes are a test
/// failure and count as 1e30.
inline double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  if (a.sizes() != b.sizes()) return 1e30;
  return (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>();
}

}  // namespace pft::test
