#include <gtest/gtest.h>

#include <algorithm>

#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>

#include "pft/model/project.h"
#include "pft/util/error.h"

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

// ---- reduced compute types ---------------------------------------------------------------

namespace {

using pft::model::ComputeType;
using pft::model::ReducedWeight;

// The weight the reduced kernel multiplies by, in double: the bf16 copy widened, or the int8
// values times their row's scale.
torch::Tensor stored(const ReducedWeight& r) {
  if (r.type() == ComputeType::BFloat16) return r.data().to(torch::kDouble);
  return r.data().to(torch::kDouble) * r.scale().to(torch::kDouble).unsqueeze(1);
}

}  // namespace

TEST(ReducedWeight, Int8IsSymmetricPerOutputChannel) {
  torch::manual_seed(4);
  c10::InferenceMode inference;
  auto w = torch::randn({6, 40});
  w[2].mul_(100.0);  // rows of very different sizes keep their own resolution
  w[4].zero_();      // a row of zeros gives zeros
  ReducedWeight r;
  r.set_type(ComputeType::Int8);
  const auto y = r.project(torch::randn({1, 40}), w);
  ASSERT_EQ(r.data().scalar_type(), torch::kInt8);
  ASSERT_EQ(r.scale().sizes(), (std::vector<std::int64_t>{6}));
  const auto peak = w.abs().amax(1);
  EXPECT_TRUE(torch::allclose(r.scale(), peak / 127.0));
  const auto q = r.data().to(torch::kInt32);
  EXPECT_LE(q.abs().max().item<int>(), 127);
  for (std::int64_t row = 0; row < 6; ++row) {
    EXPECT_EQ(q[row].abs().max().item<int>(), row == 4 ? 0 : 127) << row;
  }
  // Each element is rounded to the nearest multiple of its row's scale.
  const auto err = (stored(r) - w.to(torch::kDouble)).abs();
  EXPECT_TRUE((err <= r.scale().to(torch::kDouble).unsqueeze(1) * 0.5 + 1e-6).all().item<bool>());
  EXPECT_TRUE(torch::equal(y.select(1, 4), torch::zeros({1})));
}

TEST(ReducedWeight, ProductsMatchTheStoredWeightForEveryBlockRemainder) {
  torch::manual_seed(5);
  c10::InferenceMode inference;
  for (const auto type : {ComputeType::BFloat16, ComputeType::Int8}) {
    // Rows cover the 1-2 row path and the widened 4x4 panels with every remainder; columns
    // whole 8-column blocks, 4-column panels and their tails; k the vector tail.
    for (std::int64_t m : {1, 2, 3, 5, 16, 64}) {
      for (std::int64_t k : {1, 17, 100, 515}) {
        for (std::int64_t n : {1, 3, 9, 35}) {
          for (bool with_bias : {false, true}) {
            const auto x = torch::randn({m, k});
            const auto w = torch::randn({n, k});
            const auto b = with_bias ? torch::randn({n}) : torch::Tensor();
            ReducedWeight r;
            r.set_type(type);
            const auto y = r.project(x, w, b);
            auto want = x.to(torch::kDouble).matmul(stored(r).t());
            if (b.defined()) want = want + b.to(torch::kDouble);
            const double err = (y.to(torch::kDouble) - want).abs().max().item<double>();
            EXPECT_LT(err, 2e-6 * static_cast<double>(k) + 1e-6)
                << pft::model::compute_type_name(type) << " m=" << m << " k=" << k << " n=" << n
                << " bias=" << with_bias;
          }
        }
      }
    }
  }
}

TEST(ReducedWeight, StaysCloseToFloat32) {
  torch::manual_seed(6);
  c10::InferenceMode inference;
  const auto x = torch::randn({4, 512});
  const auto w = torch::randn({256, 512}) * 0.05;
  const auto exact = at::linear(x, w);
  const double scale = exact.abs().max().item<double>();
  for (const auto& [type, bound] :
       {std::pair{ComputeType::BFloat16, 0.01}, std::pair{ComputeType::Int8, 0.03}}) {
    ReducedWeight r;
    r.set_type(type);
    const double err = (r.project(x, w) - exact).abs().max().item<double>() / scale;
    EXPECT_LT(err, bound) << pft::model::compute_type_name(type);
    EXPECT_GT(err, 0.0) << "the reduced copy was not used";
  }
}

TEST(ReducedWeight, ARowDoesNotDependOnItsBatchOrTheThreadCount) {
  torch::manual_seed(7);
  c10::InferenceMode inference;
  const auto x = torch::randn({16, 384});
  const auto w = torch::randn({1000, 384});
  for (const auto type : {ComputeType::BFloat16, ComputeType::Int8}) {
    ReducedWeight r;
    r.set_type(type);
    const auto all = r.project(x, w);
    for (std::int64_t i : {0, 5, 13}) {
      for (std::int64_t rows : {1, 2, 3}) {
        EXPECT_TRUE(torch::equal(r.project(x.slice(0, i, i + rows), w), all.slice(0, i, i + rows)))
            << pft::model::compute_type_name(type) << " " << i << "+" << rows;
      }
    }
    const int threads = at::get_num_threads();
    at::set_num_threads(1);
    const auto serial = r.project(x, w);
    at::set_num_threads(threads);
    EXPECT_TRUE(torch::equal(serial, all));
  }
}

TEST(ReducedWeight, TheCopyIsMadeOnceAndRemadeWhenTheWeightChanges) {
  torch::manual_seed(8);
  auto w = torch::randn({24, 64});
  const auto x = torch::randn({2, 64});
  ReducedWeight r;
  r.set_type(ComputeType::Int8);
  const void* first = nullptr;
  {
    c10::InferenceMode inference;
    r.project(x, w);
    first = r.data().data_ptr();
    r.project(x, w);
    EXPECT_EQ(r.data().data_ptr(), first) << "quantized again for an unchanged weight";
  }
  {
    torch::NoGradGuard no_grad;
    w.mul_(2.0);  // in place, as an optimizer step or a merge does
  }
  c10::InferenceMode inference;
  const auto y = r.project(x, w);
  EXPECT_NE(r.data().data_ptr(), first);
  EXPECT_TRUE(torch::allclose(r.scale(), w.abs().amax(1) / 127.0));
  // Another type, then another tensor: remade for each.
  r.set_type(ComputeType::BFloat16);
  r.project(x, w);
  EXPECT_EQ(r.data().scalar_type(), torch::kBFloat16);
  const auto other = torch::randn({24, 64});
  r.project(x, other);
  EXPECT_TRUE(torch::equal(r.data(), other.to(torch::kBFloat16)));
  // float32 again: the weight itself, bit for bit.
  r.set_type(ComputeType::Float32);
  EXPECT_TRUE(torch::equal(r.project(x, w), project(x, w)));
  EXPECT_FALSE(torch::equal(y, project(x, w)));
}

TEST(ReducedWeight, OnlyInferenceProductsOnFewRowsUseTheCopy) {
  torch::manual_seed(9);
  const auto w = torch::randn({16, 32});
  const auto x = torch::randn({4, 32});
  ReducedWeight r;
  r.set_type(ComputeType::Int8);
  {
    // Training and no-grad passes: at::linear with the float32 weight, no copy made.
    torch::NoGradGuard no_grad;
    EXPECT_TRUE(torch::equal(r.project(x, w), at::linear(x, w)));
    EXPECT_FALSE(r.data().defined());
  }
  const auto trainable = w.clone().requires_grad_(true);
  auto y = r.project(x, trainable);
  y.sum().backward();
  EXPECT_TRUE(torch::equal(y.detach(), at::linear(x, w)));
  EXPECT_TRUE(torch::allclose(trainable.grad(), x.sum(0).expand({16, 32})));
  EXPECT_FALSE(r.data().defined());
  c10::InferenceMode inference;
  // More rows than the kernel takes: float32.
  const auto many = torch::randn({kMaxFewRows + 1, 32});
  EXPECT_TRUE(torch::equal(r.project(many, w), project(many, w)));
  EXPECT_FALSE(r.data().defined());
  at::autocast::set_autocast_enabled(at::kCPU, true);
  const auto autocast = r.project(x, w);
  at::autocast::set_autocast_enabled(at::kCPU, false);
  EXPECT_FALSE(r.data().defined());
  (void)autocast;
  r.project(x, w);
  EXPECT_TRUE(r.data().defined());
}

TEST(ComputeType, AutoIsInt8OnTheCpuAndFloat32Elsewhere) {
  using pft::model::resolve_compute_type;
  const torch::Device cpu(torch::kCPU), cuda(torch::kCUDA, 0);
  EXPECT_EQ(resolve_compute_type("auto", cpu), ComputeType::Int8);
  EXPECT_EQ(resolve_compute_type("auto", cuda), ComputeType::Float32);
  EXPECT_EQ(resolve_compute_type("bfloat16", cuda), ComputeType::BFloat16);
  EXPECT_EQ(resolve_compute_type("float32", cpu), ComputeType::Float32);
  EXPECT_EQ(resolve_compute_type("int8", cpu), ComputeType::Int8);
  try {
    resolve_compute_type("int4", cpu);
    FAIL() << "int4 accepted";
  } catch (const pft::Error& e) {
    EXPECT_EQ(e.kind(), pft::ErrorKind::Config);
    EXPECT_NE(std::string(e.what()).find("generate.compute_type"), std::string::npos) << e.what();
  }
}
