#include <gtest/gtest.h>

#include <algorithm>

#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>

#include "pft/model/project.h"

using pft::model::kMaxFewRows;
using pft::model::project;
using pft::model::uses_few_row_kernel;

namespace {

// The reference in double precision, so that the bound is on pft's float rounding only.
torch::Tensor reference(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
  auto y = x.to(torch::kDouble).matmul(w.to(torch::kDouble).t());
  if (b.defined()) y = y + b.to(torch::kDouble);
  return y;
}

}  // namespace

TEST(Project, MatchesLinearForEveryBlockRemainder) {
  torch::manual_seed(0);
  c10::InferenceMode inference;
  // Rows cover the 1-2 row path, the 4-row blocks and every remainder; columns cover
  // whole 8-column blocks and the single-column tail; k covers the vector tail.
  for (std::int64_t m : {1, 2, 3, 4, 5, 7, 8, 16, 17, 63, 64}) {
    for (std::int64_t k : {1, 15, 16, 17, 100, 515}) {
      for (std::int64_t n : {1, 3, 8, 9, 35}) {
        for (bool with_bias : {false, true}) {
          const auto x = torch::randn({m, k});
          const auto w = torch::randn({n, k});
          const auto b = with_bias ? torch::randn({n}) : torch::Tensor();
          ASSERT_TRUE(uses_few_row_kernel(x, w, b));
          const auto y = project(x, w, b);
          ASSERT_EQ(y.sizes(), (std::vector<std::int64_t>{m, n}));
          const double err = (y.to(torch::kDouble) - reference(x, w, b)).abs().max().item<double>();
          // float accumulation error grows like sqrt(k) times the product magnitude (~sqrt(k))
          EXPECT_LT(err, 2e-6 * static_cast<double>(k) + 1e-6)
              << "m=" << m << " k=" << k << " n=" << n << " bias=" << with_bias;
        }
      }
    }
  }
}

TEST(Project, KeepsLeadingDimensionsAndMatchesAtLinear) {
  torch::manual_seed(1);
  c10::InferenceMode inference;
  const auto x = torch::randn({2, 3, 512});
  const auto w = torch::randn({2048, 512});
  const auto b = torch::randn({2048});
  ASSERT_TRUE(uses_few_row_kernel(x, w, b));
  const auto y = project(x, w, b);
  EXPECT_EQ(y.sizes(), (std::vector<std::int64_t>{2, 3, 2048}));
  EXPECT_TRUE(torch::allclose(y, at::linear(x, w, b), /*rtol=*/1e-5, /*atol=*/1e-4));
  // A non-contiguous input (a transposed view) gives the same values.
  const auto xt = x.transpose(0, 1).contiguous().transpose(0, 1);
  ASSERT_FALSE(xt.is_contiguous());
  EXPECT_TRUE(torch::equal(project(xt, w, b), y));
}

TEST(Project, ARowDoesNotDependOnItsBatchOrTheThreadCount) {
  torch::manual_seed(2);
  c10::InferenceMode inference;
  const auto x = torch::randn({16, 384});
  const auto w = torch::randn({1000, 384});
  const auto all = project(x, w);
  // Alone (the 1-2 row path) and in 3-row batches (a 4x4 remainder), against all 16 rows.
  for (std::int64_t i : {0, 5, 15}) {
    for (std::int64_t rows : {std::int64_t{1}, std::min<std::int64_t>(3, 16 - i)}) {
      EXPECT_TRUE(torch::equal(project(x.slice(0, i, i + rows), w), all.slice(0, i, i + rows)))
          << i << "+" << rows;
    }
  }
  const int threads = at::get_num_threads();
  at::set_num_threads(1);
  const auto serial = project(x, w);
  at::set_num_threads(threads);
  EXPECT_TRUE(torch::equal(serial, all));
}

TEST(Project, FallsBackWhereTheKernelDoesNotApply) {
  torch::manual_seed(3);
  const auto w = torch::randn({8, 32});
  const auto x = torch::randn({4, 32});
  {
    c10::InferenceMode inference;
    EXPECT_TRUE(uses_few_row_kernel(x, w, {}));
    EXPECT_FALSE(uses_few_row_kernel(torch::randn({kMaxFewRows + 1, 32}), w, {}));
    EXPECT_TRUE(uses_few_row_kernel(torch::randn({kMaxFewRows, 32}), w, {}));
    EXPECT_FALSE(uses_few_row_kernel(x.to(torch::kBFloat16), w.to(torch::kBFloat16), {}));
    EXPECT_FALSE(uses_few_row_kernel(x.to(torch::kDouble), w.to(torch::kDouble), {}));
    EXPECT_FALSE(uses_few_row_kernel(x, w.t().contiguous().t(), {}));  // column-major weight
    EXPECT_FALSE(uses_few_row_kernel(torch::randn({0, 32}), w, {}));
    EXPECT_FALSE(uses_few_row_kernel(x, w, torch::randn({7})));
    at::autocast::set_autocast_enabled(at::kCPU, true);
    EXPECT_FALSE(uses_few_row_kernel(x, w, {}));
    at::autocast::set_autocast_enabled(at::kCPU, false);
  }
  // Outside inference mode every product is at::linear, with or without gradients, so that
  // training and the no-grad passes of gradient checkpointing compute the same bits.
  {
    torch::NoGradGuard no_grad;
    EXPECT_FALSE(uses_few_row_kernel(x, w, {}));
    EXPECT_TRUE(torch::equal(project(x, w), at::linear(x, w)));
  }
  const auto trainable = w.clone().requires_grad_(true);
  EXPECT_FALSE(uses_few_row_kernel(x, trainable, {}));
  auto y = project(x, trainable);
  ASSERT_TRUE(y.requires_grad());
  y.sum().backward();
  EXPECT_TRUE(torch::allclose(trainable.grad(), x.sum(0).expand({8, 32})));
}

TEST(AutocastOperand, CastsFloat32OnlyUnderAutocast) {
  using pft::model::autocast_operand;
  const auto x = torch::randn({3, 5}, torch::requires_grad());
  EXPECT_TRUE(autocast_operand(x).is_same(x));
  at::autocast::set_autocast_enabled(at::kCPU, true);
  at::autocast::set_autocast_dtype(at::kCPU, at::kBFloat16);
  const auto cast = autocast_operand(x);
  const auto already = x.detach().to(torch::kBFloat16);
  const auto wide = x.detach().to(torch::kDouble);
  const bool kept_bf16 = autocast_operand(already).is_same(already);
  const bool kept_double = autocast_operand(wide).is_same(wide);
  at::autocast::set_autocast_enabled(at::kCPU, false);
  EXPECT_EQ(cast.scalar_type(), torch::kBFloat16);
  EXPECT_TRUE(torch::equal(cast, already));
  EXPECT_TRUE(kept_bf16);
  EXPECT_TRUE(kept_double);
  // The cast is part of the graph: gradients reach x in float32.
  cast.to(torch::kFloat).sum().backward();
  ASSERT_TRUE(x.grad().defined());
  EXPECT_EQ(x.grad().scalar_type(), torch::kFloat);
  EXPECT_TRUE(torch::equal(x.grad(), torch::ones_like(x)));
}
