// Gradient checkpointing: the same loss and the same gradients as without it (dropout on; a
// frozen base with LoRA and key/value prefixes, and a fully trainable base), and the block
// recomputed exactly once in the backward pass.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "pft/model/bert.h"
#include "pft/model/bert_config.h"
#include "pft/model/checkpointing.h"
#include "pft/peft/lora.h"

using nlohmann::json;

namespace {

pft::model::BertConfig tiny() {
  return pft::model::BertConfig::from_json(json{{"model_type", "bert"},
                                                {"vocab_size", 50},
                                                {"hidden_size", 16},
                                                {"num_hidden_layers", 3},
                                                {"num_attention_heads", 4},
                                                {"intermediate_size", 24},
                                                {"max_position_embeddings", 24},
                                                {"hidden_dropout_prob", 0.2},
                                                {"attention_probs_dropout_prob", 0.2}},
                                           "tiny/config.json");
}

struct Outcome {
  double loss = 0;
  std::map<std::string, torch::Tensor> grads;
};

// One training-mode forward/backward of the same model, seed and inputs.
Outcome step(pft::model::BertModel& model, bool checkpointing,
             pft::model::LayerPrefixes* prefixes) {
  model->encoder->gradient_checkpointing = checkpointing;
  model->train();
  for (auto& p : model->parameters()) p.mutable_grad() = torch::Tensor();
  if (prefixes != nullptr) {
    for (auto& l : prefixes->layers) {
      l.key.mutable_grad() = torch::Tensor();
      l.value.mutable_grad() = torch::Tensor();
    }
  }
  torch::manual_seed(11);
  const auto ids = torch::randint(1, 50, {3, 7}, torch::kLong);
  auto mask = torch::ones({3, 7}, torch::kLong);
  mask[1][6] = 0;
  const auto out = model->forward_ids(ids, mask, {}, prefixes);
  const auto loss = out.last_hidden_state.pow(2).mean();
  loss.backward();
  Outcome o;
  o.loss = loss.item<double>();
  for (const auto& p : model->named_parameters()) {
    if (p.value().grad().defined()) o.grads[p.key()] = p.value().grad().clone();
  }
  if (prefixes != nullptr) {
    for (std::size_t i = 0; i < prefixes->layers.size(); ++i) {
      o.grads["prefix." + std::to_string(i) + ".key"] = prefixes->layers[i].key.grad().clone();
      o.grads["prefix." + std::to_string(i) + ".value"] = prefixes->layers[i].value.grad().clone();
    }
  }
  return o;
}

void expect_same(const Outcome& a, const Outcome& b) {
  EXPECT_EQ(a.loss, b.loss);
  ASSERT_EQ(a.grads.size(), b.grads.size());
  ASSERT_FALSE(a.grads.empty());
  for (const auto& [name, g] : a.grads) {
    ASSERT_TRUE(b.grads.count(name)) << name;
    EXPECT_LE((g - b.grads.at(name)).abs().max().item<double>(), 1e-6) << name;
    EXPECT_GT(g.abs().sum().item<double>(), 0.0) << name;
  }
}

}  // namespace

TEST(GradientCheckpointing, FullFineTuningGetsTheSameGradients) {
  torch::manual_seed(1);
  pft::model::BertModel model(tiny(), /*add_pooling_layer=*/false);
  const auto plain = step(model, false, nullptr);
  const auto recomputed = step(model, true, nullptr);
  expect_same(plain, recomputed);
}

TEST(GradientCheckpointing, FrozenBaseWithLoraAndPrefixesGetsTheSameGradients) {
  torch::manual_seed(2);
  pft::model::BertModel model(tiny(), /*add_pooling_layer=*/false);
  pft::peft::LoraOptions o;
  o.r = 2;
  o.dropout = 0.1;
  o.targets.names = {"query", "value"};
  pft::peft::Lora lora(*model, o);
  {
    torch::NoGradGuard no_grad;
    for (const auto& [name, t] : lora.parameters()) t.normal_(0, 0.1);  // B is zero at init
  }
  for (auto& p : model->named_parameters())
    p.value().requires_grad_(p.key().find("lora_") != std::string::npos);
  pft::model::LayerPrefixes prefixes;
  for (int i = 0; i < 3; ++i) {
    prefixes.layers.push_back({torch::randn({3, 4, 2, 4}, torch::requires_grad()),
                               torch::randn({3, 4, 2, 4}, torch::requires_grad())});
  }
  const auto plain = step(model, false, &prefixes);
  const auto recomputed = step(model, true, &prefixes);
  expect_same(plain, recomputed);
  EXPECT_EQ(plain.grads.size(), lora.parameters().size() + 6);  // only LoRA and prefixes train
}

TEST(GradientCheckpointing, ReturnsTheBlocksValueAndRecomputesItOnceInBackward) {
  const auto x = torch::randn({2, 3}, torch::requires_grad());
  const auto w = torch::randn({3, 3}, torch::requires_grad());
  int calls = 0;
  const auto fn = [&](const std::vector<torch::Tensor>& in) {
    ++calls;
    return torch::tanh(in[0].matmul(w));
  };
  const auto y = pft::model::checkpoint(fn, {x});
  EXPECT_TRUE(torch::allclose(y, torch::tanh(x.matmul(w))));
  EXPECT_EQ(calls, 1);
  y.sum().backward();
  EXPECT_EQ(calls, 2);  // recomputed once in the backward pass
  const auto xr = x.detach().requires_grad_(), wr = w.detach().requires_grad_();
  torch::tanh(xr.matmul(wr)).sum().backward();
  EXPECT_TRUE(torch::allclose(x.grad(), xr.grad()));
  EXPECT_TRUE(torch::allclose(w.grad(), wr.grad()));
}
