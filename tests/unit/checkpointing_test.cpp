// Gradient checkpointing: the same loss and the same gradients as without it (dropout on; a
// frozen base with LoRA and key/value prefixes, and a fully trainable base; BERT and T5), and
// the block recomputed exactly once in the backward pass.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "pft/model/bert/bert.h"
#include "pft/model/bert/config.h"
#include "pft/model/checkpointing.h"
#include "pft/model/t5/t5.h"
#include "pft/peft/lora/lora.h"

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

using Stacks = std::vector<pft::model::LayerPrefixes*>;

// Drops the gradients of the model's parameters and of the prefixes.
void clear_grads(torch::nn::Module& model, const Stacks& stacks) {
  for (auto& p : model.parameters()) p.mutable_grad() = torch::Tensor();
  for (auto* stack : stacks) {
    for (auto& l : stack->layers) {
      l.key.mutable_grad() = torch::Tensor();
      l.value.mutable_grad() = torch::Tensor();
    }
  }
}

// Backpropagates `loss` and collects it with every gradient of the model and the prefixes.
Outcome backward(const torch::Tensor& loss, torch::nn::Module& model, const Stacks& stacks) {
  loss.backward();
  Outcome o;
  o.loss = loss.item<double>();
  for (const auto& p : model.named_parameters()) {
    if (p.value().grad().defined()) o.grads[p.key()] = p.value().grad().clone();
  }
  for (std::size_t s = 0; s < stacks.size(); ++s) {
    for (std::size_t i = 0; i < stacks[s]->layers.size(); ++i) {
      const auto name = "prefix." + std::to_string(s) + "." + std::to_string(i);
      o.grads[name + ".key"] = stacks[s]->layers[i].key.grad().clone();
      o.grads[name + ".value"] = stacks[s]->layers[i].value.grad().clone();
    }
  }
  return o;
}

// One training-mode forward/backward of the same model, seed and inputs.
Outcome step(pft::model::BertModel& model, bool checkpointing,
             pft::model::LayerPrefixes* prefixes) {
  model->encoder->gradient_checkpointing = checkpointing;
  model->train();
  const Stacks stacks = prefixes != nullptr ? Stacks{prefixes} : Stacks{};
  clear_grads(*model, stacks);
  torch::manual_seed(11);
  const auto ids = torch::randint(1, 50, {3, 7}, torch::kLong);
  auto mask = torch::ones({3, 7}, torch::kLong);
  mask[1][6] = 0;
  const auto out = model->forward_ids(ids, mask, {}, prefixes);
  return backward(out.last_hidden_state.pow(2).mean(), *model, stacks);
}

pft::model::T5Config tiny_t5() {
  return pft::model::T5Config::from_json(json{{"model_type", "t5"},
                                              {"vocab_size", 40},
                                              {"d_model", 16},
                                              {"d_kv", 4},
                                              {"d_ff", 24},
                                              {"num_layers", 2},
                                              {"num_decoder_layers", 3},
                                              {"num_heads", 4},
                                              {"relative_attention_num_buckets", 8},
                                              {"relative_attention_max_distance", 16},
                                              {"feed_forward_proj", "gated-gelu"},
                                              {"dropout_rate", 0.2}},
                                         "tiny-t5/config.json");
}

// Key/value prefixes [rows, heads, 2, d_kv] for `layers` layers, trainable.
pft::model::LayerPrefixes t5_prefixes(std::int64_t rows, int layers) {
  pft::model::LayerPrefixes p;
  for (int i = 0; i < layers; ++i) {
    p.layers.push_back({torch::randn({rows, 4, 2, 4}, torch::requires_grad()),
                        torch::randn({rows, 4, 2, 4}, torch::requires_grad())});
  }
  return p;
}

// One training-mode teacher-forced pass of a T5 with padding on both sides; with `prefixes`,
// [encoder, decoder self-attention, cross-attention] prefixes.
Outcome t5_step(pft::model::T5& model, bool checkpointing,
                std::vector<pft::model::LayerPrefixes>* prefixes) {
  model->encoder->gradient_checkpointing = checkpointing;
  model->decoder->gradient_checkpointing = checkpointing;
  model->train();
  Stacks stacks;
  if (prefixes != nullptr) {
    for (auto& stack : *prefixes) stacks.push_back(&stack);
  }
  clear_grads(*model, stacks);
  torch::manual_seed(12);
  const auto ids = torch::randint(2, 40, {3, 6}, torch::kLong);
  auto mask = torch::ones({3, 6}, torch::kLong);
  mask[2][5] = 0;
  mask[2][4] = 0;
  const auto labels = torch::randint(2, 40, {3, 5}, torch::kLong);
  auto decoder_mask = torch::ones({3, 5}, torch::kLong);
  decoder_mask[0][4] = 0;
  const auto* p = prefixes != nullptr ? prefixes->data() : nullptr;
  const auto out =
      model->forward(model->embed(ids), mask, model->embed(model->shift_right(labels)),
                     decoder_mask, p ? &p[0] : nullptr, p ? &p[1] : nullptr, p ? &p[2] : nullptr);
  return backward(out.logits.pow(2).mean(), *model, stacks);
}

// LoRA (r 2, dropout 0.1) on `targets` with random A and B, everything else frozen.
std::unique_ptr<pft::peft::Lora> frozen_with_lora(torch::nn::Module& model,
                                                  std::vector<std::string> targets) {
  pft::peft::LoraOptions o;
  o.r = 2;
  o.dropout = 0.1;
  o.targets.names = std::move(targets);
  auto lora = std::make_unique<pft::peft::Lora>(model, o);
  {
    torch::NoGradGuard no_grad;
    for (const auto& [name, t] : lora->parameters()) t.normal_(0, 0.1);  // B is zero at init
  }
  for (auto& p : model.named_parameters())
    p.value().requires_grad_(p.key().find("lora_") != std::string::npos);
  return lora;
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
  const auto lora = frozen_with_lora(*model, {"query", "value"});
  pft::model::LayerPrefixes prefixes;
  for (int i = 0; i < 3; ++i) {
    prefixes.layers.push_back({torch::randn({3, 4, 2, 4}, torch::requires_grad()),
                               torch::randn({3, 4, 2, 4}, torch::requires_grad())});
  }
  const auto plain = step(model, false, &prefixes);
  const auto recomputed = step(model, true, &prefixes);
  expect_same(plain, recomputed);
  EXPECT_EQ(plain.grads.size(), lora->parameters().size() + 6);  // only LoRA and prefixes train
}

TEST(GradientCheckpointing, T5FullFineTuningGetsTheSameGradients) {
  torch::manual_seed(3);
  pft::model::T5 model(pft::model::T5Options(tiny_t5()).own_lm_head(true));
  const auto plain = t5_step(model, false, nullptr);
  const auto recomputed = t5_step(model, true, nullptr);
  expect_same(plain, recomputed);
  // Every tensor trains, the position biases of both stacks included.
  EXPECT_EQ(plain.grads.size(), model->parameters().size());
  EXPECT_TRUE(
      plain.grads.count("encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"));
  EXPECT_TRUE(
      plain.grads.count("decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"));
}

TEST(GradientCheckpointing, T5FrozenBaseWithLoraAndPrefixesGetsTheSameGradients) {
  torch::manual_seed(4);
  pft::model::T5 model(pft::model::T5Options(tiny_t5()).own_lm_head(true));
  const auto lora = frozen_with_lora(*model, {"q", "v"});
  std::vector<pft::model::LayerPrefixes> prefixes{t5_prefixes(3, 2), t5_prefixes(3, 3),
                                                  t5_prefixes(3, 3)};
  const auto plain = t5_step(model, false, &prefixes);
  const auto recomputed = t5_step(model, true, &prefixes);
  expect_same(plain, recomputed);
  // LoRA on q and v of 2 + 3 self-attentions and 3 cross-attentions, A and B each; 16 prefixes.
  EXPECT_EQ(lora->parameters().size(), 32U);
  EXPECT_EQ(plain.grads.size(), lora->parameters().size() + 16);
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
