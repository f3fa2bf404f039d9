// Each shipped task config (configs/sentiment_cloze.json, sentiment_t5.json, ner.json,
// translation.json) run by the built binary on tiny random checkpoints with real vocabularies
// and slices of the real shared data: a few training steps, then `pft eval` with the adapter,
// and zero-shot `pft eval` without one.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "pft/util/fs.h"
#include "support/test_util.h"

namespace fs = std::filesystem;
using nlohmann::json;
using pft::test::run_pft;

namespace {

std::string head_lines(const std::string& path, int lines) {
  std::ifstream in(path);
  std::string line, out;
  for (int i = 0; i < lines && std::getline(in, line); ++i) out += line + "\n";
  return out;
}

// The first `sentences` sentences of a CoNLL file (-DOCSTART- lines included).
std::string head_sentences(const std::string& path, int sentences) {
  std::ifstream in(path);
  std::string line, out;
  int done = 0;
  bool in_sentence = false;
  while (done < sentences && std::getline(in, line)) {
    out += line + "\n";
    if (line.empty()) {
      done += in_sentence ? 1 : 0;
      in_sentence = false;
    } else if (line.rfind("-DOCSTART-", 0) != 0) {
      in_sentence = true;
    }
  }
  return out;
}

std::size_t count_lines(const std::string& path) {
  std::ifstream in(path);
  std::size_t n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

std::vector<double> losses(const std::string& metrics_jsonl) {
  std::vector<double> out;
  std::ifstream in(metrics_jsonl);
  for (std::string line; std::getline(in, line);) {
    const auto j = json::parse(line);
    if (j.contains("loss")) out.push_back(j["loss"].get<double>());
  }
  return out;
}

class TaskConfigs : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new pft::test::TempDir();
    const auto r =
        pft::test::run_python("make_task_models.py", {dir_->path(), pft::test::shared_data()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto& d = *dir_;
    pft::test::write_text(d.file("sst_train.jsonl"),
                          head_lines(pft::test::shared_data("sst2/train.jsonl"), 64));
    pft::test::write_text(d.file("sst_dev.jsonl"),
                          head_lines(pft::test::shared_data("sst2/dev.jsonl"), 24));
    pft::test::write_text(d.file("conll_train.txt"),
                          head_sentences(pft::test::shared_data("conll2003/train.txt"), 48));
    pft::test::write_text(d.file("conll_dev.txt"),
                          head_sentences(pft::test::shared_data("conll2003/valid.txt"), 20));
    pft::test::write_text(d.file("m30k_train.jsonl"),
                          head_lines(pft::test::shared_data("multi30k/train.jsonl"), 48));
    pft::test::write_text(d.file("m30k_dev.jsonl"),
                          head_lines(pft::test::shared_data("multi30k/dev.jsonl"), 12));
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::string file(const std::string& name) { return dir_->file(name); }
  static std::string config(const std::string& name) {
    return pft::test::source_dir() + "/configs/" + name;
  }

  // `pft train` with the shipped config, a tiny model, the data slices and a few steps.
  static pft::test::RunResult train(const std::string& cfg, const std::string& model,
                                    const std::string& train, const std::string& eval,
                                    const std::string& run, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"train",
                                  "--config",
                                  config(cfg),
                                  "--output",
                                  file(run),
                                  "--threads",
                                  "1",
                                  "--set",
                                  "model.path=" + file(model),
                                  "--set",
                                  "data.train=" + file(train),
                                  "--set",
                                  "data.eval=" + file(eval),
                                  "--set",
                                  "train.max_steps=3",
                                  "--set",
                                  "train.batch_size=8",
                                  "--set",
                                  "train.log_every=1",
                                  "--set",
                                  "train.eval_every=0"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_pft(args);
  }
  // `pft eval --json`; returns the parsed output (empty on failure).
  static json eval(const std::string& cfg, const std::string& model, const std::string& data,
                   const std::string& predictions, const std::string& adapter,
                   std::vector<std::string> extra = {}) {
    std::vector<std::string> args{
        "eval",   "--config", config(cfg),     "--threads",
        "1",      "--json",   "--set",         "model.path=" + file(model),
        "--data", file(data), "--predictions", file(predictions)};
    if (!adapter.empty()) {
      args.push_back("--adapter");
      args.push_back(file(adapter));
    }
    args.insert(args.end(), extra.begin(), extra.end());
    const auto r = run_pft(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    if (r.exit_code != 0) return {};
    return json::parse(r.out);
  }
  static void expect_trained(const pft::test::RunResult& r, const std::string& run,
                             const std::string& metric) {
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto summary = json::parse(pft::read_file(file(run) + "/summary.json"));
    EXPECT_EQ(summary["steps"], 3);
    EXPECT_TRUE(fs::exists(file(run) + "/adapter/adapter_model.safetensors"));
    const auto l = losses(file(run) + "/metrics.jsonl");
    ASSERT_EQ(l.size(), 3u);
    for (const auto v : l) EXPECT_TRUE(std::isfinite(v) && v > 0) << v;
    std::cout << run << ": loss " << l.front() << " -> " << l.back() << "\n";
    const auto final_metrics = summary["final_metrics"];
    EXPECT_TRUE(final_metrics.contains(metric)) << summary.dump();
  }
  static void expect_metrics(const json& out, const std::vector<std::string>& names,
                             std::size_t examples, const std::string& predictions) {
    ASSERT_TRUE(out.contains("metrics")) << out.dump();
    EXPECT_EQ(out["examples"].get<std::size_t>(), examples);
    for (const auto& n : names) {
      ASSERT_TRUE(out["metrics"].contains(n)) << n << " in " << out.dump();
      const double v = out["metrics"][n];
      EXPECT_TRUE(v >= 0 && v <= (n == "bleu" ? 100.0 : 1.0)) << n << " = " << v;
    }
    EXPECT_EQ(count_lines(file(predictions)), examples);
    std::cout << out.dump() << "\n";
  }

  static inline pft::test::TempDir* dir_ = nullptr;
};

}  // namespace

TEST_F(TaskConfigs, ClozeTrainsEvaluatesAndRunsZeroShotWithCalibration) {
  expect_trained(train("sentiment_cloze.json", "mlm", "sst_train.jsonl", "sst_dev.jsonl", "cloze"),
                 "cloze", "accuracy");
  expect_metrics(
      eval("sentiment_cloze.json", "mlm", "sst_dev.jsonl", "cloze.jsonl", "cloze/adapter"),
      {"accuracy", "macro_f1", "micro_f1"}, 24, "cloze.jsonl");
  // Zero-shot: no adapter, no method.
  const auto zero = eval("sentiment_cloze.json", "mlm", "sst_dev.jsonl", "zero.jsonl", "",
                         {"--set", "peft.method=none"});
  expect_metrics(zero, {"accuracy", "macro_f1"}, 24, "zero.jsonl");
  // Calibrated: every line also holds calibrated scores, which sum (as probabilities) to one.
  const auto cal = eval("sentiment_cloze.json", "mlm", "sst_dev.jsonl", "cal.jsonl", "",
                        {"--set", "peft.method=none", "--set", "prompt.calibrate=true"});
  expect_metrics(cal, {"accuracy"}, 24, "cal.jsonl");
  std::ifstream in(file("cal.jsonl"));
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  const auto first = json::parse(line);
  ASSERT_TRUE(first.contains("calibrated")) << line;
  double mass = 0;
  for (const double v : first["calibrated"]) mass += std::exp(v);
  EXPECT_NEAR(mass, 1.0, 1e-5);
}

TEST_F(TaskConfigs, ClozeLossFallsWhenTrainingLonger) {
  // 40 steps (5 epochs of the 64 lines), LoRA also on the dense layers (the masked-LM head's
  // transform included), so that the tiny model can move its logits at [MASK].
  const auto r =
      train("sentiment_cloze.json", "mlm", "sst_train.jsonl", "sst_dev.jsonl", "cloze_long",
            {"--set", "train.max_steps=40", "--set", "train.lr=1e-2", "--set", "train.log_every=8",
             "--set", R"(peft.target_modules=["query","value","dense"])"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto l = losses(file("cloze_long") + "/metrics.jsonl");
  ASSERT_EQ(l.size(), 5u);
  std::cout << "cloze 40 steps: loss " << l.front() << " -> " << l.back() << "\n";
  EXPECT_LT(l.back(), l.front() - 0.03);
}

TEST_F(TaskConfigs, TextToTextTrainsAndPredictsByRankAndByGeneration) {
  expect_trained(train("sentiment_t5.json", "t5", "sst_train.jsonl", "sst_dev.jsonl", "t2t"), "t2t",
                 "accuracy");
  expect_metrics(eval("sentiment_t5.json", "t5", "sst_dev.jsonl", "t2t.jsonl", "t2t/adapter"),
                 {"accuracy", "macro_f1", "micro_f1"}, 24, "t2t.jsonl");
  const auto gen =
      eval("sentiment_t5.json", "t5", "sst_dev.jsonl", "t2t_gen.jsonl", "t2t/adapter",
           {"--set", "eval.predict_by=generate", "--set", "generate.max_new_tokens=4"});
  expect_metrics(gen, {"accuracy", "macro_f1"}, 24, "t2t_gen.jsonl");
  std::ifstream in(file("t2t_gen.jsonl"));
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  EXPECT_TRUE(json::parse(line).contains("generated")) << line;
  // Zero-shot too.
  expect_metrics(eval("sentiment_t5.json", "t5", "sst_dev.jsonl", "t2t_zero.jsonl", "",
                      {"--set", "peft.method=none"}),
                 {"accuracy"}, 24, "t2t_zero.jsonl");
}

TEST_F(TaskConfigs, PythonPeftLoadsTheT5AdapterWithTheSameRankScores) {
  expect_trained(train("sentiment_t5.json", "t5", "sst_train.jsonl", "sst_dev.jsonl", "t2t_py",
                       {"--set", "train.lr=1e-2"}),
                 "t2t_py", "accuracy");
  expect_metrics(eval("sentiment_t5.json", "t5", "sst_dev.jsonl", "t2t_py.jsonl", "t2t_py/adapter"),
                 {"accuracy"}, 24, "t2t_py.jsonl");
  const auto r = pft::test::run_python(
      "t5_rank_reference.py",
      {file("t5"), file("t2t_py/adapter"), file("sst_dev.jsonl"),
       "sst2 sentence: ", R"(["negative", "positive"])", file("t2t_py_ref.json")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto expected = json::parse(pft::read_file(file("t2t_py_ref.json")))["scores"];
  std::ifstream in(file("t2t_py.jsonl"));
  double diff = 0;
  std::size_t rows = 0;
  for (std::string line; std::getline(in, line); ++rows) {
    const auto got = json::parse(line);
    const auto& want = expected[got["index"].get<std::size_t>()];
    for (std::size_t k = 0; k < 2; ++k) {
      diff = std::max(diff, std::abs(got["scores"][k].get<double>() - want[k].get<double>()));
    }
  }
  EXPECT_EQ(rows, 24u);
  std::cout << "text_to_text rank scores vs PEFT: max abs diff " << diff << "\n";
  EXPECT_LE(diff, 1e-5);
}

TEST_F(TaskConfigs, NerTrainsAndReportsEntityF1) {
  expect_trained(train("ner.json", "ner", "conll_train.txt", "conll_dev.txt", "ner"), "ner", "f1");
  const auto out = eval("ner.json", "ner", "conll_dev.txt", "ner.jsonl", "ner/adapter");
  expect_metrics(out, {"f1", "precision", "recall", "accuracy"}, 20, "ner.jsonl");
  std::ifstream in(file("ner.jsonl"));
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  const auto first = json::parse(line);
  EXPECT_EQ(first["prediction"].size(), first["words"].size()) << line;
}

TEST_F(TaskConfigs, TranslationTrainsAndReportsBleuAndRouge) {
  expect_trained(train("translation.json", "t5", "m30k_train.jsonl", "m30k_dev.jsonl", "mt",
                       {"--set", "generate.max_new_tokens=6", "--set", "generate.num_beams=2"}),
                 "mt", "bleu");
  const auto out = eval("translation.json", "t5", "m30k_dev.jsonl", "mt.jsonl", "mt/adapter",
                        {"--set", "generate.max_new_tokens=6"});
  expect_metrics(out, {"bleu", "rouge1", "rouge2", "rougeL", "exact_match"}, 12, "mt.jsonl");
  std::ifstream in(file("mt.jsonl"));
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  const auto first = json::parse(line);
  EXPECT_TRUE(first.contains("prediction") && first.contains("reference")) << line;
}

TEST_F(TaskConfigs, ATaskOnTheWrongArchitectureIsAConfigError) {
  const auto r = train("sentiment_t5.json", "mlm", "sst_train.jsonl", "sst_dev.jsonl", "wrong");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("task.type"), std::string::npos) << r.err;
}
