// IA3, BitFit, full fine-tuning and bottleneck adapters on small randomly initialised BERT
// and T5 models built in code: placement, names, initial identity, the computation itself,
// merging, and the errors that name the key at fault.

#include <gtest/gtest.h>

#include "pft/app/export.h"
#include "pft/model/bert/bert.h"
#include "pft/model/bert/family.h"
#include "pft/model/t5/family.h"
#include "pft/model/t5/t5.h"
#include "pft/peft/adapter/adapter.h"
#include "pft/peft/bitfit/bitfit.h"
#include "pft/peft/full/full.h"
#include "pft/peft/ia3/ia3.h"
#include "pft/task/sequence_classification.h"
#include "pft/util/error.h"

namespace {

pft::model::BertConfig bert_config() {
  pft::model::BertConfig c;
  c.vocab_size = 40;
  c.hidden_size = 16;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 2;
  c.intermediate_size = 24;
  c.max_position_embeddings = 16;
  return c;
}

struct Bert {
  Bert() : model(bert_config()) {
    model->eval();
    ids = torch::randint(1, 40, {2, 7});
    mask = torch::ones({2, 7}, torch::kLong);
  }
  torch::Tensor logits() {
    torch::NoGradGuard no_grad;
    return model->forward_ids(ids, mask);
  }
  pft::peft::AdaptedModel attach(std::unique_ptr<pft::peft::PeftMethod> method) {
    return pft::peft::attach_method(
        model.ptr(), std::move(method),
        pft::model::bert_model_info(model->config, "(code)",
                                    pft::model::Head::SequenceClassification));
  }
  pft::model::BertForSequenceClassification model;
  torch::Tensor ids, mask;
};

pft::model::T5 small_t5() {
  pft::model::T5Config c;
  c.vocab_size = 32;
  c.d_model = 16;
  c.d_kv = 4;
  c.num_heads = 4;
  c.d_ff = 24;
  c.num_layers = 2;
  c.num_decoder_layers = 2;
  c.relative_attention_num_buckets = 8;
  c.relative_attention_max_distance = 16;
  pft::model::T5 t5(pft::model::T5Options(c).own_lm_head(false));
  t5->eval();
  return t5;
}

pft::peft::ModelInfo t5_info(const pft::model::T5& t5) {
  return pft::model::t5_model_info(t5->config(), "(code)");
}

}  // namespace

TEST(Ia3, PeftDefaultsNamesShapesAndMerge) {
  torch::manual_seed(0);
  Bert b;
  const auto before = b.logits();
  auto a = b.attach(std::make_unique<pft::peft::Ia3Method>(pft::peft::Ia3Options{}));
  EXPECT_TRUE(torch::equal(b.logits(), before));  // ones
  const auto params = a.method->parameters();
  // Per layer: key, value (outputs), attention.output.dense and output.dense (inputs).
  ASSERT_EQ(params.size(), 8u);
  EXPECT_EQ(params[0].first, "bert.encoder.layer.0.attention.self.key.ia3_l");
  EXPECT_EQ(params[0].second.sizes(), (std::vector<std::int64_t>{16, 1}));
  EXPECT_EQ(params[2].first, "bert.encoder.layer.0.attention.output.dense.ia3_l");
  EXPECT_EQ(params[2].second.sizes(), (std::vector<std::int64_t>{1, 16}));
  EXPECT_EQ(params[3].first, "bert.encoder.layer.0.output.dense.ia3_l");
  EXPECT_EQ(params[3].second.sizes(), (std::vector<std::int64_t>{1, 24}));
  {
    torch::NoGradGuard no_grad;
    for (auto& [n, t] : params) t.uniform_(0.5, 1.5);
  }
  // The computation: key output scaled, output.dense input scaled.
  auto& key = *b.model->bert->encoder->layer_at(0)->attention->self->key;
  const auto x = torch::randn({3, 16});
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::allclose(key.forward(x),
                              at::linear(x, key.weight, key.bias) * params[0].second.flatten()));
  const auto unmerged = b.logits();
  EXPECT_GT((unmerged - before).abs().max().item<double>(), 1e-4);
  EXPECT_GT(a.method->merge(), 0.0);
  EXPECT_LE((b.logits() - unmerged).abs().max().item<double>(), 1e-5);
  a.method->unmerge();
  EXPECT_LE((b.logits() - unmerged).abs().max().item<double>(), 1e-5);
}

TEST(Ia3, T5DefaultsAreKVAndFeedForwardWo) {
  auto t5 = small_t5();
  auto a = pft::peft::attach_method(
      t5.ptr(), std::make_unique<pft::peft::Ia3Method>(pft::peft::Ia3Options{}), t5_info(t5));
  std::size_t wo = 0;
  for (const auto& [name, t] : a.method->parameters()) {
    if (name.find("DenseReluDense.wo") != std::string::npos) {
      ++wo;
      EXPECT_EQ(t.sizes(), (std::vector<std::int64_t>{1, 24})) << name;
    } else {
      EXPECT_TRUE(name.find(".k.ia3_l") != std::string::npos ||
                  name.find(".v.ia3_l") != std::string::npos)
          << name;
    }
  }
  EXPECT_EQ(wo, 4u);
}

TEST(BitFit, TrainsOnlyBiasesAndRefusesT5) {
  Bert b;
  auto a = b.attach(std::make_unique<pft::peft::BitFitMethod>());
  for (const auto& [name, t] : a.trainable()) {
    const bool bias = name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0;
    EXPECT_TRUE(bias || name.rfind("classifier.", 0) == 0) << name;
  }
  EXPECT_TRUE(a.method->state_dict().count("bert.encoder.layer.1.intermediate.dense.bias"));
  EXPECT_FALSE(a.method->state_dict().count("classifier.bias"));  // saved as modules_to_save
  auto t5 = small_t5();
  try {
    pft::peft::attach_method(t5.ptr(), std::make_unique<pft::peft::BitFitMethod>(), t5_info(t5));
    FAIL() << "BitFit on T5 must fail";
  } catch (const pft::Error& e) {
    EXPECT_EQ(e.kind(), pft::ErrorKind::Config);
    EXPECT_NE(std::string(e.what()).find("peft.method"), std::string::npos) << e.what();
  }
}

TEST(Full, TrainsEverything) {
  Bert b;
  auto a = b.attach(std::make_unique<pft::peft::FullMethod>());
  EXPECT_EQ(a.trainable_count, a.total_count);
}

TEST(BottleneckAdapter, PlacementNamesIdentityAndComputation) {
  for (const std::string placement : {"houlsby", "pfeiffer"}) {
    SCOPED_TRACE(placement);
    torch::manual_seed(1);
    Bert b;
    const auto before = b.logits();
    pft::peft::AdapterOptions o;
    o.placement = placement;
    o.reduction_factor = 4;
    o.non_linearity = "tanh";
    auto a = b.attach(std::make_unique<pft::peft::AdapterMethod>(o));
    auto* m = dynamic_cast<pft::peft::AdapterMethod*>(a.method.get());
    EXPECT_EQ(m->bottleneck_size(), 4);
    EXPECT_EQ(m->target_paths().size(), placement == "houlsby" ? 4u : 2u);
    EXPECT_TRUE(torch::equal(b.logits(), before)) << "adapters must start at the base function";
    const auto sd = a.method->state_dict();
    EXPECT_TRUE(sd.count("bert.encoder.layer.0.output.adapters.default.adapter_down.0.weight"));
    EXPECT_TRUE(sd.count("bert.encoder.layer.1.output.adapters.default.adapter_up.bias"));
    EXPECT_EQ(sd.count("bert.encoder.layer.0.attention.output.adapters.default.adapter_up.weight"),
              placement == "houlsby" ? 1u : 0u);
    {
      torch::NoGradGuard no_grad;
      for (auto& [n, t] : a.method->parameters()) t.normal_(0, 0.5);
    }
    auto& dense = *b.model->bert->encoder->layer_at(1)->output->dense;
    const auto x = torch::randn({3, 24});
    torch::NoGradGuard no_grad;
    const auto h = at::linear(x, dense.weight, dense.bias);
    const auto down_w = sd.at("bert.encoder.layer.1.output.adapters.default.adapter_down.0.weight");
    const auto down_b = sd.at("bert.encoder.layer.1.output.adapters.default.adapter_down.0.bias");
    const auto up_w = sd.at("bert.encoder.layer.1.output.adapters.default.adapter_up.weight");
    const auto up_b = sd.at("bert.encoder.layer.1.output.adapters.default.adapter_up.bias");
    const auto want = h + at::linear(torch::tanh(at::linear(h, down_w, down_b)), up_w, up_b);
    EXPECT_TRUE(torch::allclose(dense.forward(x), want, 1e-5, 1e-6));
    EXPECT_FALSE(a.method->can_merge());
  }
}

TEST(BottleneckAdapter, T5HoulsbyCoversSelfCrossAndFeedForward) {
  auto t5 = small_t5();
  pft::peft::AdapterOptions o;
  o.bottleneck_size = 3;
  auto a = pft::peft::attach_method(t5.ptr(), std::make_unique<pft::peft::AdapterMethod>(o),
                                    t5_info(t5));
  const auto& paths = dynamic_cast<pft::peft::AdapterMethod*>(a.method.get())->target_paths();
  // Encoder: 2 blocks x (self, wo); decoder: 2 blocks x (self, cross, wo).
  EXPECT_EQ(paths.size(), 10u);
  EXPECT_NE(std::find(paths.begin(), paths.end(), "decoder.block.1.layer.1.EncDecAttention.o"),
            paths.end());
}

TEST(BottleneckAdapter, BadSettingsNameTheKey) {
  Bert b;
  pft::peft::AdapterOptions o;
  o.reduction_factor = 64;  // 16 / 64 leaves nothing
  try {
    b.attach(std::make_unique<pft::peft::AdapterMethod>(o));
    FAIL();
  } catch (const pft::Error& e) {
    EXPECT_NE(std::string(e.what()).find("peft.adapter_reduction_factor"), std::string::npos)
        << e.what();
  }
}
