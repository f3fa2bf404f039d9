// Bad PEFT settings through the CLI: each is an error that names the key at fault, exit 2.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "support/fixture_cache.h"
#include "support/test_util.h"

using nlohmann::json;
using pft::test::run_pft;

namespace {

class PeftErrors : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new pft::test::TempDir();
    const std::string vocab = pft::test::shared_data("tokenizers/bert-base-uncased/vocab.txt");
    // Other models (a T5, a narrower BERT) are made by the tests that need them.
    // Written once per build folder and shared by this suite's test processes (read-only).
    ASSERT_TRUE(pft::test::link_cached_fixture(dir_->file("bert32"), "make_tiny_bert.py", {vocab}));
    std::string data;
    for (int i = 0; i < 8; ++i) {
      data += json({{"text", i % 2 ? "a fine film" : "a dull film"},
                    {"label", i % 2 ? "positive" : "negative"}})
                  .dump() +
              "\n";
    }
    pft::test::write_text(dir_->file("data.jsonl"), data);
    const json config = {
        {"model", {{"path", dir_->file("bert32")}}},
        {"data", {{"train", dir_->file("data.jsonl")}, {"eval", dir_->file("data.jsonl")}}},
        {"task", {{"labels", {"negative", "positive"}}}},
        {"peft", {{"method", "lora"}}},
        {"train", {{"max_steps", 1}, {"batch_size", 4}}},
    };
    pft::test::write_text(dir_->file("run.json"), config.dump(2));
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static pft::test::RunResult train(const std::string& out, std::vector<std::string> sets) {
    std::vector<std::string> args{
        "train", "--config", dir_->file("run.json"), "--output", dir_->file(out), "--threads", "1"};
    for (const auto& s : sets) {
      args.push_back("--set");
      args.push_back(s);
    }
    return run_pft(args);
  }
  static void expect_config_error(const pft::test::RunResult& r,
                                  const std::vector<std::string>& words) {
    EXPECT_EQ(r.exit_code, 2) << r.err;
    for (const auto& w : words)
      EXPECT_NE(r.err.find(w), std::string::npos) << "'" << w << "' not in: " << r.err;
  }
  static inline pft::test::TempDir* dir_ = nullptr;
};

}  // namespace

TEST_F(PeftErrors, UnknownMethodListsTheKnownOnes) {
  expect_config_error(train("e1", {"peft.method=lorra"}),
                      {"peft.method", "lorra", "lora", "ia3", "bitfit", "adapter"});
}

TEST_F(PeftErrors, TargetsMatchingNothingListTheLayers) {
  expect_config_error(train("e2", {"peft.method=ia3", "peft.target_modules=[\"qery\"]"}),
                      {"peft.target_modules", "qery", "query", "output.dense"});
  expect_config_error(train("e3", {"peft.method=lora", "peft.target_modules=[\"qery\"]"}),
                      {"peft.target_modules", "query"});
}

TEST_F(PeftErrors, RankZero) { expect_config_error(train("e4", {"peft.r=0"}), {"peft.r"}); }

TEST_F(PeftErrors, BitFitOnAModelWithoutBiases) {
  ASSERT_EQ(
      pft::test::run_python("peft_methods_reference.py", {"make", dir_->file("t5"), "t5:lora"})
          .exit_code,
      0);
  ASSERT_EQ(train("bitfit", {"peft.method=bitfit"}).exit_code, 0);
  const auto r =
      run_pft({"export", "--merge", dir_->file("bitfit/adapter"), "--model",
               dir_->file("t5/t5_model"), "--output", dir_->file("never"), "--threads", "1"});
  expect_config_error(r, {"peft.method", "bitfit", "bias"});
  EXPECT_FALSE(std::filesystem::exists(dir_->file("never")));
}

TEST_F(PeftErrors, AdapterForAnotherBaseModel) {
  const std::string vocab = pft::test::shared_data("tokenizers/bert-base-uncased/vocab.txt");
  ASSERT_EQ(
      pft::test::run_python("make_tiny_bert.py", {dir_->file("bert16"), vocab, "16"}).exit_code, 0);
  for (const std::string method : {"adapter", "lora", "ia3"}) {
    SCOPED_TRACE(method);
    ASSERT_EQ(train("other-" + method, {"peft.method=" + method}).exit_code, 0);
    const auto r =
        run_pft({"eval", "--config", dir_->file("run.json"), "--model", dir_->file("bert16"),
                 "--adapter", dir_->file("other-" + method + "/adapter"), "--threads", "1"});
    // Bottleneck adapters name hidden_size in adapter_config.json; the others the tensor.
    expect_config_error(r,
                        {method == "adapter" ? "hidden_size" : "has shape", "another base model"});
  }
}
