#include <gtest/gtest.h>

#include "pft/model/linear.h"
#include "pft/train/precision.h"

using pft::model::Linear;
using pft::model::LinearExtension;

namespace {

// A low-rank update registered under PEFT's names, as LoRA attaches one.
class AddLowRank : public LinearExtension {
 public:
  AddLowRank(torch::Tensor a, torch::Tensor b) : a_(std::move(a)), b_(std::move(b)) {}
  std::string name() const override { return "lowrank"; }
  torch::Tensor post(const torch::Tensor& input, const torch::Tensor& output) override {
    return output + input.matmul(a_.t()).matmul(b_.t());
  }

 private:
  torch::Tensor a_, b_;
};

class ScaleInput : public LinearExtension {
 public:
  explicit ScaleInput(torch::Tensor s) : s_(std::move(s)) {}
  std::string name() const override { return "scale"; }
  torch::Tensor pre(const torch::Tensor& input) override { return input * s_; }

 private:
  torch::Tensor s_;
};

// Records the dtype of the input post() receives.
class SeeInput : public LinearExtension {
 public:
  std::string name() const override { return "see"; }
  torch::Tensor post(const torch::Tensor& input, const torch::Tensor& output) override {
    seen = input.scalar_type();
    return output;
  }
  torch::ScalarType seen = torch::kDouble;
};

}  // namespace

TEST(Linear, SameParametersAndOutputAsTorchLinear) {
  torch::manual_seed(0);
  Linear mine(6, 4);
  torch::nn::Linear ref(6, 4);
  {
    torch::NoGradGuard g;
    ref->weight.copy_(mine->weight);
    ref->bias.copy_(mine->bias);
  }
  std::vector<std::string> names;
  for (const auto& p : mine->named_parameters()) names.push_back(p.key());
  EXPECT_EQ(names, (std::vector<std::string>{"weight", "bias"}));
  const auto x = torch::randn({3, 5, 6});
  EXPECT_TRUE(torch::equal(mine(x), ref(x)));
  Linear no_bias(torch::nn::LinearOptions(6, 4).bias(false));
  EXPECT_FALSE(no_bias->bias.defined());
  EXPECT_EQ(no_bias->named_parameters().size(), 1u);
}

TEST(Linear, ExtensionsTransformInputAndOutputInOrder) {
  torch::manual_seed(1);
  Linear layer(6, 4);
  const auto x = torch::randn({2, 6});
  const auto base = layer(x);
  torch::nn::Linear lora_a(torch::nn::LinearOptions(6, 2).bias(false));
  const auto a = lora_a->weight.detach(), b = torch::randn({4, 2});
  layer->add_extension(std::make_shared<AddLowRank>(a, b));
  layer->register_module("lora_A", lora_a);  // a method's parameters live under the layer
  std::vector<std::string> names;
  for (const auto& p : layer->named_parameters()) names.push_back(p.key());
  EXPECT_EQ(names, (std::vector<std::string>{"weight", "bias", "lora_A.weight"}));
  EXPECT_TRUE(torch::allclose(layer(x), base + x.matmul(a.t()).matmul(b.t()), 1e-6, 1e-6));
  const auto s = torch::rand({6});
  layer->add_extension(std::make_shared<ScaleInput>(s));
  const auto expected = torch::nn::functional::linear(x * s, layer->weight, layer->bias) +
                        x.matmul(a.t()).matmul(b.t());
  EXPECT_TRUE(torch::allclose(layer(x), expected, 1e-6, 1e-6));
  EXPECT_EQ(layer->remove_extensions("lowrank"), 1u);
  EXPECT_EQ(layer->remove_extensions("scale"), 1u);
  EXPECT_TRUE(torch::equal(layer(x), base));
}

TEST(Linear, FrozenWeightsAreCastOnceUnderAutocastAndFollowChanges) {
  torch::manual_seed(2);
  Linear layer(16, 8);
  for (auto& p : layer->parameters()) p.requires_grad_(false);
  const auto x = torch::randn({4, 16});
  const auto bf16 = [](const torch::Tensor& t) { return t.to(torch::kBFloat16); };
  {
    pft::train::AutocastGuard guard(pft::train::Precision::BF16, torch::kCPU);
    // What autocast makes of at::linear with the float32 weight, bit for bit.
    const auto y = layer(x);
    EXPECT_EQ(y.scalar_type(), torch::kBFloat16);
    EXPECT_TRUE(torch::equal(y, at::linear(bf16(x), bf16(layer->weight), bf16(layer->bias))));
    EXPECT_TRUE(torch::equal(layer(x), y));  // the kept copy gives the same
    // An in-place change (a loaded checkpoint, a merged adapter) is seen on the next call.
    {
      torch::NoGradGuard no_grad;
      layer->weight.mul_(2);
      layer->bias.add_(1);
    }
    EXPECT_TRUE(
        torch::equal(layer(x), at::linear(bf16(x), bf16(layer->weight), bf16(layer->bias))));
    // So is a new tensor put in the parameter's place.
    layer->weight = torch::randn({8, 16});
    EXPECT_TRUE(
        torch::equal(layer(x), at::linear(bf16(x), bf16(layer->weight), bf16(layer->bias))));
    // A weight that trains goes to autocast as it is, and receives its gradient.
    layer->weight.requires_grad_(true);
    layer(x).to(torch::kFloat).sum().backward();
    ASSERT_TRUE(layer->weight.grad().defined());
    EXPECT_EQ(layer->weight.grad().scalar_type(), torch::kFloat);
  }
  // Without autocast: float32 as before.
  EXPECT_TRUE(torch::equal(layer(x), at::linear(x, layer->weight, layer->bias)));
}

TEST(Linear, UnderAutocastTheProductAndItsExtensionsShareOneCastOfTheInput) {
  torch::manual_seed(3);
  Linear layer(6, 4);
  auto see = std::make_shared<SeeInput>();
  layer->add_extension(see);
  const auto x = torch::randn({2, 6});
  {
    pft::train::AutocastGuard guard(pft::train::Precision::BF16, torch::kCPU);
    layer(x);
    EXPECT_EQ(see->seen, torch::kBFloat16);
    // After an input transform, post() still gets the layer's original input.
    layer->add_extension(std::make_shared<ScaleInput>(torch::rand({6})));
    layer(x);
    EXPECT_EQ(see->seen, torch::kFloat);
    layer->remove_extensions("scale");
  }
  layer(x);
  EXPECT_EQ(see->seen, torch::kFloat);
}

TEST(Linear, AnInferenceComputeTypeLeavesTrainingBitsAlone) {
  torch::manual_seed(21);
  Linear plain(64, 40), reduced(64, 40);
  {
    torch::NoGradGuard no_grad;
    reduced->weight.copy_(plain->weight);
    reduced->bias.copy_(plain->bias);
  }
  reduced->set_inference_compute_type(pft::model::ComputeType::Int8);
  reduced->add_extension(
      std::make_shared<AddLowRank>(torch::randn({4, 64}), torch::randn({40, 4})));
  plain->add_extension(reduced->extensions().front());
  // Training: the same output and gradients, bit for bit, on few rows as on many.
  for (std::int64_t rows : {2, 100}) {
    const auto x = torch::randn({rows, 64});
    const auto a = plain(x), b = reduced(x);
    EXPECT_TRUE(torch::equal(a, b)) << rows;
    a.sum().backward();
    b.sum().backward();
    EXPECT_TRUE(torch::equal(plain->weight.grad(), reduced->weight.grad())) << rows;
    plain->zero_grad();
    reduced->zero_grad();
  }
  EXPECT_FALSE(reduced->reduced_weight().data().defined());
  // Decoding: the int8 copy for the product, the extension on top in float32.
  c10::InferenceMode inference;
  const auto x = torch::randn({3, 64});
  const auto y = reduced(x);
  EXPECT_EQ(reduced->reduced_weight().data().scalar_type(), torch::kInt8);
  pft::model::ReducedWeight expected;
  expected.set_type(pft::model::ComputeType::Int8);
  const auto want =
      reduced->extensions().front()->post(x, expected.project(x, plain->weight, plain->bias));
  EXPECT_TRUE(torch::equal(y, want));
  EXPECT_FALSE(torch::equal(y, plain(x)));
}

TEST(Linear, AModuleSwitchesEveryLinearInside) {
  torch::nn::Sequential stack(Linear(8, 8), torch::nn::ReLU(), Linear(8, 4));
  EXPECT_EQ(pft::model::set_inference_compute_type(*stack, pft::model::ComputeType::BFloat16), 2u);
  for (const auto& m : stack->modules(false)) {
    if (auto* l = dynamic_cast<pft::model::LinearImpl*>(m.get())) {
      EXPECT_EQ(l->inference_compute_type(), pft::model::ComputeType::BFloat16);
    }
  }
  Linear single(8, 8);
  EXPECT_EQ(pft::model::set_inference_compute_type(*single, pft::model::ComputeType::Int8), 1u);
  EXPECT_EQ(single->inference_compute_type(), pft::model::ComputeType::Int8);
}
