// BERT without the Python reference: config.json validation, Hugging Face names, the hook
// points, training-mode behaviour and input errors. Numerical parity with transformers is
// in tests/parity/bert_parity_test.cpp.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <optional>

#include "pft/model/bert/bert.h"
#include "pft/model/bert/config.h"
#include "pft/model/linear.h"
#include "pft/train/precision.h"
#include "pft/util/error.h"

using nlohmann::json;
using pft::model::BertConfig;

namespace {

BertConfig tiny_config() {
  return BertConfig::from_json(json{{"model_type", "bert"},
                                    {"vocab_size", 50},
                                    {"hidden_size", 16},
                                    {"num_hidden_layers", 2},
                                    {"num_attention_heads", 4},
                                    {"intermediate_size", 24},
                                    {"max_position_embeddings", 20},
                                    {"hidden_dropout_prob", 0.1},
                                    {"attention_probs_dropout_prob", 0.1}},
                               "tiny/config.json");
}

// The message of the pft::Error (Config) that from_json throws for `doc`.
std::string config_error(const json& doc) {
  try {
    BertConfig::from_json(doc, "m/config.json");
  } catch (const pft::Error& e) {
    EXPECT_EQ(e.kind(), pft::ErrorKind::Config);
    return e.what();
  }
  ADD_FAILURE() << "no error for " << doc.dump();
  return {};
}

}  // namespace

TEST(BertConfig, ReadsTransformersKeysAndDefaults) {
  const auto c = BertConfig::from_json(json{{"hidden_size", 64},
                                            {"num_attention_heads", 8},
                                            {"hidden_act", "gelu_new"},
                                            {"classifier_dropout", nullptr},
                                            {"hidden_dropout_prob", 0},
                                            {"pad_token_id", nullptr},
                                            {"id2label", {{"1", "pos"}, {"0", "neg"}}},
                                            {"label2id", {{"neg", 0}, {"pos", 1}}},
                                            {"architectures", {"BertForSequenceClassification"}},
                                            {"transformers_version", "4.8.2"}},
                                       "x/config.json");
  EXPECT_EQ(c.hidden_size, 64);
  EXPECT_EQ(c.head_dim(), 8);
  EXPECT_EQ(c.activation(), pft::model::Activation::GeluNew);
  EXPECT_EQ(c.vocab_size, 30522);
  EXPECT_EQ(c.num_hidden_layers, 12);
  EXPECT_FALSE(c.pad_token_id.has_value());
  EXPECT_EQ(c.classifier_dropout_prob(), 0.0);
  EXPECT_EQ(c.id2label, (std::vector<std::string>{"neg", "pos"}));
  EXPECT_EQ(c.num_labels(), 2);

  const auto three =
      BertConfig::from_json(json{{"num_labels", 3}, {"classifier_dropout", 0.3}}, "y/config.json");
  EXPECT_EQ(three.id2label, (std::vector<std::string>{"LABEL_0", "LABEL_1", "LABEL_2"}));
  EXPECT_EQ(three.classifier_dropout_prob(), 0.3);
}

TEST(BertConfig, ErrorsNameTheFileTheKeyAndTheValue) {
  auto msg = config_error({{"hidden_size", "768"}});
  EXPECT_NE(msg.find("m/config.json: hidden_size: expected an integer, got string"),
            std::string::npos)
      << msg;
  msg = config_error({{"hidden_size", 100}, {"num_attention_heads", 12}});
  EXPECT_NE(msg.find("hidden_size: 100 is not a multiple of num_attention_heads (12)"),
            std::string::npos)
      << msg;
  msg = config_error({{"hidden_act", "mish"}});
  EXPECT_NE(msg.find("hidden_act: expected one of gelu"), std::string::npos) << msg;
  EXPECT_NE(msg.find("\"mish\""), std::string::npos) << msg;
  msg = config_error({{"position_embedding_type", "relative_key"}});
  EXPECT_NE(msg.find("position_embedding_type: only \"absolute\""), std::string::npos) << msg;
  msg = config_error({{"model_type", "roberta"}});
  EXPECT_NE(msg.find("model_type: expected \"bert\", got \"roberta\""), std::string::npos) << msg;
  msg = config_error({{"is_decoder", true}});
  EXPECT_NE(msg.find("is_decoder"), std::string::npos) << msg;
  msg = config_error({{"hidden_dropout_prob", 1.5}});
  EXPECT_NE(msg.find("hidden_dropout_prob: must be in [0, 1), got 1.5"), std::string::npos) << msg;
  msg = config_error({{"pad_token_id", 40}, {"vocab_size", 40}});
  EXPECT_NE(msg.find("pad_token_id: must be in [0, vocab_size)"), std::string::npos) << msg;
  msg = config_error({{"type_vocab_size", 0}});
  EXPECT_NE(msg.find("type_vocab_size: must be >= 1, got 0"), std::string::npos) << msg;
  msg = config_error({{"id2label", {{"0", "a"}, {"2", "b"}}}});
  EXPECT_NE(msg.find("id2label"), std::string::npos) << msg;
  msg = config_error({{"id2label", {{"0", "a"}, {"1", "b"}}}, {"num_labels", 3}});
  EXPECT_NE(msg.find("num_labels: is 3 but id2label has 2 entries"), std::string::npos) << msg;
  msg = config_error({{"id2label", {{"0", "a"}, {"1", "b"}}}, {"label2id", {{"a", 1}}}});
  EXPECT_NE(msg.find("label2id.a: disagrees with id2label"), std::string::npos) << msg;
  msg = config_error({{"layer_norm_eps", -1}});
  EXPECT_NE(msg.find("layer_norm_eps: must be > 0"), std::string::npos) << msg;
}

TEST(BertModules, ParametersCarryHuggingFaceNames) {
  auto config = tiny_config();
  config.num_hidden_layers = 1;
  pft::model::BertForSequenceClassification model(config);
  std::vector<std::string> names;
  for (const auto& p : model->named_parameters()) names.push_back(p.key());
  std::sort(names.begin(), names.end());
  // BertForSequenceClassification's state dict in transformers, minus non-persistent buffers.
  const std::vector<std::string> expected{
      "bert.embeddings.LayerNorm.bias",
      "bert.embeddings.LayerNorm.weight",
      "bert.embeddings.position_embeddings.weight",
      "bert.embeddings.token_type_embeddings.weight",
      "bert.embeddings.word_embeddings.weight",
      "bert.encoder.layer.0.attention.output.LayerNorm.bias",
      "bert.encoder.layer.0.attention.output.LayerNorm.weight",
      "bert.encoder.layer.0.attention.output.dense.bias",
      "bert.encoder.layer.0.attention.output.dense.weight",
      "bert.encoder.layer.0.attention.self.key.bias",
      "bert.encoder.layer.0.attention.self.key.weight",
      "bert.encoder.layer.0.attention.self.query.bias",
      "bert.encoder.layer.0.attention.self.query.weight",
      "bert.encoder.layer.0.attention.self.value.bias",
      "bert.encoder.layer.0.attention.self.value.weight",
      "bert.encoder.layer.0.intermediate.dense.bias",
      "bert.encoder.layer.0.intermediate.dense.weight",
      "bert.encoder.layer.0.output.LayerNorm.bias",
      "bert.encoder.layer.0.output.LayerNorm.weight",
      "bert.encoder.layer.0.output.dense.bias",
      "bert.encoder.layer.0.output.dense.weight",
      "bert.pooler.dense.bias",
      "bert.pooler.dense.weight",
      "classifier.bias",
      "classifier.weight",
  };
  EXPECT_EQ(names, expected);

  // The masked-LM decoder is tied: the embedding matrix is registered once.
  pft::model::BertForMaskedLM mlm(config);
  std::vector<std::string> mlm_names;
  for (const auto& p : mlm->named_parameters()) mlm_names.push_back(p.key());
  EXPECT_EQ(std::count_if(mlm_names.begin(), mlm_names.end(),
                          [](const std::string& n) { return n.rfind("cls.", 0) == 0; }),
            5);  // transform.dense.{weight,bias}, transform.LayerNorm.{weight,bias}, bias
  EXPECT_EQ(std::count(mlm_names.begin(), mlm_names.end(), "cls.predictions.bias"), 1);
  EXPECT_EQ(std::count(mlm_names.begin(), mlm_names.end(), "bert.pooler.dense.weight"), 0);
}

TEST(BertModules, InitialisesAsTransformers) {
  torch::manual_seed(0);
  auto config = tiny_config();
  config.vocab_size = 2000;
  config.pad_token_id = 3;
  pft::model::BertForMaskedLM model(config);
  pft::model::init_bert_weights(*model, config);
  const auto& words = model->bert->embeddings->word_embeddings->weight;
  EXPECT_NEAR(words.std().item<double>(), 0.02, 0.002);
  EXPECT_EQ(words[3].abs().max().item<float>(), 0.0f);
  EXPECT_TRUE(torch::equal(model->bert->embeddings->LayerNorm->weight, torch::ones({16})));
  EXPECT_EQ(model->cls->predictions->bias.abs().max().item<float>(), 0.0f);
  EXPECT_EQ(model->bert->encoder->layer_at(1)->output->dense->bias.abs().max().item<float>(), 0.0f);
}

TEST(BertModules, EmbedThenForwardEqualsForwardFromIds) {
  torch::manual_seed(1);
  pft::model::BertModel model(tiny_config());
  model->eval();
  const auto ids = torch::randint(1, 50, {2, 7}, torch::kLong);
  auto mask = torch::ones({2, 7}, torch::kLong);
  mask[1].slice(0, 4).fill_(0);
  const auto a = model->forward_ids(ids, mask);
  const auto b = model->forward(model->embed(ids), mask);
  EXPECT_TRUE(torch::equal(a.last_hidden_state, b.last_hidden_state));
  EXPECT_EQ(a.pooler_output.sizes(), (std::vector<std::int64_t>{2, 16}));

  // Prompt tuning: virtual-token embeddings prepended to embed()'s output, mask extended.
  const auto virtual_tokens = torch::randn({2, 3, 16});
  const auto prompted = model->forward(torch::cat({virtual_tokens, model->embed(ids)}, 1),
                                       torch::cat({torch::ones({2, 3}, torch::kLong), mask}, 1));
  EXPECT_EQ(prompted.last_hidden_state.sizes(), (std::vector<std::int64_t>{2, 10, 16}));

  // Padding does not leak into real positions: row 1 alone, unpadded, gives the same.
  const auto alone = model->forward_ids(ids.slice(0, 1, 2).slice(1, 0, 4), {});
  EXPECT_LT((alone.last_hidden_state[0] - a.last_hidden_state[1].slice(0, 0, 4))
                .abs()
                .max()
                .item<double>(),
            1e-5);
}

TEST(BertModules, DropoutOnlyInTraining) {
  torch::manual_seed(2);
  pft::model::BertForSequenceClassification model(tiny_config());
  const auto ids = torch::randint(1, 50, {2, 6}, torch::kLong);
  model->train();
  const auto a = model->forward_ids(ids, {});
  const auto b = model->forward_ids(ids, {});
  EXPECT_FALSE(torch::allclose(a, b));
  model->eval();
  EXPECT_TRUE(torch::equal(model->forward_ids(ids, {}), model->forward_ids(ids, {})));
}

TEST(BertModules, PrefixesReceiveGradientsAndAreAttended) {
  torch::manual_seed(3);
  pft::model::BertModel model(tiny_config());
  model->eval();
  for (auto& p : model->parameters()) p.requires_grad_(false);
  const auto ids = torch::randint(1, 50, {2, 5}, torch::kLong);
  auto mask = torch::ones({2, 5}, torch::kLong);
  mask[0][4] = 0;
  pft::model::LayerPrefixes prefixes;
  for (int i = 0; i < 2; ++i) {
    prefixes.layers.push_back({torch::randn({2, 4, 3, 4}, torch::requires_grad()),
                               torch::randn({2, 4, 3, 4}, torch::requires_grad())});
  }
  const auto out = model->forward_ids(ids, mask, {}, &prefixes);
  EXPECT_EQ(out.last_hidden_state.sizes(), (std::vector<std::int64_t>{2, 5, 16}));
  out.last_hidden_state.sum().backward();
  for (const auto& layer : prefixes.layers) {
    ASSERT_TRUE(layer.key.grad().defined());
    EXPECT_GT(layer.value.grad().abs().sum().item<double>(), 0.0);
  }

  // An undefined prefix means "none for this layer".
  pft::model::LayerPrefixes partial;
  partial.layers.resize(2);
  EXPECT_TRUE(torch::equal(model->forward_ids(ids, mask, {}, &partial).last_hidden_state,
                           model->forward_ids(ids, mask).last_hidden_state));
}

TEST(BertModules, Bf16AutocastGradientsFollowFloat32) {
  // Under autocast each layer casts the input of query, key and value (and of the feed-forward
  // product) once for all of them, so their input gradients are summed in bf16 before going
  // back to float32. The gradient reaching the embeddings, which flows through those products
  // as well as past them, must still follow float32's.
  torch::manual_seed(4);
  pft::model::BertModel model(tiny_config());
  model->eval();
  for (auto& p : model->parameters()) p.requires_grad_(false);
  const auto ids = torch::randint(1, 50, {2, 6}, torch::kLong);
  const auto embeds = model->embed(ids).detach();
  const auto target = torch::randn({2, 6, 16});
  const auto gradient = [&](bool bf16) {
    const auto x = embeds.clone().requires_grad_(true);
    std::optional<pft::train::AutocastGuard> guard;
    if (bf16) guard.emplace(pft::train::Precision::BF16, torch::kCPU);
    const auto out = model->forward(x, {}).last_hidden_state;
    (out.to(torch::kFloat) * target).sum().backward();
    return x.grad();
  };
  const auto fp32 = gradient(false);
  const auto bf16 = gradient(true);
  ASSERT_TRUE(bf16.defined());
  EXPECT_EQ(bf16.scalar_type(), torch::kFloat);
  EXPECT_LT(((bf16 - fp32).norm() / fp32.norm()).item<double>(), 0.03);
}

TEST(BertModules, BadInputsAreErrorsThatSaySo) {
  pft::model::BertModel model(tiny_config());
  const auto expect_error = [](const std::function<void()>& f, pft::ErrorKind kind,
                               const std::string& needle) {
    try {
      f();
      ADD_FAILURE() << "no error, expected one mentioning " << needle;
    } catch (const pft::Error& e) {
      EXPECT_EQ(e.kind(), kind);
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  const auto ids = torch::randint(1, 50, {1, 5}, torch::kLong);
  expect_error(
      [&] {
        model->forward_ids(torch::full({1, 3}, 50, torch::kLong), {});
      },
      pft::ErrorKind::Input, "input ids must be in [0, 50) (vocab_size of tiny/config.json)");
  expect_error(
      [&] {
        model->forward_ids(torch::ones({1, 21}, torch::kLong), {});
      },
      pft::ErrorKind::Input, "exceeds max_position_embeddings = 20");
  expect_error(
      [&] {
        model->forward_ids(ids, {}, torch::full({1, 5}, 2, torch::kLong));
      },
      pft::ErrorKind::Input, "token_type_ids must be in [0, 2)");
  expect_error(
      [&] {
        model->forward_ids(ids, torch::ones({1, 4}, torch::kLong));
      },
      pft::ErrorKind::Runtime, "attention_mask: expected [1, 5], got [1, 4]");
  pft::model::LayerPrefixes one_layer;
  one_layer.layers.push_back({torch::zeros({1, 4, 2, 4}), torch::zeros({1, 4, 2, 4})});
  expect_error([&] { model->forward_ids(ids, {}, {}, &one_layer); }, pft::ErrorKind::Runtime,
               "prefixes for 1 layers, the model has 2");
  pft::model::LayerPrefixes wrong_heads;
  wrong_heads.layers.assign(2, {torch::zeros({1, 2, 2, 8}), torch::zeros({1, 2, 2, 8})});
  expect_error([&] { model->forward_ids(ids, {}, {}, &wrong_heads); }, pft::ErrorKind::Runtime,
               "prefix key: expected [1, 4, prefix_len, 4], got [1, 2, 2, 8]");
}

TEST(BertModules, CloneCopiesWeights) {
  torch::manual_seed(4);
  pft::model::BertForTokenClassification model(tiny_config());
  model->eval();
  auto copy = std::dynamic_pointer_cast<pft::model::BertForTokenClassificationImpl>(model->clone());
  ASSERT_TRUE(copy);
  copy->eval();
  const auto ids = torch::randint(1, 50, {2, 6}, torch::kLong);
  EXPECT_TRUE(torch::equal(model->forward_ids(ids, {}), copy->forward_ids(ids, {})));
  EXPECT_EQ(copy->bert->encoder->layer->size(), 2u);
}

namespace {

// What a PEFT method attaches to a projection: here a constant added to its output.
class AddDelta : public pft::model::LinearExtension {
 public:
  explicit AddDelta(double delta) : delta_(delta) {}
  std::string name() const override { return "delta"; }
  torch::Tensor post(const torch::Tensor&, const torch::Tensor& output) override {
    return output + delta_;
  }

 private:
  double delta_;
};

}  // namespace

TEST(BertModules, ProjectionsTakeExtensions) {
  torch::manual_seed(5);
  pft::model::BertForSequenceClassification model(tiny_config());
  model->eval();
  const auto ids = torch::randint(1, 50, {2, 6}, torch::kLong);
  const auto before = model->forward_ids(ids, {});
  std::size_t projections = 0;
  for (const auto& m : model->named_modules()) {
    if (m.value()->as<pft::model::Linear>() != nullptr) ++projections;
  }
  EXPECT_EQ(projections, 2u * 6u + 2u);  // 6 per layer, pooler, classifier

  auto value = model->bert->encoder->layer_at(0)->attention->self->value;
  value->add_extension(std::make_shared<AddDelta>(0.0));
  EXPECT_TRUE(torch::equal(model->forward_ids(ids, {}), before));  // delta 0: same numbers
  value->add_extension(std::make_shared<AddDelta>(0.5));
  EXPECT_FALSE(torch::allclose(model->forward_ids(ids, {}), before));
  EXPECT_EQ(value->remove_extensions("delta"), 2u);
  EXPECT_TRUE(torch::equal(model->forward_ids(ids, {}), before));
}

TEST(BertModules, CudaMatchesCpu_CUDA) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  torch::manual_seed(6);
  pft::model::BertForMaskedLM model(tiny_config());
  model->eval();
  const auto ids = torch::randint(1, 50, {3, 8}, torch::kLong);
  auto mask = torch::ones({3, 8}, torch::kLong);
  mask[2].slice(0, 3).fill_(0);
  pft::model::LayerPrefixes prefixes;
  for (int i = 0; i < 2; ++i) {
    prefixes.layers.push_back({torch::randn({3, 4, 2, 4}), torch::randn({3, 4, 2, 4})});
  }
  torch::NoGradGuard no_grad;
  const auto cpu = model->forward_ids(ids, mask, {}, &prefixes);
  model->to(torch::kCUDA);
  for (auto& layer : prefixes.layers) {
    layer.key = layer.key.cuda();
    layer.value = layer.value.cuda();
  }
  const auto gpu = model->forward_ids(ids.cuda(), mask.cuda(), {}, &prefixes);
  EXPECT_TRUE(gpu.is_cuda());
  // TF32 may be on for CUDA matmuls; 1e-3 covers it on these magnitudes.
  EXPECT_LT((gpu.cpu() - cpu).abs().max().item<double>(), 1e-3);
}
