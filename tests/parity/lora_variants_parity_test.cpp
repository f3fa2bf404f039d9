// LoRA as PEFT writes it in every setting users meet, against live Hugging Face PEFT on a tiny
// random BertForSequenceClassification (padded batch): DoRA; rank_pattern, alpha_pattern,
// layers_to_transform, layers_pattern, exclude_modules and modules_to_save together; PiSSA and
// OLoRA initialisation (the residual base weights rebuilt on load, as PEFT rebuilds them);
// randomized-SVD PiSSA (pissa_niter_N), saved converted to plain LoRA;
// OLoRA with DoRA and rsLoRA; LoRA+ optimizer groups. Adapters move both ways: PEFT-made ones
// give PEFT's logits in pft, pft-made ones give pft's logits in PeftModel.from_pretrained.
// Merged weights equal merge_and_unload()'s. tests/python/lora_variants_reference.py makes the
// Python side. Tolerances: fp32 logits 1e-5, merged weights 1e-6, weights after three LoRA+
// steps 1e-5.

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <map>
#include <iostream>
#include <string>
#include <vector>

#include "pft/config/config.h"
#include "pft/io/safetensors.h"
#include "pft/model/bert/family.h"
#include "pft/model/bert/loader.h"
#include "pft/model/t5/family.h"
#include "pft/model/t5/t5.h"
#include "pft/peft/lora/combine.h"
#include "pft/peft/method.h"
#include "pft/peft/registry.h"
#include "pft/train/optimizer.h"
#include "pft/util/error.h"
#include "pft/util/fs.h"
#include "support/compare.h"
#include "support/test_util.h"

namespace {

using Tensors = std::map<std::string, torch::Tensor>;

using pft::test::max_abs_diff;

struct Loaded {
  pft::peft::AdaptedModel adapted;
  std::function<torch::Tensor(const Tensors&)> logits;
};

Loaded load(const std::string& model_dir, std::unique_ptr<pft::peft::PeftMethod> method) {
  Loaded l;
  pft::model::BertLoadInfo info;
  auto model = pft::model::load_bert_for_sequence_classification(model_dir, {}, &info);
  l.adapted = pft::peft::attach_method(
      model.ptr(), std::move(method),
      pft::model::bert_model_info(info.config, model_dir,
                                  pft::model::Head::SequenceClassification));
  l.adapted.model->eval();
  l.logits = [model](const Tensors& in) mutable {
    torch::NoGradGuard no_grad;
    return model->forward_ids(in.at("input_ids"), in.at("attention_mask"));
  };
  return l;
}

// The run-config equivalent of each case of lora_variants_reference.py.
pft::config::PeftConfig case_config(const std::string& name) {
  pft::config::PeftConfig pc;
  pc.method = "lora";
  auto& lora = pc.get<pft::peft::LoraConfig>();
  lora.r = 4;
  lora.lora_alpha = 8;
  pc.target_modules = {"query", "value", "dense"};
  if (name == "dora") {
    lora.use_dora = true;
  } else if (name == "patterns") {
    pc.target_modules = {"query", "key", "value", "dense"};
    lora.rank_pattern = {{"value", 2}, {"layer.1.attention.self.query", 6}};
    lora.alpha_pattern = {{"query", 5}, {"intermediate.dense", 3}};
    pc.layers_to_transform = {1};
    pc.layers_pattern = "layer";
    pc.exclude_modules = {"attention.output.dense"};
    pc.modules_to_save = {"pooler.dense"};
  } else if (name == "pissa") {
    lora.init_lora_weights = "pissa";
  } else if (name == "olora_dora_rslora") {
    lora.r = 3;
    lora.lora_alpha = 6;
    lora.init_lora_weights = "olora";
    lora.use_dora = true;
    lora.use_rslora = true;
    pc.target_modules = {"query", "key", "value"};
  }
  return pc;
}

class LoraVariantsParity : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new pft::test::TempDir();
    const auto r = pft::test::run_python("lora_variants_reference.py", {"make", dir_->path()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::vector<std::string> cases() {
    return {"dora", "patterns", "pissa", "olora_dora_rslora"};
  }
  static std::string model_dir() { return dir_->file("model"); }
  static std::string adapter(const std::string& c) { return dir_->file(c + "/adapter"); }
  static Tensors reference(const std::string& c) {
    return pft::io::read_safetensors(dir_->file(c + "/reference.safetensors")).tensors;
  }
  static inline pft::test::TempDir* dir_ = nullptr;
};

}  // namespace

TEST_F(LoraVariantsParity, PeftMadeAdaptersGiveTheSameLogits) {
  auto base = load(model_dir(), nullptr);
  for (const auto& c : cases()) {
    SCOPED_TRACE(c);
    auto l = load(model_dir(), pft::peft::method_from_adapter(adapter(c)));
    pft::peft::load_adapter(l.adapted, adapter(c));
    const auto ref = reference(c);
    const double diff = max_abs_diff(l.logits(ref), ref.at("logits"));
    std::cout << "[peft->pft] " << c << " max abs diff " << diff << "\n";
    EXPECT_LE(diff, 1e-5);
    EXPECT_GT(max_abs_diff(base.logits(ref), ref.at("logits")), 1e-3);
  }
}

TEST_F(LoraVariantsParity, TheSettingsReachEveryModuleAsInPeft) {
  auto l = load(model_dir(), pft::peft::method_from_adapter(adapter("patterns")));
  const auto params = l.adapted.model->named_parameters();
  // Layer 0 is outside layers_to_transform; the attention output is excluded; the pooler is
  // saved whole, so LoRA leaves it alone.
  EXPECT_EQ(params.find("bert.encoder.layer.0.attention.self.query.lora_A.weight"), nullptr);
  EXPECT_EQ(params.find("bert.encoder.layer.1.attention.output.dense.lora_A.weight"), nullptr);
  EXPECT_EQ(params.find("bert.pooler.dense.lora_A.weight"), nullptr);
  EXPECT_TRUE(params["bert.pooler.dense.weight"].requires_grad());
  EXPECT_EQ(params["bert.encoder.layer.1.attention.self.query.lora_A.weight"].size(0), 6);
  EXPECT_EQ(params["bert.encoder.layer.1.attention.self.value.lora_A.weight"].size(0), 2);
  EXPECT_EQ(params["bert.encoder.layer.1.attention.self.key.lora_A.weight"].size(0), 4);
  EXPECT_EQ(params["bert.encoder.layer.1.output.dense.lora_A.weight"].size(1), 32);
}

TEST_F(LoraVariantsParity, PftMadeAdaptersLoadInPeft) {
  const auto ref = reference("dora");
  Tensors inputs{{"input_ids", ref.at("input_ids")}, {"attention_mask", ref.at("attention_mask")}};
  const std::string inputs_file = dir_->file("inputs.safetensors");
  pft::io::save_safetensors(inputs_file, inputs);
  // pft makes and saves every case, then one Python process loads them all.
  std::vector<std::string> args{"load"};
  Tensors mine;
  for (const auto& c : cases()) {
    SCOPED_TRACE(c);
    auto l = load(model_dir(), pft::peft::make_method(case_config(c)));
    const auto before = l.logits(inputs);
    torch::manual_seed(5);
    {
      torch::NoGradGuard no_grad;
      for (auto& [name, t] : l.adapted.trainable()) t.add_(torch::randn_like(t) * 0.3);
    }
    const std::string out = dir_->file("pft_" + c);
    pft::peft::save_adapter(l.adapted, out);
    mine[c] = l.logits(inputs);
    EXPECT_GT(max_abs_diff(mine[c], before), 1e-3);
    args.insert(args.end(), {model_dir(), out, inputs_file, out + "/peft.safetensors"});
    // And back: the saved folder loads in pft on the original base model.
    auto again = load(model_dir(), pft::peft::method_from_adapter(out));
    pft::peft::load_adapter(again.adapted, out);
    EXPECT_LE(max_abs_diff(again.logits(inputs), mine[c]), 1e-6);
  }
  const auto r = pft::test::run_python("peft_methods_reference.py", args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const auto& c : cases()) {
    SCOPED_TRACE(c);
    const std::string out = dir_->file("pft_" + c);
    const auto theirs = pft::io::read_safetensors(out + "/peft.safetensors").tensors.at("logits");
    const double diff = max_abs_diff(mine[c], theirs);
    std::cout << "[pft->peft] " << c << " max abs diff " << diff << "\n";
    EXPECT_LE(diff, 1e-5);
  }
}

TEST_F(LoraVariantsParity, MergedWeightsEqualPeftMergeAndUnload) {
  for (const auto& c : cases()) {
    SCOPED_TRACE(c);
    const std::string out = dir_->file("export_" + c);
    const auto r = pft::test::run_pft({"export", "--merge", adapter(c), "--model", model_dir(),
                                       "--output", out, "--threads", "1"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto mine = pft::io::read_safetensors(out + "/model.safetensors").tensors;
    const auto theirs = pft::io::read_safetensors(dir_->file(c + "/merged.safetensors")).tensors;
    double largest = 0;
    std::size_t compared = 0;
    for (const auto& [name, t] : theirs) {
      const auto it = mine.find(name);
      if (it == mine.end()) continue;
      largest = std::max(largest, max_abs_diff(it->second, t));
      ++compared;
    }
    std::cout << "[merge] " << c << " " << compared << " tensors, max abs diff " << largest
              << "\n";
    EXPECT_GE(compared, mine.size() - 1);  // all but at most a non-persistent buffer
    EXPECT_LE(largest, 1e-6);
    // Merging in place and unmerging again gives the unmerged function back.
    auto l = load(model_dir(), pft::peft::method_from_adapter(adapter(c)));
    pft::peft::load_adapter(l.adapted, adapter(c));
    const auto ref = reference(c);
    const auto unmerged = l.logits(ref);
    EXPECT_GT(l.adapted.method->merge(), 1e-3);
    EXPECT_LE(max_abs_diff(l.logits(ref), unmerged), 1e-5);
    l.adapted.method->unmerge();
    EXPECT_LE(max_abs_diff(l.logits(ref), unmerged), 1e-5);
  }
}

TEST_F(LoraVariantsParity, LoraPlusStepsEqualPeftsOptimizer) {
  const auto r = pft::test::run_python("lora_variants_reference.py", {"loraplus", dir_->path()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string before = dir_->file("loraplus/before");
  const auto batch = pft::io::read_safetensors(dir_->file("loraplus/batch.safetensors")).tensors;
  const auto after =
      pft::io::read_safetensors(dir_->file("loraplus/after/adapter_model.safetensors")).tensors;
  const auto steps = [&](double ratio) {
    auto l = load(model_dir(), pft::peft::method_from_adapter(before));
    pft::peft::load_adapter(l.adapted, before);
    pft::train::OptimizerOptions o;
    o.lr = 1e-2;
    o.weight_decay = 0.01;
    o.loraplus_lr_ratio = ratio;
    auto optimizer = pft::train::make_adamw(*l.adapted.model, o);
    auto* model = l.adapted.model->as<pft::model::BertForSequenceClassification>();
    for (int i = 0; i < 3; ++i) {
      optimizer->zero_grad();
      const auto logits = model->forward_ids(batch.at("input_ids"), batch.at("attention_mask"));
      torch::nn::functional::cross_entropy(logits, batch.at("labels")).backward();
      optimizer->step();
    }
    double largest = 0;
    for (const auto& [name, t] : l.adapted.trainable()) {
      const auto it = after.find("base_model.model." + name);
      EXPECT_NE(it, after.end()) << name;
      if (it != after.end()) largest = std::max(largest, max_abs_diff(t.detach(), it->second));
    }
    return largest;
  };
  const double diff = steps(16);
  std::cout << "[lora+] after 3 steps, max abs diff " << diff << "\n";
  EXPECT_LE(diff, 1e-5);
  EXPECT_GT(steps(0), 1e-3);  // plain AdamW ends elsewhere: the ratio is what matches
}

TEST_F(LoraVariantsParity, AdapterSettingsPftCannotApplyAreRefusedByName) {
  const auto copy_with = [&](const std::string& name, const std::string& key,
                             const nlohmann::json& value) {
    const std::string dir = dir_->file(name);
    std::filesystem::create_directories(dir);
    std::filesystem::copy_file(adapter("dora") + "/adapter_model.safetensors",
                               dir + "/adapter_model.safetensors",
                               std::filesystem::copy_options::overwrite_existing);
    auto config = nlohmann::json::parse(pft::read_file(adapter("dora") + "/adapter_config.json"));
    config[key] = value;
    pft::write_file_atomic(dir + "/adapter_config.json", config.dump());
    return dir;
  };
  const auto error_of = [&](const std::string& dir) -> std::string {
    try {
      auto l = load(model_dir(), pft::peft::method_from_adapter(dir));
      pft::peft::load_adapter(l.adapted, dir);
    } catch (const pft::Error& e) {
      return e.what();
    }
    return "";
  };
  const auto niter = error_of(copy_with("niter", "init_lora_weights", "pissa_niter_4"));
  EXPECT_NE(niter.find("init_lora_weights"), std::string::npos) << niter;
  EXPECT_NE(niter.find("adapter_config.json"), std::string::npos) << niter;
  const auto lora_bias = error_of(copy_with("lora_bias", "lora_bias", true));
  EXPECT_NE(lora_bias.find("lora_bias"), std::string::npos) << lora_bias;
  // A DoRA file read as plain LoRA would drop its magnitudes: refused, naming a tensor.
  const auto plain = error_of(copy_with("plain", "use_dora", false));
  EXPECT_NE(plain.find("lora_magnitude_vector"), std::string::npos) << plain;
  // A module to save that the run config names but the model lacks.
  auto pc = case_config("dora");
  pc.modules_to_save = {"no_such_module"};
  try {
    load(model_dir(), pft::peft::make_method(pc));
    ADD_FAILURE() << "an unknown module to save was accepted";
  } catch (const pft::Error& e) {
    EXPECT_NE(std::string(e.what()).find("peft.modules_to_save: 'no_such_module'"),
              std::string::npos)
        << e.what();
  }
}

// Two PEFT-made LoRA adapters of a tiny T5 (different targets and alphas) combined with
// weights 0.7 and -0.4 (density 0.5 where it applies): pft's combined adapter holds PEFT's
// add_weighted_adapter tensors (within 1e-6) and gives the logits PEFT gives with that saved
// adapter (1e-5).
TEST(LoraCombination, EachDeterministicTypeEqualsPeftsAddWeightedAdapter) {
  pft::test::TempDir dir;
  const std::vector<std::string> types{"svd",  "linear",   "cat", "ties", "ties_svd",
                                       "magnitude_prune", "magnitude_prune_svd"};
  std::vector<std::string> args{"combine", dir.path()};
  args.insert(args.end(), types.begin(), types.end());
  const auto r = pft::test::run_python("lora_variants_reference.py", args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto batch = pft::io::read_safetensors(dir.file("batch.safetensors")).tensors;
  const auto logits_of = [&](const std::string& adapter) {
    auto model = pft::model::load_t5(dir.file("t5"));
    auto adapted = pft::peft::attach_method(
        model.ptr(), pft::peft::method_from_adapter(adapter),
        pft::model::t5_model_info(model->config(), dir.file("t5")));
    pft::peft::load_adapter(adapted, adapter);
    model->eval();
    torch::NoGradGuard no_grad;
    return model
        ->forward_ids(batch.at("input_ids"), batch.at("attention_mask"),
                      batch.at("decoder_input_ids"), batch.at("decoder_attention_mask"))
        .logits;
  };
  for (const auto& type : types) {
    SCOPED_TRACE(type);
    pft::peft::CombineOptions o;
    o.type = type;
    o.density = 0.5;
    const std::string out = dir.file("pft_" + type);
    pft::peft::combine_lora_adapters({dir.file("a"), dir.file("b")}, {0.7, -0.4}, o, out);
    const auto mine = pft::io::read_safetensors(out + "/adapter_model.safetensors").tensors;
    const auto theirs =
        pft::io::read_safetensors(dir.file(type + "/adapter_model.safetensors")).tensors;
    EXPECT_EQ(mine.size(), theirs.size());
    double tensors = 0;
    for (const auto& [name, t] : theirs) {
      const auto it = mine.find(name);
      ASSERT_NE(it, mine.end()) << name;
      tensors = std::max(tensors, max_abs_diff(it->second, t));
    }
    const auto expected =
        pft::io::read_safetensors(dir.file(type + "/logits.safetensors")).tensors.at("logits");
    const double logits = max_abs_diff(logits_of(out), expected);
    std::cout << "[combine] " << type << ": tensors max abs diff " << tensors
              << ", logits max abs diff " << logits << "\n";
    EXPECT_LE(tensors, 1e-6);
    EXPECT_LE(logits, 1e-5);
  }
  // DARE draws random masks (PEFT from torch's global generator): pft's come from
  // --combine-seed, so a seed repeats its adapter and density 1 keeps every entry.
  const auto dare = [&](const std::string& name, std::uint64_t seed, double density) {
    pft::peft::CombineOptions o;
    o.type = "dare_linear";
    o.density = density;
    o.seed = seed;
    pft::peft::combine_lora_adapters({dir.file("a"), dir.file("b")}, {0.7, -0.4}, o,
                                     dir.file(name));
    return pft::io::read_safetensors(dir.file(name) + "/adapter_model.safetensors").tensors;
  };
  const auto d1 = dare("dare1", 1, 0.5), d1again = dare("dare1b", 1, 0.5), d2 = dare("dare2", 2, 0.5);
  const auto full = dare("dare_full", 1, 1.0);
  const auto linear =
      pft::io::read_safetensors(dir.file("linear/adapter_model.safetensors")).tensors;
  double same = 0, other = 0, vs_linear = 0;
  for (const auto& [name, t] : d1) {
    same = std::max(same, max_abs_diff(t, d1again.at(name)));
    other = std::max(other, max_abs_diff(t, d2.at(name)));
    vs_linear = std::max(vs_linear, max_abs_diff(full.at(name), linear.at(name)));
  }
  EXPECT_EQ(same, 0.0);
  EXPECT_GT(other, 1e-3);
  EXPECT_LE(vs_linear, 1e-6);
  // Refusals name what is wrong.
  pft::peft::CombineOptions o;
  o.type = "linear";
  try {
    pft::peft::combine_lora_adapters({dir.file("a"), dir.file("pft_cat")}, {1, 1}, o,
                                     dir.file("bad"));
    ADD_FAILURE() << "adapters of different ranks combined linearly";
  } catch (const pft::Error& e) {
    EXPECT_NE(std::string(e.what()).find("same r"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(dir.file("bad")));
  // From the command line: export merges the combination of two --merge folders.
  const auto cli = pft::test::run_pft(
      {"export", "--merge", dir.file("a"), "--merge", dir.file("b"), "--weights", "0.7,-0.4",
       "--combination", "cat", "--model", dir.file("t5"), "--output", dir.file("merged_cat"),
       "--threads", "1"});
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_NE(cli.err.find("combined 2 adapters (cat)"), std::string::npos) << cli.err;
  EXPECT_TRUE(std::filesystem::exists(dir.file("merged_cat/model.safetensors")));
  const auto wrong = pft::test::run_pft({"export", "--merge", dir.file("a"), "--merge",
                                         dir.file("b"), "--weights", "1", "--model",
                                         dir.file("t5"), "--output", dir.file("x")});
  EXPECT_EQ(wrong.exit_code, 2) << wrong.err;
  EXPECT_NE(wrong.err.find("--weights: 1 weights for 2 adapters"), std::string::npos) << wrong.err;
}

// pissa_niter_N: PiSSA from torch.svd_lowrank's randomized SVD (seeded). Its residual weights
// are random, so the adapter is saved converted to a plain LoRA of rank 2r relative to the
// original weights ([A; A0], [B, -B0]; r, lora_alpha and the patterns scaled as PEFT's
// path_initial_model_for_weight_conversion scales them), which pft and PEFT load on the
// original base model with the trained model's logits.
TEST_F(LoraVariantsParity, PissaNiterIsSavedConvertedAndLoadsInPeft) {
  const auto ref = reference("dora");
  Tensors inputs{{"input_ids", ref.at("input_ids")}, {"attention_mask", ref.at("attention_mask")}};
  const std::string inputs_file = dir_->file("niter_inputs.safetensors");
  pft::io::save_safetensors(inputs_file, inputs);
  auto base = load(model_dir(), nullptr);
  const auto base_logits = base.logits(inputs);
  std::vector<std::string> args{"load"};
  std::map<std::string, torch::Tensor> mine;
  const std::vector<std::string> names{"niter", "niter_rslora"};
  for (const auto& name : names) {
    SCOPED_TRACE(name);
    auto pc = case_config("pissa");
    auto& lora = pc.get<pft::peft::LoraConfig>();
    lora.init_lora_weights = "pissa_niter_2";
    const bool rslora = name == "niter_rslora";
    lora.use_rslora = rslora;
    if (!rslora) {
      lora.rank_pattern = {{"value", 2}};
      lora.alpha_pattern = {{"query", 5}};
    }
    torch::manual_seed(11);
    auto l = load(model_dir(), pft::peft::make_method(pc));
    // At initialisation the residual plus B0 A0 is the original function.
    EXPECT_LE(max_abs_diff(l.logits(inputs), base_logits), 1e-5);
    // Seeded: the same seed draws the same decomposition, another seed another one.
    const auto first_a = l.adapted.trainable().front().second.detach().clone();
    torch::manual_seed(11);
    auto same = load(model_dir(), pft::peft::make_method(pc));
    EXPECT_TRUE(torch::equal(same.adapted.trainable().front().second, first_a));
    torch::manual_seed(12);
    auto other = load(model_dir(), pft::peft::make_method(pc));
    EXPECT_FALSE(torch::equal(other.adapted.trainable().front().second, first_a));

    torch::manual_seed(5);
    {
      torch::NoGradGuard no_grad;
      for (auto& [n, t] : l.adapted.trainable()) t.add_(torch::randn_like(t) * 0.3);
    }
    mine[name] = l.logits(inputs);
    EXPECT_GT(max_abs_diff(mine[name], base_logits), 1e-3);
    const std::string out = dir_->file("pft_" + name);
    pft::peft::save_adapter(l.adapted, out);
    const auto config = nlohmann::json::parse(pft::read_file(out + "/adapter_config.json"));
    EXPECT_EQ(config["r"], 8);
    EXPECT_DOUBLE_EQ(config["lora_alpha"].get<double>(), rslora ? 8 * std::sqrt(2.0) : 16.0);
    EXPECT_EQ(config["init_lora_weights"], true);
    const auto saved = pft::io::read_safetensors(out + "/adapter_model.safetensors").tensors;
    const std::string prefix = "base_model.model.bert.encoder.layer.0.attention.self.";
    ASSERT_EQ(saved.count(prefix + "query.lora_A.weight"), 1u);
    EXPECT_EQ(saved.at(prefix + "query.lora_A.weight").size(0), 8);
    EXPECT_EQ(saved.at(prefix + "query.lora_B.weight").size(1), 8);
    if (!rslora) {
      EXPECT_EQ(config["rank_pattern"]["value"], 4);
      EXPECT_DOUBLE_EQ(config["alpha_pattern"]["query"].get<double>(), 10.0);
      EXPECT_EQ(saved.at(prefix + "value.lora_A.weight").size(0), 4);
    }
    // The converted adapter on the original base model is the trained model.
    auto again = load(model_dir(), pft::peft::method_from_adapter(out));
    pft::peft::load_adapter(again.adapted, out);
    const double back = max_abs_diff(again.logits(inputs), mine[name]);
    std::cout << "[pissa_niter pft->pft] " << name << " max abs diff " << back << "\n";
    EXPECT_LE(back, 1e-5);
    args.insert(args.end(), {model_dir(), out, inputs_file, out + "/peft.safetensors"});
  }
  const auto r = pft::test::run_python("peft_methods_reference.py", args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const auto& name : names) {
    const auto theirs =
        pft::io::read_safetensors(dir_->file("pft_" + name) + "/peft.safetensors").tensors;
    const double diff = max_abs_diff(mine[name], theirs.at("logits"));
    std::cout << "[pissa_niter pft->peft] " << name << " max abs diff " << diff << "\n";
    EXPECT_LE(diff, 1e-5) << name;
  }
  // With DoRA the conversion cannot hold the magnitudes: refused by the config check.
  pft::config::PeftConfig dora = case_config("dora");
  dora.get<pft::peft::LoraConfig>().init_lora_weights = "pissa_niter_4";
  const auto problems = dora.get<pft::peft::LoraConfig>().check(dora);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].first, "peft.init_lora_weights");
  dora.get<pft::peft::LoraConfig>().use_dora = false;
  dora.get<pft::peft::LoraConfig>().init_lora_weights = "pissa_niter_";
  EXPECT_EQ(dora.get<pft::peft::LoraConfig>().check(dora).size(), 1u);
}
