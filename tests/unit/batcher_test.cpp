#include <gtest/gtest.h>

#include <numeric>
#include <random>
#include <set>

#include "pft/data/batcher.h"

using pft::data::BatchPlanOptions;
using pft::data::plan_batches;

namespace {
std::vector<std::int64_t> random_lengths(std::size_t n) {
  std::mt19937 rng(5);
  std::vector<std::int64_t> lengths(n);
  for (auto& l : lengths) l = 3 + static_cast<std::int64_t>(rng() % 60);
  return lengths;
}
}  // namespace

TEST(Batcher, EveryExampleOnceAndDeterministic) {
  const auto lengths = random_lengths(1003);
  BatchPlanOptions o;
  o.batch_size = 16;
  const auto a = plan_batches(lengths, o, 0), b = plan_batches(lengths, o, 0);
  EXPECT_EQ(a, b);
  std::multiset<std::size_t> seen;
  for (const auto& batch : a) {
    EXPECT_LE(batch.size(), 16u);
    seen.insert(batch.begin(), batch.end());
  }
  EXPECT_EQ(seen.size(), 1003u);
  EXPECT_EQ(std::set<std::size_t>(seen.begin(), seen.end()).size(), 1003u);
  EXPECT_NE(plan_batches(lengths, o, 1), a);  // another epoch, another order
  o.seed = 7;
  EXPECT_NE(plan_batches(lengths, o, 0), a);
}

TEST(Batcher, BucketingReducesPadding) {
  const auto lengths = random_lengths(4000);
  const auto padding = [&](const std::vector<std::vector<std::size_t>>& plan) {
    std::int64_t pad = 0;
    for (const auto& batch : plan) {
      std::int64_t longest = 0;
      for (auto i : batch) longest = std::max(longest, lengths[i]);
      for (auto i : batch) pad += longest - lengths[i];
    }
    return pad;
  };
  BatchPlanOptions bucketed, plain;
  plain.pool_batches = 0;
  EXPECT_LT(padding(plan_batches(lengths, bucketed, 0)) * 5, padding(plan_batches(lengths, plain, 0)));
}

TEST(Batcher, EvaluationOrderAndDropLast) {
  BatchPlanOptions o;
  o.batch_size = 4;
  o.shuffle = false;
  const auto plan = plan_batches(std::vector<std::int64_t>(10, 5), o, 0);
  ASSERT_EQ(plan.size(), 3u);
  EXPECT_EQ(plan[0], (std::vector<std::size_t>{0, 1, 2, 3}));
  EXPECT_EQ(plan[2], (std::vector<std::size_t>{8, 9}));
  o.drop_last = true;
  EXPECT_EQ(plan_batches(std::vector<std::int64_t>(10, 5), o, 0).size(), 2u);
}

TEST(Batcher, PadRows) {
  const std::vector<std::int64_t> a{1, 2, 3}, b{4};
  const auto p = pft::data::pad_rows({&a, &b}, 0);
  EXPECT_EQ(p.width, 3);
  EXPECT_EQ(p.values, (std::vector<std::int64_t>{1, 2, 3, 4, 0, 0}));
  EXPECT_EQ(p.mask, (std::vector<std::int64_t>{1, 1, 1, 1, 0, 0}));
  EXPECT_EQ(pft::data::pad_rows({&a, &b}, 0, 8).width, 8);
}
