// `pft generate --adapter` against transformers + peft generate() on a tiny random T5 with
// T5's real vocabulary (tests/python/generate_adapter_reference.py): the generated token ids
// of greedy and beam search are equal, for adapters made by PEFT and for adapters pft trained,
// with LoRA, prefix tuning, prompt tuning and IA3.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>

#include "pft/util/fs.h"
#include "support/test_util.h"

namespace {

using json = nlohmann::json;
using Ids = std::vector<std::vector<std::int64_t>>;

const std::vector<std::string> kMethods = {"lora", "prefix_tuning", "prompt_tuning", "ia3"};

class GenerateAdapter : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new pft::test::TempDir();
    const auto r = pft::test::run_python(
        "generate_adapter_reference.py",
        {"make", pft::test::shared_data("tokenizers/t5-small/spiece.model"), dir_->path()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  static std::string model() { return dir_->file("model"); }
  static std::string prompts() { return dir_->file("prompts.jsonl"); }

  /// What `pft generate --adapter` generates for the prompts, in one batch (padded).
  static Ids pft_ids(const std::string& adapter, bool beam) {
    const auto out = adapter + (beam ? "/pft_beam.jsonl" : "/pft_greedy.jsonl");
    const auto r = pft::test::run_pft({"generate", "--model", model(), "--adapter", adapter,
                                       "--input", prompts(), "--output", out, "--with-ids",
                                       "--max-new-tokens", "8", "--no-repeat-ngram-size", "1",
                                       "--num-beams", beam ? "3" : "1", "--compute-type",
                                       "float32", "--threads", "1"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    Ids ids;
    std::ifstream in(out);
    for (std::string line; std::getline(in, line);) {
      ids.push_back(json::parse(line)["generated_ids"].get<std::vector<std::int64_t>>());
    }
    return ids;
  }

  static void expect_same(const std::string& adapter, const std::string& what) {
    const auto expected = json::parse(pft::read_file(adapter + "/expected.json"));
    for (const bool beam : {false, true}) {
      const auto ours = pft_ids(adapter, beam);
      const auto theirs = expected[beam ? "beam" : "greedy"].get<Ids>();
      ASSERT_EQ(ours.size(), theirs.size());
      std::size_t tokens = 0;
      for (const auto& row : ours) tokens += row.size();
      std::cout << "[generate] " << what << (beam ? " beam: " : " greedy: ") << ours.size()
                << " prompts, " << tokens << " tokens, "
                << (ours == theirs ? "ids equal" : "ids DIFFER") << "\n";
      EXPECT_EQ(ours, theirs) << what << (beam ? " (beam)" : " (greedy)");
    }
  }

  static inline pft::test::TempDir* dir_ = nullptr;
};

TEST_F(GenerateAdapter, PeftMadeAdaptersGenerateTransformersIds) {
  for (const auto& method : kMethods) {
    SCOPED_TRACE(method);
    expect_same(dir_->file("peft_" + method), "PEFT-made " + method);
  }
}

TEST_F(GenerateAdapter, PftTrainedAdaptersGenerateTheSameIdsInPeft) {
  const auto data = dir_->file("train.jsonl");
  pft::test::write_text(data,
                        pft::test::head_lines(pft::test::shared_data("multi30k/train.jsonl"), 16));
  std::vector<std::string> adapters;
  for (const auto& method : kMethods) {
    SCOPED_TRACE(method);
    const auto run_dir = dir_->file("run_" + method);
    json config = {{"model", {{"path", model()}}},
                   {"task", {{"type", "seq2seq"}}},
                   {"data", {{"train", data}}},
                   {"peft", {{"method", method}, {"num_virtual_tokens", 4}, {"r", 4}}},
                   {"train",
                    {{"max_steps", 3},
                     {"batch_size", 4},
                     {"lr", 0.05},
                     {"seed", 1},
                     {"output_dir", run_dir}}}};
    const auto config_file = dir_->file("config_" + method + ".json");
    pft::test::write_text(config_file, config.dump(2));
    const auto r = pft::test::run_pft({"train", "--config", config_file, "--threads", "1"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    adapters.push_back(run_dir + "/adapter");
  }
  std::vector<std::string> args{"generate", model(), prompts()};
  args.insert(args.end(), adapters.begin(), adapters.end());
  ASSERT_EQ(pft::test::run_python("generate_adapter_reference.py", args).exit_code, 0);
  for (std::size_t i = 0; i < kMethods.size(); ++i) {
    SCOPED_TRACE(kMethods[i]);
    expect_same(adapters[i], "pft-trained " + kMethods[i]);
  }
}

}  // namespace
