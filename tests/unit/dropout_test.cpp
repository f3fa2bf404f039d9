// Hashed dropout: keep rate, scaling, independence of neighbouring elements, the same mask in
// the backward pass, reproducibility from the generator's seed, and the training attention
// path against SDPA when nothing is dropped.

#include <gtest/gtest.h>

#include "pft/model/dropout.h"
#include "pft/util/error.h"

using pft::model::hashed_dropout_kernel;

TEST(HashedDropout, KeepsOneMinusPAndScalesTheKeptElements) {
  for (const double p : {0.1, 0.5, 0.9}) {
    const auto x = torch::rand({1 << 20}) + 1.0;  // never zero
    const auto y = hashed_dropout_kernel(x, p, 1234);
    const auto kept = y != 0;
    const double rate = kept.to(torch::kDouble).mean().item<double>();
    EXPECT_NEAR(rate, 1.0 - p, 0.003) << "p " << p;
    const auto expected = x.masked_select(kept) / (1.0 - p);
    EXPECT_TRUE(torch::allclose(y.masked_select(kept), expected, /*rtol=*/1e-6, /*atol=*/0));
    // Neighbours are independent: both kept as often as (1-p)^2, and every lane of 16 keeps
    // the same share (a vector unit's lanes would show a pattern here).
    const auto pairs = (kept.slice(0, 0, -1) & kept.slice(0, 1)).to(torch::kDouble).mean();
    EXPECT_NEAR(pairs.item<double>(), (1 - p) * (1 - p), 0.003) << "p " << p;
    const auto lanes = kept.view({-1, 16}).to(torch::kDouble).mean(0);
    EXPECT_LE((lanes - (1.0 - p)).abs().max().item<double>(), 0.01) << lanes;
  }
}

TEST(HashedDropout, TheMaskDependsOnTheKeyOnlyNotOnTheDtype) {
  const auto x = torch::ones({4, 1000});
  const auto a = hashed_dropout_kernel(x, 0.3, 7) != 0;
  const auto b = hashed_dropout_kernel(x.to(torch::kBFloat16), 0.3, 7) != 0;
  const auto c = hashed_dropout_kernel(x.to(torch::kDouble), 0.3, 7) != 0;
  const auto other = hashed_dropout_kernel(x, 0.3, 8) != 0;
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_TRUE(torch::equal(a, c));
  // Another key: agreement only by chance, 0.7^2 + 0.3^2 = 0.58.
  EXPECT_NEAR((a == other).to(torch::kDouble).mean().item<double>(), 0.58, 0.03);
  // A non-contiguous input is masked in its row-major order.
  const auto t = torch::rand({1000, 4}).t();
  EXPECT_TRUE(torch::equal(hashed_dropout_kernel(t, 0.3, 7), hashed_dropout_kernel(t.contiguous(), 0.3, 7)));
}

TEST(HashedDropout, EdgeProbabilitiesAndBadOnes) {
  const auto x = torch::rand({100}) + 1.0;
  EXPECT_TRUE(torch::equal(hashed_dropout_kernel(x, 0.0, 3), x));
  EXPECT_EQ(hashed_dropout_kernel(x, 1.0, 3).abs().sum().item<double>(), 0.0);
  EXPECT_TRUE(torch::equal(pft::model::dropout(x, 0.5, /*training=*/false), x));
  EXPECT_THROW(pft::model::dropout(x, 1.5, true), pft::Error);
  EXPECT_THROW(pft::model::dropout(x, -0.1, true), pft::Error);
}

TEST(HashedDropout, TheBackwardPassUsesTheForwardMask) {
  const auto x = (torch::rand({64, 33}) + 1.0).requires_grad_();
  const auto y = pft::model::dropout(x, 0.25, true);
  const auto w = torch::randn({64, 33});
  (y * w).sum().backward();
  const auto mask = (y != 0).to(torch::kFloat) / 0.75;
  EXPECT_LE((x.grad() - w * mask).abs().max().item<double>(), 1e-6);
  EXPECT_GT((y == 0).sum().item<int64_t>(), 0);
}

TEST(HashedDropout, TheGeneratorSeedRepeatsTheMasks) {
  const auto x = torch::ones({5000});
  torch::manual_seed(42);
  const auto a1 = pft::model::dropout(x, 0.1, true);
  const auto a2 = pft::model::dropout(x, 0.1, true);
  torch::manual_seed(42);
  const auto b1 = pft::model::dropout(x, 0.1, true);
  const auto b2 = pft::model::dropout(x, 0.1, true);
  EXPECT_TRUE(torch::equal(a1, b1));
  EXPECT_TRUE(torch::equal(a2, b2));
  EXPECT_FALSE(torch::equal(a1, a2));  // each call draws a new key
}

TEST(HashedDropout, SoftmaxDropoutGradientEqualsTheComposedOps) {
  const auto s = torch::randn({2, 3, 5, 7}, torch::requires_grad());
  torch::manual_seed(9);
  const auto fused = pft::model::softmax_dropout(s, 0.2, true);
  const auto w = torch::randn(fused.sizes());
  (fused * w).sum().backward();
  const auto fused_grad = s.grad().clone();
  s.mutable_grad() = torch::Tensor();
  // The same computation from the mask the fused op used.
  const auto mask = (fused != 0).to(torch::kFloat) / 0.8;
  const auto composed = torch::softmax(s, -1) * mask;
  EXPECT_LE((fused - composed).abs().max().item<double>(), 1e-6);
  (composed * w).sum().backward();
  EXPECT_LE((fused_grad - s.grad()).abs().max().item<double>(), 1e-6);
}

TEST(HashedDropout, TrainingAttentionEqualsSdpaWhenNothingIsDropped) {
  // p = 1e-12 rounds to a zero threshold: nothing dropped, but the math path runs.
  const auto q = torch::randn({2, 4, 6, 8}), k = torch::randn({2, 4, 9, 8}), v = torch::randn({2, 4, 9, 8});
  auto keep = torch::ones({2, 1, 1, 9}, torch::kBool);
  keep[1][0][0][8] = false;
  const auto bias = torch::randn({1, 4, 6, 9});
  for (const auto& mask : {torch::Tensor(), keep, bias}) {
    const auto math = pft::model::attention(q, k, v, mask, 1e-12, 0.3);
    const auto sdpa = at::scaled_dot_product_attention(
        q, k, v, mask.defined() ? c10::optional<torch::Tensor>(mask) : c10::nullopt, 0.0, false, 0.3);
    EXPECT_LE((math - sdpa).abs().max().item<double>(), 1e-5);
    // bf16, as under autocast (the masked fill must fit the dtype).
    const auto half = pft::model::attention(q.to(torch::kBFloat16), k.to(torch::kBFloat16),
                                            v.to(torch::kBFloat16), mask.defined() && mask.is_floating_point() ? mask.to(torch::kBFloat16) : mask, 1e-12, 0.3);
    EXPECT_LE((half.to(torch::kFloat) - sdpa).abs().max().item<double>(), 0.05);
  }
}
