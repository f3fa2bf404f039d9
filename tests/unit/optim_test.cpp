#include <gtest/gtest.h>

#include "pft/train/optimizer.h"
#include "pft/train/schedule.h"

TEST(Optimizer, WeightDecayExemptions) {
  using pft::train::exempt_from_weight_decay;
  EXPECT_TRUE(exempt_from_weight_decay("encoder.layer.0.attention.self.query.bias"));
  EXPECT_TRUE(exempt_from_weight_decay("embeddings.LayerNorm.weight"));
  EXPECT_TRUE(exempt_from_weight_decay("encoder.block.0.layer.0.layer_norm.weight"));
  EXPECT_FALSE(exempt_from_weight_decay("encoder.layer.0.attention.self.query.lora_A.weight"));
  EXPECT_FALSE(exempt_from_weight_decay("classifier.weight"));
}

TEST(Optimizer, FrozenParametersGetNoState) {
  torch::nn::Linear a(3, 3), b(3, 3);
  torch::nn::Sequential model(a, b);
  for (auto& p : a->parameters()) p.requires_grad_(false);
  EXPECT_EQ(pft::train::trainable_parameter_names(*model),
            (std::vector<std::string>{"1.weight", "1.bias"}));
  auto optimizer = pft::train::make_adamw(*model, {});
  std::size_t n = 0;
  for (const auto& g : optimizer->param_groups()) n += g.params().size();
  EXPECT_EQ(n, 2u);
  pft::train::set_learning_rate(*optimizer, 0.5);
  for (const auto& g : optimizer->param_groups()) {
    EXPECT_DOUBLE_EQ(static_cast<const torch::optim::AdamWOptions&>(g.options()).lr(), 0.5);
  }
}

TEST(Schedule, WarmupFromStepsOrRatio) {
  EXPECT_EQ(pft::train::warmup_steps(10, 0.5, 100), 10);
  EXPECT_EQ(pft::train::warmup_steps(0, 0.1, 95), 10);  // ceil(9.5)
  EXPECT_EQ(pft::train::warmup_steps(0, 0.0, 95), 0);
}
