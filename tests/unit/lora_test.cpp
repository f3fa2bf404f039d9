#include <gtest/gtest.h>

#include "pft/model/linear.h"
#include "pft/peft/lora/lora.h"
#include "pft/util/error.h"

using pft::model::Linear;

namespace {

// A two-layer stand-in with BERT-like names: layer.N.attention.self.{query,value}, output.dense.
struct SelfImpl : torch::nn::Module {
  SelfImpl() {
    query = register_module("query", Linear(8, 8));
    value = register_module("value", Linear(8, 8));
  }
  Linear query{nullptr}, value{nullptr};
};
TORCH_MODULE(Self);

struct BlockImpl : torch::nn::Module {
  BlockImpl() {
    self = register_module("self", Self());
    dense = register_module("dense", Linear(8, 8));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    return dense(torch::tanh(self->query(x) + self->value(x)));
  }
  Self self{nullptr};
  Linear dense{nullptr};
};
TORCH_MODULE(Block);

struct Toy : torch::nn::Module {
  Toy() {
    for (int i = 0; i < 2; ++i)
      blocks.push_back(register_module("layer" + std::to_string(i), Block()));
  }
  torch::Tensor forward(torch::Tensor x) {
    for (auto& b : blocks) x = b->forward(x);
    return x;
  }
  std::vector<Block> blocks;
};

pft::peft::LoraOptions options(std::vector<std::string> names) {
  pft::peft::LoraOptions o;
  o.r = 4;
  o.alpha = 8;
  o.targets.names = std::move(names);
  return o;
}

}  // namespace

TEST(Lora, TargetsMatchLikePeft) {
  pft::peft::TargetSpec s;
  s.names = {"query", "output.dense"};
  EXPECT_TRUE(pft::peft::matches(s, "bert.encoder.layer.0.attention.self.query"));
  EXPECT_TRUE(pft::peft::matches(s, "query"));
  EXPECT_TRUE(pft::peft::matches(s, "encoder.layer.0.attention.output.dense"));
  EXPECT_FALSE(pft::peft::matches(s, "encoder.layer.0.intermediate.dense"));
  EXPECT_FALSE(pft::peft::matches(s, "bert.subquery"));
  s.regex = R"(.*layer\.[01]\..*query)";
  EXPECT_TRUE(pft::peft::matches(s, "layer.1.self.query"));
  EXPECT_FALSE(pft::peft::matches(s, "layer.2.self.query"));
}

TEST(Lora, StartsAsTheBaseFunctionAndNamesItsParametersLikePeft) {
  torch::manual_seed(0);
  Toy model;
  const auto x = torch::randn({3, 8});
  const auto before = model.forward(x);
  pft::peft::Lora lora(model, options({"query", "value"}));
  EXPECT_EQ(lora.target_paths(),
            (std::vector<std::string>{"layer0.self.query", "layer0.self.value", "layer1.self.query",
                                      "layer1.self.value"}));
  EXPECT_TRUE(torch::equal(model.forward(x), before));  // B = 0
  const auto params = lora.parameters();
  ASSERT_EQ(params.size(), 8u);
  EXPECT_EQ(params[0].first, "layer0.self.query.lora_A.weight");
  EXPECT_EQ(params[0].second.sizes(), (std::vector<std::int64_t>{4, 8}));
  EXPECT_EQ(params[1].second.sizes(), (std::vector<std::int64_t>{8, 4}));
  EXPECT_TRUE(model.named_parameters().contains("layer1.self.value.lora_B.weight"));
}

TEST(Lora, UpdateMergeAndUnmerge) {
  torch::manual_seed(1);
  Toy model;
  pft::peft::Lora lora(model, options({"query", "dense"}));
  {
    torch::NoGradGuard g;
    for (auto& [name, p] : lora.parameters()) p.normal_(0, 0.2);
  }
  const auto x = torch::randn({5, 8});
  const auto unmerged = model.forward(x);
  const auto w_before = model.blocks[0]->self->query->weight.clone();
  EXPECT_GT(lora.merge(), 0.0);
  EXPECT_TRUE(lora.merged());
  EXPECT_LE((model.forward(x) - unmerged).abs().max().item<double>(), 1e-5);
  EXPECT_FALSE(torch::equal(model.blocks[0]->self->query->weight, w_before));
  lora.unmerge();
  EXPECT_LE((model.blocks[0]->self->query->weight - w_before).abs().max().item<double>(), 1e-6);
  EXPECT_LE((model.forward(x) - unmerged).abs().max().item<double>(), 1e-6);
}

TEST(Lora, ScalingAndRsLora) {
  Toy model;
  auto o = options({"query"});
  pft::peft::Lora plain(model, o);
  Toy model2;
  o.use_rslora = true;
  o.r = 4;
  o.alpha = 8;
  pft::peft::Lora rs(model2, o);
  (void)plain;
  (void)rs;
  const auto* l1 = model.blocks[0]->self->query.get();
  const auto* l2 = model2.blocks[0]->self->query.get();
  EXPECT_DOUBLE_EQ(static_cast<pft::peft::LoraExtension*>(l1->extensions()[0].get())->scaling, 2.0);
  EXPECT_DOUBLE_EQ(static_cast<pft::peft::LoraExtension*>(l2->extensions()[0].get())->scaling, 4.0);
}

TEST(Lora, BiasModes) {
  Toy model;
  auto o = options({"query"});
  o.bias = "lora_only";
  pft::peft::Lora only(model, o);
  const auto b = only.trainable_biases(model);
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].first, "layer0.self.query.bias");
  Toy model2;
  o.bias = "all";
  pft::peft::Lora all(model2, o);
  EXPECT_EQ(all.trainable_biases(model2).size(), 6u);
}

TEST(Lora, ConfigErrorsNameTheKey) {
  Toy model;
  try {
    pft::peft::Lora(model, options({"qery"}));
    FAIL();
  } catch (const pft::Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("peft.target_modules: [qery] matches no linear layer"), std::string::npos)
        << m;
    EXPECT_NE(m.find("query"), std::string::npos) << m;  // lists what exists
  }
  auto o = options({"query"});
  o.r = 0;
  EXPECT_THROW(pft::peft::Lora(model, o), pft::Error);
  o.r = 2;
  o.targets.names.clear();
  o.targets.regex = "(";
  EXPECT_THROW(pft::peft::Lora(model, o), pft::Error);
}

TEST(Lora, LayerFiltersAndExclusionsMatchLikePeft) {
  pft::peft::TargetSpec s;
  s.names = {"query", "dense"};
  s.layers = {1};
  // Without layers_pattern: the index after the first "<name>.<number>." of the path.
  EXPECT_TRUE(pft::peft::matches(s, "bert.encoder.layer.1.attention.self.query"));
  EXPECT_FALSE(pft::peft::matches(s, "bert.encoder.layer.0.attention.self.query"));
  EXPECT_FALSE(pft::peft::matches(s, "bert.pooler.dense"));  // no index: not taken
  s.layers_pattern = {"block"};
  EXPECT_FALSE(pft::peft::matches(s, "bert.encoder.layer.1.attention.self.query"));
  EXPECT_TRUE(pft::peft::matches(s, "encoder.block.1.layer.0.dense"));
  EXPECT_FALSE(pft::peft::matches(s, "encoder.block.0.layer.1.dense"));
  s.names.push_back("bert.pooler.dense");  // an exact path is always taken
  EXPECT_TRUE(pft::peft::matches(s, "bert.pooler.dense"));
  pft::peft::TargetSpec e;
  e.names = {"dense"};
  e.exclude_names = {"output.dense"};
  EXPECT_TRUE(pft::peft::matches(e, "layer.0.intermediate.dense"));
  EXPECT_FALSE(pft::peft::matches(e, "layer.0.output.dense"));
  e.exclude_under = {"bert.pooler"};
  EXPECT_FALSE(pft::peft::matches(e, "bert.pooler.dense"));
}

TEST(Lora, RankAndAlphaPatternsTakeTheFirstMatchingKey) {
  auto o = options({"query", "value"});
  o.rank_pattern = {{"layer1.self.query", 6}, {"query", 2}};
  o.alpha_pattern = {{"value", 3}};
  using pft::peft::lora_rank_and_alpha;
  EXPECT_EQ(lora_rank_and_alpha(o, "layer1.self.query"), (std::pair<std::int64_t, double>{6, 8}));
  EXPECT_EQ(lora_rank_and_alpha(o, "layer0.self.query"), (std::pair<std::int64_t, double>{2, 8}));
  EXPECT_EQ(lora_rank_and_alpha(o, "layer0.self.value"), (std::pair<std::int64_t, double>{4, 3}));
  // A key matches at a dot boundary only, as PEFT's "(.*\.)?(K)$".
  EXPECT_EQ(lora_rank_and_alpha(o, "layer0.self.subquery").first, 4);
  Toy toy;
  pft::peft::Lora lora(toy, o);
  const auto params = toy.named_parameters();
  EXPECT_EQ(params["layer1.self.query.lora_A.weight"].size(0), 6);
  EXPECT_EQ(params["layer0.self.query.lora_B.weight"].size(1), 2);
  EXPECT_EQ(params["layer0.self.value.lora_A.weight"].size(0), 4);
}

TEST(Lora, InitialisationsStartFromTheBaseFunction) {
  for (const char* init : {"gaussian", "pissa", "olora"}) {
    SCOPED_TRACE(init);
    torch::manual_seed(0);
    Toy toy;
    const auto x = torch::randn({3, 8});
    const auto before = toy.forward(x);
    const auto w = toy.blocks[0]->self->query->weight.clone();
    auto o = options({"query"});
    o.init = init;
    o.use_dora = std::string(init) == "olora";
    pft::peft::Lora lora(toy, o);
    EXPECT_LE((toy.forward(x) - before).abs().max().item<double>(), 1e-5);
    const auto& ext = *toy.blocks[0]->self->query;
    const auto a = toy.named_parameters()["layer0.self.query.lora_A.weight"];
    const auto b = toy.named_parameters()["layer0.self.query.lora_B.weight"];
    if (std::string(init) == "gaussian") {
      EXPECT_TRUE(torch::equal(ext.weight, w));  // the base weight is left alone
      EXPECT_EQ(b.abs().max().item<double>(), 0.0);
      EXPECT_NEAR(a.std().item<double>(), 1.0 / 4, 0.08);
    } else {
      // The residual plus the scaled product is the original weight.
      EXPECT_LE((ext.weight + 2.0 * b.matmul(a) - w).abs().max().item<double>(), 1e-5);
      EXPECT_GT(b.abs().max().item<double>(), 0.0);
    }
  }
}
