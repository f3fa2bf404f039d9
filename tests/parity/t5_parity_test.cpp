// T5 against live Hugging Face transformers: tests/python/t5_reference.py writes a random
// tiny checkpoint (v1.0: relu, tied embeddings; v1.1: gated-gelu, own lm_head) and the
// reference outputs of transformers for it; pft loads the same folder and must agree.
// Tolerance: fp32 max abs diff <= 1e-5; generated ids identical.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "pft/generate/generate.h"
#include "pft/io/safetensors.h"
#include "pft/model/t5/t5.h"
#include "support/compare.h"
#include "support/test_util.h"

namespace {

using Ids = std::vector<std::vector<std::int64_t>>;

constexpr double kTolerance = 1e-5;

using pft::test::max_abs_diff;

pft::config::GenerateConfig options_from(const nlohmann::json& o) {
  pft::config::GenerateConfig c;
  c.max_new_tokens = o.at("max_new_tokens").get<std::int64_t>();
  c.num_beams = o.value("num_beams", std::int64_t{1});
  c.do_sample = o.value("do_sample", false);
  c.min_new_tokens = o.value("min_new_tokens", std::int64_t{0});
  c.no_repeat_ngram_size = o.value("no_repeat_ngram_size", std::int64_t{0});
  c.length_penalty = o.value("length_penalty", 1.0);
  c.early_stopping = o.value("early_stopping", false);
  c.temperature = o.value("temperature", 1.0);
  c.top_k = o.value("top_k", std::int64_t{50});
  c.top_p = o.value("top_p", 1.0);
  c.seed = o.value("seed", std::int64_t{0});
  c.compute_type = "float32";  // transformers decodes with the float32 weights
  return c;
}

std::string show(const std::vector<std::int64_t>& ids) {
  std::ostringstream out;
  out << "[";
  for (std::size_t i = 0; i < ids.size(); ++i) out << (i ? " " : "") << ids[i];
  out << "]";
  return out.str();
}

pft::model::LayerPrefixes prefixes_from(const std::map<std::string, torch::Tensor>& ref,
                                        const std::string& stack, std::int64_t layers) {
  pft::model::LayerPrefixes prefixes;
  for (std::int64_t i = 0; i < layers; ++i) {
    const auto name = "prefix." + stack + "." + std::to_string(i);
    prefixes.layers.push_back({ref.at(name + ".key"), ref.at(name + ".value")});
  }
  return prefixes;
}

// Checks one checkpoint folder written by t5_reference.py against its reference outputs.
void check_variant(const std::string& dir, const std::string& version) {
  auto model = pft::model::load_t5(dir + "/model");
  const auto ref = pft::io::read_safetensors(dir + "/reference.safetensors").tensors;
  std::ifstream in(dir + "/generate.json");
  const auto generate = nlohmann::json::parse(in);

  const bool v1_0 = version == "v1_0";
  const auto& config = model->config();
  // v1.0 checkpoints are tied and scale the decoder output; v1.1 has its own lm_head.
  EXPECT_EQ(model->has_own_lm_head(), !v1_0);
  EXPECT_EQ(config.scale_decoder_outputs, v1_0);
  EXPECT_EQ(config.is_gated_act, !v1_0);
  EXPECT_EQ(config.dense_act_fn, v1_0 ? "relu" : "gelu_new");

  const auto ids = ref.at("input_ids");
  const auto mask = ref.at("attention_mask");
  torch::NoGradGuard no_grad;

  // Encoder over a right-padded batch.
  const auto encoder_hidden = model->encode(model->embed(ids), mask);
  const double encoder_diff = max_abs_diff(encoder_hidden, ref.at("encoder_hidden"));
  EXPECT_LE(encoder_diff, kTolerance);

  // Teacher-forced logits with a padded decoder batch.
  const auto dec_ids = ref.at("decoder_input_ids");
  const auto dec_mask = ref.at("decoder_attention_mask");
  const auto rows = dec_ids.size(0);
  const auto src = ids.narrow(0, 0, rows);
  const auto src_mask = mask.narrow(0, 0, rows);
  const auto out = model->forward_ids(src, src_mask, dec_ids, dec_mask);
  const double logits_diff = max_abs_diff(out.logits, ref.at("logits"));
  EXPECT_LE(logits_diff, kTolerance);

  // The same logits one token at a time through the cache (mask growing with the tokens).
  auto cache = model->decoder->start_cache(model->encode(model->embed(src), src_mask), src_mask);
  std::vector<torch::Tensor> steps;
  for (std::int64_t t = 0; t < dec_ids.size(1); ++t) {
    const auto hidden = model->decoder->decode(model->embed(dec_ids.narrow(1, t, 1)),
                                               dec_mask.narrow(1, 0, t + 1), cache);
    steps.push_back(model->lm_logits(hidden));
  }
  EXPECT_EQ(cache.length(), dec_ids.size(1));
  const double cached_diff = max_abs_diff(torch::cat(steps, 1), out.logits);
  EXPECT_LE(cached_diff, kTolerance);

  // Key/value prefixes (the prefix-tuning hook) as transformers treats past keys/values.
  const auto encoder_prefixes = prefixes_from(ref, "encoder", config.num_layers);
  const auto decoder_prefixes = prefixes_from(ref, "decoder", config.num_decoder_layers);
  const double prefix_encoder_diff =
      max_abs_diff(model->encode(model->embed(src), src_mask, &encoder_prefixes),
                   ref.at("prefix_encoder_hidden"));
  EXPECT_LE(prefix_encoder_diff, kTolerance);
  const auto prefixed = model->forward(model->embed(src), src_mask, model->embed(dec_ids), dec_mask,
                                       nullptr, &decoder_prefixes);
  const double prefix_logits_diff = max_abs_diff(prefixed.logits, ref.at("prefix_logits"));
  EXPECT_LE(prefix_logits_diff, kTolerance);

  // generate(): every case on the whole padded batch, ids identical.
  std::size_t compared = 0;
  for (const auto& [name, entry] : generate.at("cases").items()) {
    SCOPED_TRACE(name);
    const auto options = options_from(entry.at("options"));
    const auto expected = entry.at("ids").get<Ids>();
    const auto actual = pft::generate::generate(*model, ids, mask, options);
    ASSERT_EQ(actual.size(), expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
      EXPECT_EQ(actual[i], expected[i])
          << "prompt " << i << ": pft " << show(actual[i]) << " transformers " << show(expected[i]);
      ++compared;
    }
    if (options.do_sample) {
      // A fixed seed gives the same output run to run.
      EXPECT_EQ(pft::generate::generate(*model, ids, mask, options), actual);
    }
  }
  EXPECT_GE(compared, 16u * 9u);
  std::cout << "[parity] T5 " << dir.substr(dir.rfind('/') + 1) << ": max|diff| encoder "
            << encoder_diff << ", logits " << logits_diff << ", cached vs full " << cached_diff
            << ", encoder prefix " << prefix_encoder_diff << ", decoder prefix "
            << prefix_logits_diff << "; " << compared << " generated sequences identical\n";
}

// Two versions (v1.0: relu, tied; v1.1: gated-gelu, own lm_head) in two sizes; one Python
// process writes all four (importing transformers dominates its time).
TEST(T5Parity, FourCheckpointsMatchTransformers) {
  torch::manual_seed(0);
  pft::test::TempDir dir;
  const std::vector<std::string> variants{"v1_0:tiny", "v1_0:small", "v1_1:tiny", "v1_1:small"};
  std::vector<std::string> args{dir.path()};
  args.insert(args.end(), variants.begin(), variants.end());
  const auto r = pft::test::run_python("t5_reference.py", args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const auto& spec : variants) {
    SCOPED_TRACE(spec);
    const auto version = spec.substr(0, spec.find(':'));
    check_variant(dir.path() + "/" + version + "_" + spec.substr(spec.find(':') + 1), version);
  }
}

}  // namespace
