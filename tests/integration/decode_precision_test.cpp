// Reduced-precision decoding on a model that produces real text: pft trains a small T5 from
// scratch on Multi30k (English to German; its own SentencePiece vocabulary, trained by
// `pft tokenize --train-spm`), then translates held-out dev sentences greedily with the
// decoder's weights in float32, bfloat16 and int8; the reduced types keep BLEU within 0.5
// of float32's.

#include <gtest/gtest.h>

#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/test_util.h"

namespace {

using nlohmann::json;
using pft::test::run_pft;

constexpr int kTrainLines = 12000;  // of Multi30k train
constexpr int kDevLines = 300;      // of Multi30k dev
constexpr int kVocab = 1000;
constexpr int kSteps = 1200;

class DecodePrecision : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new pft::test::TempDir();
    const auto& d = *dir_;
    const auto train =
        pft::test::head_lines(pft::test::shared_data("multi30k/train.jsonl"), kTrainLines);
    pft::test::write_text(d.file("train.jsonl"), train);
    pft::test::write_text(
        d.file("dev.jsonl"),
        pft::test::head_lines(pft::test::shared_data("multi30k/dev.jsonl"), kDevLines));
    // The SentencePiece corpus: both sides of the training pairs.
    {
      std::ofstream corpus(d.file("corpus.txt"));
      std::istringstream lines(train);
      for (std::string line; std::getline(lines, line);) {
        const auto pair = json::parse(line);
        corpus << pair["source"].get<std::string>() << "\n"
               << pair["target"].get<std::string>() << "\n";
      }
    }
    auto r = run_pft({"tokenize", "--train-spm", d.file("corpus.txt"), "--vocab-size",
                      std::to_string(kVocab), "--model-prefix", d.file("spm")});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = pft::test::run_python("make_mt_model.py",
                              {d.file("model"), d.file("spm.model"), std::to_string(kVocab)});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const json config = {
        {"model", {{"path", d.file("model")}}},
        {"tokenizer", {{"max_length", 48}}},
        {"data", {{"train", d.file("train.jsonl")}, {"eval", d.file("dev.jsonl")}}},
        {"prompt", {{"template", "{source}"}}},
        {"task", {{"type", "seq2seq"}}},
        {"peft", {{"method", "full"}}},
        {"train",
         {{"output_dir", d.file("run")},
          {"lr", 2e-3},
          {"batch_size", 32},
          {"max_steps", kSteps},
          {"warmup_steps", 100},
          {"lr_scheduler", "linear"},
          {"log_every", 100},
          {"seed", 1}}},
        {"eval", {{"batch_size", 64}}},
        {"generate", {{"max_new_tokens", 40}, {"num_beams", 1}}}};
    pft::test::write_text(d.file("mt.json"), config.dump(2));
    // One thread: ctest runs two tests at once on CI's two cores.
    r = run_pft({"train", "--config", d.file("mt.json"), "--threads", "1", "--set", "data.eval="});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  // `pft eval` of the trained model on the dev lines, decoding with `compute_type`.
  static json eval(const std::string& compute_type) {
    const auto& d = *dir_;
    const auto r = run_pft(
        {"eval", "--config", d.file("mt.json"), "--adapter", d.file("run/adapter"), "--threads",
         "1", "--json", "--predictions", d.file("predictions-" + compute_type + ".jsonl"), "--set",
         "train.precision=fp32", "--set", "generate.compute_type=" + compute_type});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    if (r.exit_code != 0) return {};
    return json::parse(r.out);
  }

  static pft::test::TempDir* dir_;
};

pft::test::TempDir* DecodePrecision::dir_ = nullptr;

TEST_F(DecodePrecision, Int8AndBfloat16KeepBleuWithinHalfAPointOfFloat32) {
  std::map<std::string, double> bleu;
  std::map<std::string, std::vector<std::string>> texts;
  for (const std::string type : {"float32", "bfloat16", "int8"}) {
    const auto out = eval(type);
    ASSERT_TRUE(out.contains("metrics")) << out.dump();
    ASSERT_EQ(out["examples"].get<int>(), kDevLines);
    bleu[type] = out["metrics"]["bleu"].get<double>();
    std::ifstream in(dir_->file("predictions-" + type + ".jsonl"));
    for (std::string line; std::getline(in, line);) {
      texts[type].push_back(json::parse(line)["prediction"].get<std::string>());
    }
  }
  const auto same = [&](const std::string& type) {
    std::size_t n = 0;
    for (std::size_t i = 0; i < texts[type].size(); ++i) n += texts[type][i] == texts["float32"][i];
    return n;
  };
  std::cout << "BLEU on " << kDevLines << " Multi30k dev sentences: float32 " << bleu["float32"]
            << ", bfloat16 " << bleu["bfloat16"] << " (" << same("bfloat16")
            << " translations equal to float32's), int8 " << bleu["int8"] << " (" << same("int8")
            << " equal)\n"
            << "first translation: " << texts["float32"].front() << "\n";
  // Real text, not noise: a model that learned nothing scores near 0 (this one: about 6).
  EXPECT_GT(bleu["float32"], 3.0);
  EXPECT_NEAR(bleu["bfloat16"], bleu["float32"], 0.5);
  EXPECT_NEAR(bleu["int8"], bleu["float32"], 0.5);
  // The reduced weights were used: some translations differ.
  EXPECT_LT(same("int8"), texts["int8"].size());
}

}  // namespace
