// T5 pieces that need no reference run: config.json parsing and its errors, module names,
// prefix checks, cache reordering, loading errors, and generation invariants on random
// models (batching, EOS, min/max lengths, seeds).

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <set>
#include <string>

#include "pft/generate/generate.h"
#include "pft/io/safetensors.h"
#include "pft/model/t5/t5.h"
#include "pft/train/precision.h"
#include "pft/util/error.h"
#include "support/test_util.h"

namespace {

using nlohmann::json;
using pft::model::T5;
using pft::model::T5Config;
using pft::model::T5Options;

// Runs `f`, expects a pft::Error of `kind` whose message contains `needle`.
template <class F>
void expect_error(F&& f, pft::ErrorKind kind, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one containing: " << needle;
  } catch (const pft::Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

T5Config tiny_config(bool gated = true) {
  return T5Config::from_json(json{{"model_type", "t5"},
                                  {"vocab_size", 40},
                                  {"d_model", 16},
                                  {"d_kv", 4},
                                  {"d_ff", 24},
                                  {"num_layers", 2},
                                  {"num_decoder_layers", 2},
                                  {"num_heads", 4},
                                  {"relative_attention_num_buckets", 8},
                                  {"relative_attention_max_distance", 16},
                                  {"feed_forward_proj", gated ? "gated-gelu" : "relu"},
                                  {"tie_word_embeddings", !gated},
                                  {"dropout_rate", 0.0}},
                             "config.json");
}

// A random model with a stronger EOS row, so that sequences end at different lengths.
T5 random_model(std::uint64_t seed) {
  torch::manual_seed(seed);
  T5 model(T5Options(tiny_config()).own_lm_head(true));
  torch::NoGradGuard no_grad;
  for (auto& p : model->parameters()) p.normal_(0.0, 0.5);
  model->lm_head->weight[1].mul_(3.0);
  model->eval();
  return model;
}

TEST(T5Config, DefaultsAndDerivedValues) {
  const auto c = T5Config::from_json(json{{"num_layers", 3}}, "config.json");
  EXPECT_EQ(c.d_model, 512);
  EXPECT_EQ(c.num_decoder_layers, 3);  // absent: num_layers
  EXPECT_EQ(c.dense_act_fn, "relu");
  EXPECT_FALSE(c.is_gated_act);
  EXPECT_TRUE(c.scale_decoder_outputs);
  EXPECT_EQ(c.decoder_start_token_id, 0);
  EXPECT_EQ(c.eos_token_ids, std::vector<std::int64_t>{1});

  const auto v11 = T5Config::from_json(json{{"feed_forward_proj", "gated-gelu"},
                                            {"tie_word_embeddings", false},
                                            {"pad_token_id", 5},
                                            {"eos_token_id", json::array({1, 7})}},
                                       "config.json");
  EXPECT_TRUE(v11.is_gated_act);
  EXPECT_EQ(v11.dense_act_fn, "gelu_new");
  EXPECT_FALSE(v11.scale_decoder_outputs);   // follows tie_word_embeddings
  EXPECT_EQ(v11.decoder_start_token_id, 5);  // absent: pad_token_id
  EXPECT_EQ(v11.eos_token_ids, (std::vector<std::int64_t>{1, 7}));

  // transformers 5 writes scale_decoder_outputs next to a forced tie_word_embeddings: true.
  const auto v5 = T5Config::from_json(
      json{{"tie_word_embeddings", true}, {"scale_decoder_outputs", false}}, "config.json");
  EXPECT_FALSE(v5.scale_decoder_outputs);

  const auto relu = T5Config::from_json(json{{"feed_forward_proj", "gated-relu"}}, "c.json");
  EXPECT_TRUE(relu.is_gated_act);
  EXPECT_EQ(relu.dense_act_fn, "relu");
}

TEST(T5Config, ErrorsNameTheFileAndTheKey) {
  const auto parse = [](json doc) { return [doc] { T5Config::from_json(doc, "m/config.json"); }; };
  expect_error(parse({{"d_model", "512"}}), pft::ErrorKind::Input,
               "m/config.json: key 'd_model': expected an integer, got string \"512\"");
  expect_error(parse({{"d_model", 0}}), pft::ErrorKind::Input,
               "m/config.json: key 'd_model': must be >= 1, got 0");
  expect_error(parse({{"feed_forward_proj", "gated-gelu-new"}}), pft::ErrorKind::Input,
               "key 'feed_forward_proj': expected \"ACT\" or \"gated-ACT\"");
  expect_error(parse({{"feed_forward_proj", "tanh"}}), pft::ErrorKind::Input,
               "key 'feed_forward_proj': activation \"tanh\" is not supported");
  expect_error(parse({{"model_type", "bert"}}), pft::ErrorKind::Input,
               "m/config.json: key 'model_type': expected \"t5\", \"mt5\" or \"umt5\", got "
               "string \"bert\"");
  expect_error(parse({{"eos_token_id", "x"}}), pft::ErrorKind::Input, "key 'eos_token_id'");
  expect_error(parse({{"vocab_size", 10}, {"eos_token_id", 12}}), pft::ErrorKind::Input,
               "key 'eos_token_id': must be a token id in [0, 10), got 12");
  expect_error(parse({{"tie_word_embeddings", 1}}), pft::ErrorKind::Input,
               "key 'tie_word_embeddings': expected true or false");
  expect_error(parse({{"relative_attention_num_buckets", 2}}), pft::ErrorKind::Input,
               "key 'relative_attention_num_buckets': must be >= 4");
}

TEST(T5Model, ModulesCarryHuggingFaceNames) {
  T5 tied(T5Options(tiny_config(/*gated=*/false)).own_lm_head(false));
  std::set<std::string> names;
  for (const auto& p : tied->named_parameters()) names.insert(p.key());
  for (const auto* name : {
           "shared.weight",
           "encoder.block.0.layer.0.SelfAttention.q.weight",
           "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
           "encoder.block.1.layer.0.SelfAttention.o.weight",
           "encoder.block.0.layer.0.layer_norm.weight",
           "encoder.block.1.layer.1.DenseReluDense.wi.weight",
           "encoder.block.1.layer.1.DenseReluDense.wo.weight",
           "encoder.block.1.layer.1.layer_norm.weight",
           "encoder.final_layer_norm.weight",
           "decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
           "decoder.block.1.layer.1.EncDecAttention.k.weight",
           "decoder.block.1.layer.1.layer_norm.weight",
           "decoder.block.1.layer.2.DenseReluDense.wo.weight",
           "decoder.final_layer_norm.weight",
       }) {
    EXPECT_EQ(names.count(name), 1u) << name;
  }
  // Only block 0 owns the position bias; a tied model has no lm_head. Per encoder block
  // q,k,v,o + norm + wi,wo + norm; decoder blocks add the cross-attention's 4 + norm.
  EXPECT_EQ(names.count("encoder.block.1.layer.0.SelfAttention.relative_attention_bias.weight"),
            0u);
  EXPECT_EQ(names.count("lm_head.weight"), 0u);
  EXPECT_EQ(names.size(), 1u + (2 * 8 + 1 + 1) + (2 * 13 + 1 + 1));  // = transformers' 47 keys

  T5 gated(T5Options(tiny_config(/*gated=*/true)));
  std::set<std::string> gated_names;
  for (const auto& p : gated->named_parameters()) gated_names.insert(p.key());
  EXPECT_EQ(gated_names.count("lm_head.weight"), 1u);
  EXPECT_EQ(gated_names.count("decoder.block.0.layer.2.DenseReluDense.wi_0.weight"), 1u);
  EXPECT_EQ(gated_names.count("decoder.block.0.layer.2.DenseReluDense.wi_1.weight"), 1u);
  EXPECT_EQ(gated_names.count("decoder.block.0.layer.2.DenseReluDense.wi.weight"), 0u);
}

TEST(T5Model, LayerNormIsRmsInFloat32) {
  pft::model::T5LayerNorm norm(4, 1e-6);
  torch::NoGradGuard no_grad;
  norm->weight.copy_(torch::tensor({1.0f, 2.0f, 0.5f, 1.0f}));
  const auto x = torch::tensor({{1.0f, -2.0f, 3.0f, 4.0f}});
  const auto expected = x / std::sqrt((1.0 + 4.0 + 9.0 + 16.0) / 4.0 + 1e-6) *
                        torch::tensor({1.0f, 2.0f, 0.5f, 1.0f});
  EXPECT_TRUE(torch::allclose(norm(x), expected, 1e-6, 1e-6));
  // bfloat16 weights: the variance is still computed in float32, the result is bfloat16.
  norm->to(torch::kBFloat16);
  EXPECT_EQ(norm(x.to(torch::kBFloat16)).scalar_type(), torch::kBFloat16);
}

TEST(T5Model, Bf16AutocastGradientsFollowFloat32) {
  // Under autocast the normalised input of query, key and value, the cross-attention input of
  // keys and values, and the input of the gated feed-forward are cast once for all their
  // products, so their input gradients are summed in bf16. The gradients reaching both
  // embeddings, which flow through those products as well as past them, must still follow
  // float32's.
  torch::manual_seed(6);
  T5 model(T5Options(tiny_config(/*gated=*/true)));
  model->eval();
  for (auto& p : model->parameters()) p.requires_grad_(false);
  const auto source = model->embed(torch::randint(2, 40, {2, 5}, torch::kLong)).detach();
  const auto target_embeds = model->embed(torch::randint(2, 40, {2, 4}, torch::kLong)).detach();
  const auto weights = torch::randn({2, 4, 40});
  const auto gradients = [&](bool bf16) {
    const auto x = source.clone().requires_grad_(true);
    const auto y = target_embeds.clone().requires_grad_(true);
    std::optional<pft::train::AutocastGuard> guard;
    if (bf16) guard.emplace(pft::train::Precision::BF16, torch::kCPU);
    const auto out = model->forward(x, {}, y, {});
    (out.logits.to(torch::kFloat) * weights).sum().backward();
    return std::make_pair(x.grad(), y.grad());
  };
  const auto [fp32_x, fp32_y] = gradients(false);
  const auto [bf16_x, bf16_y] = gradients(true);
  ASSERT_TRUE(bf16_x.defined() && bf16_y.defined());
  EXPECT_EQ(bf16_x.scalar_type(), torch::kFloat);
  EXPECT_LT(((bf16_x - fp32_x).norm() / fp32_x.norm()).item<double>(), 0.03);
  EXPECT_LT(((bf16_y - fp32_y).norm() / fp32_y.norm()).item<double>(), 0.03);
}

TEST(T5Model, PrefixesAreChecked) {
  auto model = random_model(1);
  torch::NoGradGuard no_grad;
  const auto ids = torch::randint(2, 40, {2, 5});
  pft::model::LayerPrefixes wrong_count;
  wrong_count.layers.resize(1);
  expect_error([&] { model->encode(model->embed(ids), {}, &wrong_count); }, pft::ErrorKind::Input,
               "T5 encoder prefixes: expected one entry per layer (2), got 1");
  pft::model::LayerPrefixes wrong_heads;
  wrong_heads.layers.assign(2, {torch::zeros({2, 3, 4, 4}), torch::zeros({2, 3, 4, 4})});
  expect_error([&] { model->encode(model->embed(ids), {}, &wrong_heads); }, pft::ErrorKind::Input,
               "expected key and value of shape [2 or 1, 4, P, 4], got key [2, 3, 4, 4]");
  pft::model::LayerPrefixes uneven;
  uneven.layers = {{torch::zeros({1, 4, 2, 4}), torch::zeros({1, 4, 2, 4})},
                   {torch::zeros({1, 4, 3, 4}), torch::zeros({1, 4, 3, 4})}};
  expect_error([&] { model->encode(model->embed(ids), {}, &uneven); }, pft::ErrorKind::Input,
               "every layer's prefix must have the same length (2), got 3");
}

TEST(T5Model, PrefixGradientsFlowAndPaddingDoesNotLeak) {
  auto model = random_model(2);
  model->train(false);
  // One prefix of batch 1 for every row; a gradient must reach it (prefix tuning trains it).
  pft::model::LayerPrefixes prefixes;
  for (int i = 0; i < 2; ++i) {
    prefixes.layers.push_back({torch::randn({1, 4, 3, 4}, torch::requires_grad()),
                               torch::randn({1, 4, 3, 4}, torch::requires_grad())});
  }
  const auto ids = torch::tensor({{5, 6, 7, 1}, {8, 9, 1, 0}});
  const auto mask = torch::tensor({{1, 1, 1, 1}, {1, 1, 1, 0}});
  const auto out = model->forward(model->embed(ids), mask, model->embed(ids.narrow(1, 0, 3)), {},
                                  &prefixes, &prefixes);
  out.logits.sum().backward();
  for (const auto& p : prefixes.layers) {
    ASSERT_TRUE(p.key.grad().defined());
    EXPECT_GT(p.key.grad().abs().sum().item<double>(), 0.0);
  }
  // Row 1 alone, unpadded, gives the same encoder output as in the padded batch.
  torch::NoGradGuard no_grad;
  const auto batch = model->encode(model->embed(ids), mask, &prefixes);
  const auto alone =
      model->encode(model->embed(ids.narrow(0, 1, 1).narrow(1, 0, 3)), {}, &prefixes);
  EXPECT_LE((batch[1].narrow(0, 0, 3) - alone[0]).abs().max().item<double>(), 1e-5);
}

TEST(T5Model, CacheSelectFollowsRows) {
  auto model = random_model(3);
  torch::NoGradGuard no_grad;
  const auto src = torch::tensor({{5, 6, 7, 1}, {8, 9, 1, 0}});
  const auto mask = torch::tensor({{1, 1, 1, 1}, {1, 1, 1, 0}});
  const auto enc = model->encode(model->embed(src), mask);
  // Feeds `first` then, after select(index), `next`; compares with a fresh cache over the
  // selected rows fed both tokens at once.
  const auto check = [&](std::int64_t copies, const torch::Tensor& index,
                         std::int64_t copies_after) {
    const auto rows = 2 * copies;
    auto cache = model->decoder->start_cache(enc, mask, nullptr, copies);
    const auto first = torch::arange(rows).view({rows, 1}) + 2;
    model->decoder->decode(model->embed(first), {}, cache);
    cache.select(index);
    EXPECT_EQ(cache.copies, copies_after);
    const auto next = torch::arange(index.size(0)).view({-1, 1}) + 20;
    const auto stepped = model->decoder->decode(model->embed(next), {}, cache);
    const auto source_rows = index.div(copies, "floor");
    auto fresh = model->decoder->start_cache(enc.index_select(0, source_rows),
                                             mask.index_select(0, source_rows));
    const auto full = model->decoder->decode(
        model->embed(torch::cat({first.index_select(0, index), next}, 1)), {}, fresh);
    EXPECT_LE((stepped.select(1, 0) - full.select(1, 1)).abs().max().item<double>(), 1e-5);
  };
  check(1, torch::tensor({1, 0, 1}), 1);           // rows swapped and repeated
  check(3, torch::tensor({2, 2, 0, 4, 3, 3}), 3);  // beams reordered within their source
  check(3, torch::tensor({0, 4, 1, 5, 2, 3}), 1);  // rows leave their source's group
}

TEST(T5Model, LoadNamesMissingTensors) {
  pft::test::TempDir dir;
  pft::test::write_text(dir.file("config.json"), json{{"model_type", "t5"},
                                                      {"vocab_size", 40},
                                                      {"d_model", 16},
                                                      {"d_kv", 4},
                                                      {"d_ff", 24},
                                                      {"num_layers", 1},
                                                      {"num_heads", 4}}
                                                     .dump());
  pft::io::save_safetensors(dir.file("model.safetensors"),
                            {{"shared.weight", torch::zeros({40, 16})}});
  expect_error([&] { pft::model::load_t5(dir.path()); }, pft::ErrorKind::Input,
               "the checkpoint lacks");
  expect_error([&] { pft::model::load_t5(dir.path()); }, pft::ErrorKind::Input,
               "decoder.block.0.layer.0.SelfAttention.k.weight");
}

TEST(Generate, OptionsAreValidated) {
  auto model = random_model(4);
  const auto ids = torch::tensor({{5, 6, 1}});
  pft::config::GenerateConfig o;
  o.min_new_tokens = 40;
  expect_error([&] { pft::generate::generate(*model, ids, {}, o); }, pft::ErrorKind::Config,
               "generate.min_new_tokens: must be <= generate.max_new_tokens (32), got 40");
  o = {};
  o.top_p = 0.0;
  expect_error([&] { pft::generate::generate(*model, ids, {}, o); }, pft::ErrorKind::Config,
               "generate.top_p: must be in (0, 1]");
  o = {};
  expect_error(
      [&] {
        pft::generate::generate(*model, torch::zeros({0, 3}, torch::kLong), {}, o);
      },
      pft::ErrorKind::Input, "expected input_ids of shape [batch >= 1, length >= 1]");
}

TEST(Generate, BatchedPaddedRowsEqualRowsAlone) {
  auto model = random_model(5);
  const auto ids = torch::tensor({{5, 6, 7, 8, 9, 1}, {10, 11, 1, 0, 0, 0}, {12, 1, 0, 0, 0, 0}});
  const auto mask = (ids != 0).to(torch::kLong);
  for (const std::int64_t beams : {1, 3}) {
    pft::config::GenerateConfig o;
    o.max_new_tokens = 10;
    o.num_beams = beams;
    const auto batched = pft::generate::generate(*model, ids, mask, o);
    for (std::int64_t i = 0; i < 3; ++i) {
      const auto n = mask[i].sum().item<std::int64_t>();
      const auto alone =
          pft::generate::generate(*model, ids.narrow(0, i, 1).narrow(1, 0, n), {}, o);
      EXPECT_EQ(alone.front(), batched[i]) << "beams " << beams << " row " << i;
      EXPECT_LE(batched[i].size(), 10u);
    }
  }
}

TEST(Generate, EosEndsARowAndMinNewTokensDelaysIt) {
  auto model = random_model(6);
  const auto ids = torch::randint(2, 40, {8, 5});
  pft::config::GenerateConfig o;
  o.max_new_tokens = 12;
  const auto plain = pft::generate::generate(*model, ids, {}, o);
  std::size_t ended = 0;
  for (const auto& row : plain) {
    const auto eos = std::find(row.begin(), row.end(), 1);
    if (eos != row.end()) {
      ++ended;
      EXPECT_EQ(eos + 1, row.end()) << "tokens after EOS";
    } else {
      EXPECT_EQ(row.size(), 12u);
    }
  }
  EXPECT_GT(ended, 0u) << "the random model should end some rows";
  o.min_new_tokens = 6;
  for (const std::int64_t beams : {1, 4}) {
    o.num_beams = beams;
    for (const auto& row : pft::generate::generate(*model, ids, {}, o)) {
      for (std::size_t t = 0; t < row.size() && t < 6; ++t) EXPECT_NE(row[t], 1) << "EOS at " << t;
      EXPECT_GE(row.size(), 6u);
    }
  }
}

TEST(Generate, SeedsRepeatAndDiffer) {
  auto model = random_model(7);
  const auto ids = torch::randint(2, 40, {4, 6});
  pft::config::GenerateConfig o;
  o.do_sample = true;
  o.max_new_tokens = 10;
  o.top_k = 0;
  o.seed = 5;
  const auto a = pft::generate::generate(*model, ids, {}, o);
  EXPECT_EQ(pft::generate::generate(*model, ids, {}, o), a);
  o.seed = 6;
  EXPECT_NE(pft::generate::generate(*model, ids, {}, o), a);
  // Beam sampling too.
  o.num_beams = 3;
  const auto b = pft::generate::generate(*model, ids, {}, o);
  EXPECT_EQ(pft::generate::generate(*model, ids, {}, o), b);
}

TEST(Generate, TheComputeTypeReachesEveryDecodingProductOnlyWhileDecoding) {
  using pft::model::ComputeType;
  for (const bool tied : {false, true}) {
    torch::manual_seed(12);
    T5 model(T5Options(tiny_config(/*gated=*/!tied)).own_lm_head(!tied));
    {
      torch::NoGradGuard no_grad;
      for (auto& p : model->parameters()) p.normal_(0.0, 0.5);
    }
    model->eval();
    const auto ids = torch::tensor({{5, 6, 7, 8, 9, 1}, {10, 11, 1, 0, 0, 0}});
    const auto mask = (ids != 0).to(torch::kLong);
    // One step's logits in each type.
    std::map<ComputeType, torch::Tensor> logits;
    for (const auto type : {ComputeType::Float32, ComputeType::BFloat16, ComputeType::Int8}) {
      c10::InferenceMode inference;
      model->set_decode_compute_type(type);
      auto state = model->start(ids, mask, 1);
      logits[type] = model->step(*state, torch::zeros({2}, torch::kLong));
    }
    const auto& exact = logits.at(ComputeType::Float32);
    const double range = exact.abs().max().item<double>();
    for (const auto type : {ComputeType::BFloat16, ComputeType::Int8}) {
      const double err = (logits.at(type) - exact).abs().max().item<double>() / range;
      EXPECT_GT(err, 0.0) << pft::model::compute_type_name(type) << " tied=" << tied;
      EXPECT_LT(err, 0.05) << pft::model::compute_type_name(type) << " tied=" << tied;
    }
    // Every Linear of the decoder and the output projection follow the model's type; the
    // encoder's never change.
    model->set_decode_compute_type(ComputeType::Int8);
    for (const auto& m : model->decoder->modules()) {
      if (auto* l = dynamic_cast<pft::model::LinearImpl*>(m.get())) {
        EXPECT_EQ(l->inference_compute_type(), ComputeType::Int8);
      }
    }
    for (const auto& m : model->encoder->modules()) {
      if (auto* l = dynamic_cast<pft::model::LinearImpl*>(m.get())) {
        EXPECT_EQ(l->inference_compute_type(), ComputeType::Float32);
      }
    }
    if (!tied) {
      EXPECT_EQ(model->lm_head->inference_compute_type(), ComputeType::Int8);
    }
    model->set_decode_compute_type(ComputeType::Float32);
    // generate() applies generate.compute_type for its run and sets the previous type back.
    pft::config::GenerateConfig o;
    o.max_new_tokens = 6;
    o.compute_type = "float32";
    EXPECT_EQ(pft::generate::generate(*model, ids, mask, o).size(), 2u);
    o.compute_type = "auto";
    const auto automatic = pft::generate::generate(*model, ids, mask, o);
    EXPECT_EQ(model->decode_compute_type(), ComputeType::Float32);
    o.compute_type = "int8";
    EXPECT_EQ(pft::generate::generate(*model, ids, mask, o), automatic);  // auto: int8 here
    o.num_beams = 2;
    pft::generate::generate(*model, ids, mask, o);
    EXPECT_EQ(model->decode_compute_type(), ComputeType::Float32);
  }
}

TEST(Generate, StepCallbackSeesEveryGreedyToken) {
  auto model = random_model(8);
  const auto ids = torch::randint(2, 40, {2, 4});
  pft::config::GenerateConfig o;
  o.max_new_tokens = 7;
  std::vector<std::vector<std::int64_t>> seen(2);
  const auto out = pft::generate::generate(
      *model, ids, {}, o, [&](const std::vector<std::int64_t>& tokens, const std::vector<bool>&) {
        for (std::size_t i = 0; i < tokens.size(); ++i) seen[i].push_back(tokens[i]);
      });
  for (std::size_t i = 0; i < 2; ++i) {
    ASSERT_GE(seen[i].size(), out[i].size());
    EXPECT_EQ(std::vector<std::int64_t>(seen[i].begin(), seen[i].begin() + out[i].size()), out[i]);
  }
}

}  // namespace

namespace {

TEST(Generate, CudaGivesTheCpuIds_CUDA) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  auto model = random_model(9);
  const auto ids = torch::tensor({{5, 6, 7, 8, 9, 1}, {10, 11, 1, 0, 0, 0}});
  const auto mask = (ids != 0).to(torch::kLong);
  pft::config::GenerateConfig greedy, beams, sample;
  greedy.max_new_tokens = beams.max_new_tokens = sample.max_new_tokens = 10;
  // float32 on both devices ("auto" is int8 on the CPU only).
  greedy.compute_type = beams.compute_type = sample.compute_type = "float32";
  beams.num_beams = 3;
  sample.do_sample = true;
  sample.seed = 3;
  const auto cpu_greedy = pft::generate::generate(*model, ids, mask, greedy);
  const auto cpu_beams = pft::generate::generate(*model, ids, mask, beams);
  const auto cpu_sample = pft::generate::generate(*model, ids, mask, sample);
  model->to(torch::Device(torch::kCUDA, 0));
  EXPECT_EQ(model->device().type(), torch::kCUDA);
  EXPECT_EQ(pft::generate::generate(*model, ids, mask, greedy), cpu_greedy);
  EXPECT_EQ(pft::generate::generate(*model, ids, mask, beams), cpu_beams);
  // The sampler's generator lives on the CPU: the same seed draws the same tokens.
  EXPECT_EQ(pft::generate::generate(*model, ids, mask, sample), cpu_sample);
}

}  // namespace
