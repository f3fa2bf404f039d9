// Model families of the registry against live transformers and PEFT
// (tests/python/family_reference.py writes the checkpoints, outputs and adapters): for each
// family and each of its reference configs, every head's logits and the encoder's last
// hidden state on a right-padded batch (teacher-forced for encoder-decoders); PEFT-made
// LoRA, prefix-tuning, prompt-tuning and IA3 adapters in pft, pft-made ones in PEFT (on the
// family's first head: the sequence classifier of encoders), and `pft export --merge` of
// every head read back by transformers. Tolerance: fp32 max abs diff <= 1e-5.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pft/io/safetensors.h"
#include "pft/model/interfaces.h"
#include "pft/model/registry.h"
#include "pft/peft/method.h"
#include "pft/peft/registry.h"
#include "pft/task/hooked_model.h"
#include "pft/util/error.h"
#include "support/compare.h"
#include "support/test_util.h"

namespace {

namespace fs = std::filesystem;
using Tensors = std::map<std::string, torch::Tensor>;

constexpr double kTolerance = 1e-5;
const std::vector<std::string> kFamilies = {"roberta",    "xlm-roberta", "electra",
                                            "distilbert", "modernbert",  "deberta-v2",
                                            "mt5",        "umt5"};
const std::vector<std::string> kMethods = {"lora", "prefix_tuning", "prompt_tuning", "ia3"};

using pft::test::max_abs_diff;

// The head's output for the batch, through `hooks` (no method: the plain model).
torch::Tensor logits_of(const pft::model::LoadedModel& m, const pft::task::ModelHooks& hooks,
                        const Tensors& in) {
  torch::NoGradGuard no_grad;
  const auto& ids = in.at("input_ids");
  const auto& mask = in.at("attention_mask");
  if (auto* lm = m.as<pft::model::EncoderDecoderLM>()) {
    return pft::task::seq2seq_logits(*lm, hooks, ids, mask, in.at("decoder_input_ids"),
                                     in.at("decoder_attention_mask"));
  }
  if (auto* c = m.as<pft::model::SequenceClassifier>()) {
    return c->classify(hooks.inputs(*c, ids, mask).view());
  }
  if (auto* c = m.as<pft::model::TokenClassifier>()) {
    return c->classify_tokens(hooks.inputs(*c, ids, mask).view());
  }
  if (auto* c = m.as<pft::model::MaskedLM>()) {
    return c->predict(c->encode(hooks.inputs(*c, ids, mask).view()));
  }
  ADD_FAILURE() << "the model offers none of the encoder interfaces";
  return {};
}

// Prefix tuning needs a model that takes cached keys/values (DistilBERT does not).
bool applies(const std::string& method, const pft::model::LoadedModel& model) {
  return method != "prefix_tuning" || model.info.takes_key_value_prefixes;
}

class FamilyParity : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new pft::test::TempDir();
    std::vector<std::string> args{"make", dir_->path()};
    args.insert(args.end(), kFamilies.begin(), kFamilies.end());
    const auto r = pft::test::run_python("family_reference.py", args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  // The reference configs of a family: TYPE-0, TYPE-1, ...
  static std::vector<std::string> configs(const std::string& type) {
    std::vector<std::string> out;
    for (int n = 0; fs::exists(dir_->file(type + "-" + std::to_string(n))); ++n) {
      out.push_back(dir_->file(type + "-" + std::to_string(n)));
    }
    return out;
  }
  static pft::model::LoadedModel load(const std::string& type, pft::model::Head head,
                                      const std::string& folder) {
    pft::model::LoadRequest request;
    request.path = folder + "/" + pft::model::head_name(head);
    request.head = head;
    return registry().at(type, "test").heads.at(head)(request);
  }
  static const pft::model::FamilyRegistry& registry() {
    static const auto r = pft::model::builtin_families();
    return r;
  }
  static inline pft::test::TempDir* dir_ = nullptr;
};

TEST_F(FamilyParity, EveryHeadAndTheHiddenStatesEqualTransformers) {
  for (const auto& type : kFamilies) {
    const auto folders = configs(type);
    ASSERT_GE(folders.size(), 2u) << type;
    const auto& family = registry().at(type, "test");
    for (const auto& folder : folders) {
      SCOPED_TRACE(folder);
      const auto ref = pft::io::read_safetensors(folder + "/outputs.safetensors").tensors;
      for (const auto& [head, loader] : family.heads) {
        const auto name = pft::model::head_name(head);
        SCOPED_TRACE(name);
        const auto model = load(type, head, folder);
        const double diff =
            max_abs_diff(logits_of(model, pft::task::ModelHooks(), ref), ref.at(name + ".logits"));
        std::cout << "[family] " << fs::path(folder).filename().string() << " " << name
                  << " logits max abs diff " << diff << "\n";
        EXPECT_LE(diff, kTolerance);
        torch::Tensor hidden;
        {
          torch::NoGradGuard no_grad;
          const auto& mask = ref.at("attention_mask");
          if (auto* mlm = model.as<pft::model::MaskedLM>()) {
            hidden = mlm->encode({mlm->embed(ref.at("input_ids")), mask, {}, nullptr});
          } else if (auto* lm = model.as<pft::model::EncoderDecoderLM>()) {
            hidden = lm->encode({lm->embed(ref.at("input_ids")), mask, {}, nullptr});
          }
        }
        if (hidden.defined()) {
          const double h = max_abs_diff(hidden, ref.at("hidden"));
          std::cout << "[family] " << fs::path(folder).filename().string()
                    << " last hidden state max abs diff " << h << "\n";
          EXPECT_LE(h, kTolerance);
        }
      }
    }
  }
}

TEST_F(FamilyParity, AdaptersMadeByPeftGiveItsLogits) {
  for (const auto& type : kFamilies) {
    const auto head = registry().at(type, "test").heads.begin()->first;
    const auto folder = configs(type).at(0);
    const auto ref = pft::io::read_safetensors(folder + "/outputs.safetensors").tensors;
    const auto base = logits_of(load(type, head, folder), pft::task::ModelHooks(), ref);
    for (const auto& method : kMethods) {
      SCOPED_TRACE(type + " " + method);
      const auto adapter = folder + "/peft_" + method + "/adapter";
      const auto model = load(type, head, folder);
      if (!applies(method, model)) continue;  // PEFT made none either
      auto adapted =
          pft::peft::attach_method(model.module, pft::peft::method_from_adapter(adapter), model.info);
      pft::peft::load_adapter(adapted, adapter);
      adapted.model->eval();
      const auto want =
          pft::io::read_safetensors(folder + "/peft_" + method + "/logits.safetensors")
              .tensors.at("logits");
      const auto got = logits_of(model, pft::task::ModelHooks(adapted.method.get()), ref);
      const double diff = max_abs_diff(got, want);
      std::cout << "[peft->pft] " << type << " " << method << " max abs diff " << diff << "\n";
      EXPECT_LE(diff, kTolerance);
      EXPECT_GT(max_abs_diff(base, want), 1e-3) << "the adapter should change the logits";
    }
  }
}

TEST_F(FamilyParity, AdaptersMadeByPftLoadInPeftWithTheSameLogits) {
  for (const auto& type : kFamilies) {
    const auto head = registry().at(type, "test").heads.begin()->first;
    const auto folder = configs(type).at(0);
    const auto inputs = folder + "/outputs.safetensors";
    const auto ref = pft::io::read_safetensors(inputs).tensors;
    // Every method's adapter, then one Python run reads them all.
    std::vector<std::string> args{"load", folder + "/" + pft::model::head_name(head),
                                  pft::model::head_name(head), inputs};
    std::map<std::string, torch::Tensor> mine;
    for (const auto& method : kMethods) {
      pft::peft::PeftConfig pc;
      pc.method = method;
      pc.num_virtual_tokens = 5;
      pc.get<pft::peft::LoraConfig>().r = 4;
      pc.get<pft::peft::LoraConfig>().lora_alpha = 8;
      const auto model = load(type, head, folder);
      if (!applies(method, model)) {
        // Refused with a config error naming the method, as PEFT cannot run it either.
        EXPECT_THROW(pft::peft::attach_method(model.module, pft::peft::make_method(pc), model.info),
                     pft::Error);
        continue;
      }
      auto adapted = pft::peft::attach_method(model.module, pft::peft::make_method(pc), model.info);
      torch::manual_seed(5);
      {
        torch::NoGradGuard no_grad;
        for (auto& [name, t] : adapted.trainable()) t.add_(torch::randn_like(t) * 0.3);
      }
      adapted.model->eval();
      mine[method] = logits_of(model, pft::task::ModelHooks(adapted.method.get()), ref);
      const auto out = dir_->file("pft_" + type + "_" + method);
      pft::peft::save_adapter(adapted, out + "/adapter");
      args.push_back(out + "/adapter");
    }
    const auto r = pft::test::run_python("family_reference.py", args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (const auto& method : kMethods) {
      SCOPED_TRACE(type + " " + method);
      if (mine.count(method) == 0) continue;
      const auto theirs =
          pft::io::read_safetensors(dir_->file("pft_" + type + "_" + method + "/peft.safetensors"))
              .tensors.at("logits");
      const double diff = max_abs_diff(mine.at(method), theirs);
      std::cout << "[pft->peft] " << type << " " << method << " max abs diff " << diff << "\n";
      EXPECT_LE(diff, kTolerance);
    }
  }
}

// The largest |value| of a nested JSON array of numbers.
double largest_abs(const nlohmann::json& j) {
  if (!j.is_array()) return std::abs(j.get<double>());
  double out = 0.0;
  for (const auto& e : j) out = std::max(out, largest_abs(e));
  return out;
}

TEST_F(FamilyParity, MergedExportsOfEveryHeadLoadInTransformers) {
  for (const auto& type : kFamilies) {
    const auto folder = configs(type).at(0);
    std::vector<std::string> exports;
    std::vector<double> self_checks;
    for (const auto& [head, loader] : registry().at(type, "test").heads) {
      const auto name = pft::model::head_name(head);
      SCOPED_TRACE(type + " " + name);
      // A LoRA adapter made by pft for this head, with non-zero B.
      pft::peft::PeftConfig pc;
      pc.method = "lora";
      const auto model = load(type, head, folder);
      auto adapted = pft::peft::attach_method(model.module, pft::peft::make_method(pc), model.info);
      // (Every LoRA tensor moved by N(0, 0.1) noise, so that merging changes the weights; the
      // merge's rounding is bounded below relative to the logits.)
      torch::manual_seed(9);
      {
        torch::NoGradGuard no_grad;
        for (auto& [n, t] : adapted.trainable()) t.add_(torch::randn_like(t) * 0.1);
      }
      const auto adapter = dir_->file("merge_" + type + "_" + name);
      pft::peft::save_adapter(adapted, adapter);
      const auto out = adapter + "-merged";
      const auto r = pft::test::run_pft({"export", "--merge", adapter, "--model",
                                         folder + "/" + name, "--output", out, "--check-file",
                                         out + ".check.json", "--threads", "1"});
      ASSERT_EQ(r.exit_code, 0) << r.err;
      const std::string marker = "max |merged - unmerged| logits: ";
      const auto at = r.out.find(marker);
      ASSERT_NE(at, std::string::npos) << r.out;
      self_checks.push_back(std::stod(r.out.substr(at + marker.size())));
      exports.push_back(out);
    }
    std::vector<std::string> args{"export"};
    for (const auto& out : exports) args.insert(args.end(), {out, out + ".check.json"});
    const auto py = pft::test::run_python("peft_methods_reference.py", args);
    ASSERT_EQ(py.exit_code, 0) << py.err;
    std::istringstream lines(py.out);
    for (std::size_t i = 0; i < exports.size(); ++i) {
      SCOPED_TRACE(exports[i]);
      std::string line;
      ASSERT_TRUE(std::getline(lines, line)) << py.out;
      const auto result = nlohmann::json::parse(line);
      // transformers on the export computes what pft computes with the merged weights...
      const double merged = result["max_abs_diff_merged"].get<double>();
      EXPECT_LE(merged, kTolerance);
      // ...and that is the unmerged model's function up to the rounding of W + s*B*A, which
      // grows with the logits (mT5's are unscaled, tens): within 1e-5 or 1e-6 of the largest
      // logit, whichever is larger.
      const double diff = result["max_abs_diff"].get<double>();
      std::ifstream check_file(exports[i] + ".check.json");
      const double largest = largest_abs(nlohmann::json::parse(check_file)["unmerged_logits"]);
      const double bound = std::max(kTolerance, 1e-6 * largest);
      std::cout << "[export] " << fs::path(exports[i]).filename().string()
                << ": transformers on the merged export vs pft merged " << merged
                << ", vs pft unmerged " << diff << " (pft's own merged vs unmerged "
                << self_checks[i] << "; largest |logit| " << largest << ", bound " << bound
                << ")\n";
      EXPECT_LE(diff, bound);
      EXPECT_LE(self_checks[i], bound);
    }
  }
}

}  // namespace
