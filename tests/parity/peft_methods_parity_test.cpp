// LoRA and IA3 against live Hugging Face PEFT, on a tiny random BertForSequenceClassification
// and a tiny random T5ForConditionalGeneration (teacher-forced, padded batch):
// tests/python/peft_methods_reference.py makes adapters with non-zero weights in Python; pft
// loads them and must compute the same logits, and adapters saved by pft must load in
// PeftModel.from_pretrained with the same logits. Merging must not change the function.
// Tolerance: fp32 max abs diff <= 1e-5.

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pft/app/export.h"
#include "pft/app/run.h"
#include "pft/io/safetensors.h"
#include "pft/model/bert/family.h"
#include "pft/model/bert/loader.h"
#include "pft/model/t5/family.h"
#include "pft/model/t5/t5.h"
#include "pft/peft/method.h"
#include "pft/peft/registry.h"
#include "pft/task/sequence_classification.h"
#include "support/compare.h"
#include "support/test_util.h"

namespace {

constexpr double kTolerance = 1e-5;
using Tensors = std::map<std::string, torch::Tensor>;

using pft::test::max_abs_diff;

struct Loaded {
  pft::peft::AdaptedModel adapted;
  std::function<torch::Tensor(const Tensors&)> logits;
};

Loaded load(const std::string& kind, const std::string& model_dir,
            std::unique_ptr<pft::peft::PeftMethod> method) {
  Loaded l;
  if (kind == "bert") {
    pft::model::BertLoadInfo info;
    auto model = pft::model::load_bert_for_sequence_classification(model_dir, {}, &info);
    l.adapted = pft::peft::attach_method(
        model.ptr(), std::move(method),
        pft::model::bert_model_info(info.config, model_dir,
                                    pft::model::Head::SequenceClassification));
    l.logits = [model](const Tensors& in) mutable {
      torch::NoGradGuard no_grad;
      return model->forward_ids(in.at("input_ids"), in.at("attention_mask"));
    };
  } else {
    auto model = pft::model::load_t5(model_dir);
    l.adapted = pft::peft::attach_method(model.ptr(), std::move(method),
                                         pft::model::t5_model_info(model->config(), model_dir));
    l.logits = [model](const Tensors& in) mutable {
      torch::NoGradGuard no_grad;
      return model
          ->forward_ids(in.at("input_ids"), in.at("attention_mask"), in.at("decoder_input_ids"),
                        in.at("decoder_attention_mask"))
          .logits;
    };
  }
  l.adapted.model->eval();
  return l;
}

class PeftMethodsParity : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new pft::test::TempDir();
    std::vector<std::string> args{"make", dir_->path()};
    for (const auto& c : cases()) args.push_back(c.first + ":" + c.second);
    const auto r = pft::test::run_python("peft_methods_reference.py", args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::vector<std::pair<std::string, std::string>> cases() {
    return {{"bert", "ia3"}, {"bert", "lora"}, {"t5", "lora"}, {"t5", "ia3"}};
  }
  static std::string case_dir(const std::pair<std::string, std::string>& c) {
    return dir_->file(c.first + "_" + c.second);
  }
  static std::string model_dir(const std::string& kind) { return dir_->file(kind + "_model"); }
  static Tensors reference(const std::pair<std::string, std::string>& c) {
    return pft::io::read_safetensors(case_dir(c) + "/reference.safetensors").tensors;
  }
  static inline pft::test::TempDir* dir_ = nullptr;
};

}  // namespace

TEST_F(PeftMethodsParity, AdaptersFromPythonPeftGiveTheSameLogits) {
  for (const auto& c : cases()) {
    SCOPED_TRACE(c.first + ":" + c.second);
    const std::string adapter = case_dir(c) + "/adapter";
    auto l = load(c.first, model_dir(c.first), pft::peft::method_from_adapter(adapter));
    pft::peft::load_adapter(l.adapted, adapter);
    const auto ref = reference(c);
    const auto got = l.logits(ref);
    const double diff = max_abs_diff(got, ref.at("logits"));
    std::cout << "[peft->pft] " << c.first << ":" << c.second << " max abs diff " << diff << "\n";
    EXPECT_LE(diff, kTolerance);
    // Non-trivial: the adapter moves the logits well beyond the tolerance.
    auto base = load(c.first, model_dir(c.first), nullptr);
    EXPECT_GT(max_abs_diff(base.logits(ref), ref.at("logits")), 1e-3);
  }
}

TEST_F(PeftMethodsParity, AdaptersSavedByPftLoadInPythonPeft) {
  for (const auto& c : cases()) {
    SCOPED_TRACE(c.first + ":" + c.second);
    pft::config::PeftConfig pc;
    pc.method = c.second;
    pc.get<pft::peft::LoraConfig>().r = 4;
    pc.get<pft::peft::LoraConfig>().lora_alpha = 8;
    auto l = load(c.first, model_dir(c.first), pft::peft::make_method(pc));
    torch::manual_seed(5);
    {
      torch::NoGradGuard no_grad;
      for (auto& [name, t] : l.adapted.trainable()) t.add_(torch::randn_like(t) * 0.3);
    }
    const std::string out = dir_->file("pft_" + c.first + "_" + c.second);
    pft::peft::save_adapter(l.adapted, out + "/adapter");
    const auto ref = reference(c);
    Tensors inputs;
    for (const auto& [name, t] : ref) {
      if (name != "logits") inputs[name] = t;
    }
    pft::io::save_safetensors(out + "/inputs.safetensors", inputs);
    const auto mine = l.logits(inputs);
    const auto r = pft::test::run_python("peft_methods_reference.py",
                                         {"load", model_dir(c.first), out + "/adapter",
                                          out + "/inputs.safetensors", out + "/peft.safetensors"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto theirs = pft::io::read_safetensors(out + "/peft.safetensors").tensors.at("logits");
    const double diff = max_abs_diff(mine, theirs);
    std::cout << "[pft->peft] " << c.first << ":" << c.second << " max abs diff " << diff << "\n";
    EXPECT_LE(diff, kTolerance);
  }
}

TEST_F(PeftMethodsParity, MergedEqualsUnmerged) {
  for (const auto& c : cases()) {
    SCOPED_TRACE(c.first + ":" + c.second);
    const std::string adapter = case_dir(c) + "/adapter";
    auto l = load(c.first, model_dir(c.first), pft::peft::method_from_adapter(adapter));
    pft::peft::load_adapter(l.adapted, adapter);
    const auto ref = reference(c);
    const auto unmerged = l.logits(ref);
    ASSERT_TRUE(l.adapted.method->can_merge());
    const double change = l.adapted.method->merge();
    EXPECT_GT(change, 1e-3);
    const auto merged = l.logits(ref);
    const double diff = max_abs_diff(merged, unmerged);
    std::cout << "[merge] " << c.first << ":" << c.second << " largest weight change " << change
              << ", merged vs unmerged max abs diff " << diff << "\n";
    EXPECT_LE(diff, kTolerance);
    EXPECT_EQ(l.adapted.method->merge(), 0.0);  // idempotent
    l.adapted.method->unmerge();
    EXPECT_LE(max_abs_diff(l.logits(ref), unmerged), kTolerance);
  }
}

TEST_F(PeftMethodsParity, ExportedMergedCheckpointsLoadInTransformers) {
  for (const auto& c : cases()) {
    SCOPED_TRACE(c.first + ":" + c.second);
    const std::string out = dir_->file("export_" + c.first + "_" + c.second);
    const auto r = pft::test::run_pft({"export", "--merge", case_dir(c) + "/adapter", "--model",
                                       model_dir(c.first), "--output", out, "--check-file",
                                       out + ".check.json", "--threads", "1"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string marker = "max |merged - unmerged| logits: ";
    const auto at = r.out.find(marker);
    ASSERT_NE(at, std::string::npos) << r.out;
    const double self_check = std::stod(r.out.substr(at + marker.size()));
    EXPECT_LE(self_check, kTolerance);
    for (const char* f : {"config.json", "model.safetensors"})
      EXPECT_TRUE(std::filesystem::exists(out + "/" + f)) << f;
    const auto py =
        pft::test::run_python("peft_methods_reference.py", {"export", out, out + ".check.json"});
    ASSERT_EQ(py.exit_code, 0) << py.err;
    const auto result = nlohmann::json::parse(py.out);
    const double diff = result["max_abs_diff"].get<double>();
    std::cout << "[export] " << c.first << ":" << c.second << " pft merged vs unmerged "
              << self_check << ", transformers on the export vs pft unmerged " << diff << "\n";
    EXPECT_LE(diff, kTolerance);
  }
}

TEST_F(PeftMethodsParity, ExportRefusesAMergeThatChangesNothing) {
  pft::config::PeftConfig pc;
  pc.method = "lora";
  auto l = load("t5", model_dir("t5"), pft::peft::make_method(pc));  // LoRA B starts at zero
  const std::string adapter = dir_->file("zero_lora");
  pft::peft::save_adapter(l.adapted, adapter);
  const auto r = pft::test::run_pft({"export", "--merge", adapter, "--model", model_dir("t5"),
                                     "--output", dir_->file("zero_export"), "--threads", "1"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("changes no base weight"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir_->file("zero_export")));
}
