// Mixed precision: the autocast guard really switches LibTorch's autocast on and off, and the
// fp16 loss scaler unscales, detects overflows, backs off and grows as torch.amp.GradScaler.

#include <gtest/gtest.h>

#include <torch/torch.h>

#include <fstream>
#include <sstream>
#include <string>

#include "pft/train/precision.h"
#include "pft/util/error.h"

using pft::train::AutocastGuard;
using pft::train::GradScaler;
using pft::train::Precision;

TEST(Precision, ParsesNamesAndRefusesFp16OnTheCpu) {
  EXPECT_EQ(pft::train::parse_precision("fp32", torch::kCPU), Precision::FP32);
  EXPECT_EQ(pft::train::parse_precision("bf16", torch::kCPU), Precision::BF16);
  try {
    pft::train::parse_precision("fp16", torch::kCPU);
    FAIL() << "fp16 on the CPU must be refused";
  } catch (const pft::Error& e) {
    EXPECT_EQ(e.kind(), pft::ErrorKind::Config);
    EXPECT_NE(std::string(e.what()).find("train.precision"), std::string::npos) << e.what();
  }
}

TEST(Precision, AutoIsBf16ExactlyOnCpusWithBf16MatrixUnits) {
  // The kernel's view of the CPU (/proc/cpuinfo flags) must agree with pft's cpuid check.
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  bool listed = false, has = false;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    listed = true;
    std::istringstream words(line);
    std::string w;
    while (words >> w) has = has || w == "avx512_bf16" || w == "amx_bf16";
    break;
  }
  if (!listed) GTEST_SKIP() << "no /proc/cpuinfo flags to compare with";
  EXPECT_EQ(pft::train::cpu_has_bf16_matmul(), has);
  EXPECT_EQ(pft::train::parse_precision("auto", torch::kCPU), has ? Precision::BF16 : Precision::FP32);
  // CUDA devices are not auto-promoted (parsing does not touch a GPU).
  EXPECT_EQ(pft::train::parse_precision("auto", torch::Device(torch::kCUDA, 0)), Precision::FP32);
}

TEST(Precision, Bf16AutocastRunsMatrixProductsInBf16AndRestores) {
  torch::manual_seed(0);
  const auto x = torch::randn({4, 8});
  const auto w = torch::randn({3, 8});
  {
    AutocastGuard guard(Precision::BF16, torch::kCPU);
    const auto y = at::linear(x, w);
    EXPECT_EQ(y.scalar_type(), torch::kBFloat16);
    // Close to fp32 at bf16's precision, but not equal: the product really ran in bf16.
    const auto ref = at::linear(x.to(torch::kBFloat16).to(torch::kFloat),
                                w.to(torch::kBFloat16).to(torch::kFloat));
    EXPECT_LT((y.to(torch::kFloat) - ref).abs().max().item<double>(), 0.1);
    {
      AutocastGuard inner(Precision::BF16, torch::kCPU);  // nesting is fine
      EXPECT_EQ(at::linear(x, w).scalar_type(), torch::kBFloat16);
    }
    EXPECT_EQ(at::linear(x, w).scalar_type(), torch::kBFloat16);
  }
  EXPECT_EQ(at::linear(x, w).scalar_type(), torch::kFloat);
  {
    AutocastGuard off(Precision::FP32, torch::kCPU);
    EXPECT_EQ(at::linear(x, w).scalar_type(), torch::kFloat);
  }
}

TEST(Precision, GradScalerUnscalesSkipsOverflowsBacksOffAndGrows) {
  GradScaler scaler(true, 1024.0, 2.0, 0.5, /*growth_interval=*/3);
  auto p = torch::ones({2}, torch::requires_grad());
  (p.sum() * scaler.scale()).backward();
  EXPECT_TRUE(scaler.unscale_and_check({p}));
  EXPECT_TRUE(torch::allclose(p.grad(), torch::ones({2})));
  scaler.update(true);
  scaler.update(true);
  EXPECT_EQ(scaler.scale(), 1024.0);
  scaler.update(true);  // third good step in a row
  EXPECT_EQ(scaler.scale(), 2048.0);
  p.mutable_grad() = torch::tensor({1.0f, std::numeric_limits<float>::infinity()});
  EXPECT_FALSE(scaler.unscale_and_check({p}));
  scaler.update(false);
  EXPECT_EQ(scaler.scale(), 1024.0);
  // The state round-trips (checkpoints).
  GradScaler other(true);
  other.load_state(scaler.state());
  EXPECT_EQ(other.scale(), 1024.0);
  EXPECT_EQ(other.state(), scaler.state());
  // Disabled: scale 1, nothing touched, never skips.
  GradScaler off(false);
  p.mutable_grad() = torch::tensor({2.0f, std::numeric_limits<float>::infinity()});
  EXPECT_EQ(off.scale(), 1.0);
  EXPECT_TRUE(off.unscale_and_check({p}));
  EXPECT_EQ(p.grad()[0].item<float>(), 2.0f);
}

TEST(Precision, Fp16AutocastOnCuda_CUDA) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const auto x = torch::randn({4, 8}, torch::kCUDA);
  const auto w = torch::randn({3, 8}, torch::kCUDA);
  {
    AutocastGuard guard(pft::train::parse_precision("fp16", torch::kCUDA), torch::kCUDA);
    EXPECT_EQ(at::linear(x, w).scalar_type(), torch::kHalf);
    EXPECT_EQ(at::linear(x.cpu(), w.cpu()).scalar_type(), torch::kFloat);  // CPU autocast untouched
  }
  EXPECT_EQ(at::linear(x, w).scalar_type(), torch::kFloat);
}
