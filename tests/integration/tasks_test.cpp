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

#include "pft/app/run.h"
#include "pft/config/config.h"
#include "pft/io/safetensors.h"
#include "pft/model/bert/bert.h"
#include "pft/model/t5/t5.h"
#include "pft/peft/method.h"
#include "pft/task/cloze.h"
#include "pft/task/encoder_decoder.h"
#include "pft/train/trainer.h"
#include "pft/util/error.h"
#include "pft/util/fs.h"
#include "support/fixed_batch.h"
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
  // The run directory is not the model folder "ner" (a run refuses a folder holding other files).
  expect_trained(train("ner.json", "ner", "conll_train.txt", "conll_dev.txt", "ner-run"), "ner-run",
                 "f1");
  const auto out = eval("ner.json", "ner", "conll_dev.txt", "ner.jsonl", "ner-run/adapter");
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

TEST_F(TaskConfigs, T5GradientCheckpointingWritesTheSameAdapter) {
  // Prefix tuning puts prefixes into the encoder, the decoder and the cross-attention, all
  // of them inputs of the recomputed blocks. Byte-exact in fp32.
  const std::vector<std::string> common{
      "--set", "generate.max_new_tokens=4", "--set", "train.precision=fp32",
      "--set", "peft.method=prefix_tuning", "--set", "peft.num_virtual_tokens=3"};
  auto with = common;
  with.insert(with.end(), {"--set", "train.gradient_checkpointing=true"});
  const auto plain =
      train("translation.json", "t5", "m30k_train.jsonl", "m30k_dev.jsonl", "mt_plain", common);
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  const auto recomputed =
      train("translation.json", "t5", "m30k_train.jsonl", "m30k_dev.jsonl", "mt_recomputed", with);
  ASSERT_EQ(recomputed.exit_code, 0) << recomputed.err;
  const auto a = pft::read_file(file("mt_plain") + "/adapter/adapter_model.safetensors");
  const auto b = pft::read_file(file("mt_recomputed") + "/adapter/adapter_model.safetensors");
  EXPECT_FALSE(a.empty());
  EXPECT_TRUE(a == b) << "checkpointing changed the T5 adapter";
  EXPECT_EQ(losses(file("mt_plain") + "/metrics.jsonl"),
            losses(file("mt_recomputed") + "/metrics.jsonl"));
}

TEST_F(TaskConfigs, ATaskOnTheWrongArchitectureIsAConfigError) {
  const auto r = train("sentiment_t5.json", "mlm", "sst_train.jsonl", "sst_dev.jsonl", "wrong");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("task.type"), std::string::npos) << r.err;
}

// ---- template soft tokens ({soft} slots) ---------------------------------------------------

namespace {

// The cloze config on the tiny masked-LM model and the SST-2 slices, with `overrides`.
pft::config::RunConfig cloze_config(const std::string& dir, std::vector<std::string> overrides) {
  std::vector<std::string> sets{"model.path=" + dir + "/mlm",
                                "data.train=" + dir + "/sst_train.jsonl",
                                "data.eval=" + dir + "/sst_dev.jsonl",
                                "train.log_every=1",
                                "train.eval_every=0",
                                "train.batch_size=8"};
  sets.insert(sets.end(), overrides.begin(), overrides.end());
  return pft::config::load(pft::test::source_dir() + "/configs/sentiment_cloze.json", sets,
                           pft::config::Purpose::Train);
}

torch::Tensor soft_table(const pft::app::Run& run) {
  return run.adapted.model->named_parameters()[pft::peft::kTemplateSoftTokens];
}

}  // namespace

TEST_F(TaskConfigs, SoftTokensReplaceTheirPositionsAfterPromptTuningsVirtualTokens) {
  const auto c =
      cloze_config(dir_->path(), {"prompt.template={soft:2} {text} It was {soft}{mask}.",
                                  "peft.method=prompt_tuning", "peft.num_virtual_tokens=3"});
  auto run = pft::app::build_run(c, torch::kCPU, /*training=*/true);
  auto& cloze = dynamic_cast<pft::task::ClozeTask&>(*run.task);
  const auto batch = cloze.train_batch({0, 1, 2, 3, 4}, torch::kCPU);
  const auto& ids = batch.tensors.at("input_ids");
  const auto& positions = batch.tensors.at("soft_positions");
  const auto& mask_positions = batch.tensors.at("mask_positions");
  ASSERT_EQ(positions.sizes().vec(), (std::vector<std::int64_t>{5, 3}));
  const auto table = soft_table(run);
  ASSERT_EQ(table.sizes().vec(), (std::vector<std::int64_t>{3, 32}));
  EXPECT_TRUE(table.requires_grad());
  for (std::int64_t b = 0; b < 5; ++b) {
    // After [CLS], and right before [MASK]; the placeholders hold the pad id.
    EXPECT_EQ(positions[b][0].item<std::int64_t>(), 1);
    EXPECT_EQ(positions[b][1].item<std::int64_t>(), 2);
    EXPECT_EQ(positions[b][2].item<std::int64_t>(), mask_positions[b].item<std::int64_t>() - 1);
    for (std::int64_t k = 0; k < 3; ++k) {
      EXPECT_EQ(ids[b][positions[b][k].item<std::int64_t>()].item<std::int64_t>(),
                run.tokenizer->pad_id());
    }
  }
  run.adapted.model->eval();
  torch::NoGradGuard no_grad;
  const auto got = cloze.mask_logits(batch);
  // By hand: word embeddings, soft rows written at their positions, then the 3 virtual tokens
  // in front (positions shift by 3), the mask extended by ones.
  auto model = std::dynamic_pointer_cast<pft::model::BertForMaskedLMImpl>(run.adapted.model);
  ASSERT_TRUE(model);
  auto embeds = model->embed(ids).clone();
  for (std::int64_t b = 0; b < 5; ++b) {
    for (std::int64_t k = 0; k < 3; ++k) embeds[b][positions[b][k].item<std::int64_t>()] = table[k];
  }
  const auto full = run.adapted.method->prepend_virtual_tokens(embeds);
  ASSERT_EQ(full.size(1), ids.size(1) + 3);
  const auto mask =
      torch::cat({torch::ones({5, 3}, torch::kInt64), batch.tensors.at("attention_mask")}, 1);
  const auto hidden = model->bert->forward(full, mask, torch::Tensor(), nullptr).last_hidden_state;
  const auto want = model->predict(hidden.index({torch::arange(5), mask_positions + 3}));
  const double diff = (got - want).abs().max().item<double>();
  std::cout << "cloze with {soft} and prompt tuning vs by hand: max abs diff " << diff << "\n";
  EXPECT_LE(diff, 1e-6);
  // Changing a soft row changes the output: the rows are really used.
  table[0].add_(torch::randn({32}));  // (a constant shift would vanish in the LayerNorm)
  EXPECT_GT((cloze.mask_logits(batch) - got).abs().max().item<double>(), 1e-4);
}

TEST_F(TaskConfigs, T5SoftTokensReplaceTheirEncoderPositionsAfterPromptTuning) {
  const auto c = pft::config::load(
      config("sentiment_t5.json"),
      {"model.path=" + file("t5"), "data.train=" + file("sst_train.jsonl"),
       "data.eval=" + file("sst_dev.jsonl"), "prompt.template={soft:2}sst2 sentence: {text} {soft}",
       "peft.method=prompt_tuning", "peft.num_virtual_tokens=3"},
      pft::config::Purpose::Train);
  auto run = pft::app::build_run(c, torch::kCPU, /*training=*/true);
  const auto batch = pft::test::first_examples(run, 4);
  const auto& ids = batch.tensors.at("input_ids");
  const auto& positions = batch.tensors.at("soft_positions");
  const auto table = soft_table(run);
  ASSERT_EQ(table.sizes().vec(), (std::vector<std::int64_t>{3, 16}));
  const auto loss = pft::test::fixed_batch_loss(run, batch);
  // By hand: soft rows at their positions (the first two at 0 and 1, the last before </s>),
  // then the virtual tokens, then T5 with teacher forcing.
  auto model = std::dynamic_pointer_cast<pft::model::T5Impl>(run.adapted.model);
  ASSERT_TRUE(model);
  run.adapted.model->eval();
  torch::NoGradGuard no_grad;
  auto embeds = model->embed(ids).clone();
  const auto lengths = batch.tensors.at("attention_mask").sum(1);
  for (std::int64_t b = 0; b < 4; ++b) {
    EXPECT_EQ(positions[b][0].item<std::int64_t>(), 0);
    EXPECT_EQ(positions[b][1].item<std::int64_t>(), 1);
    EXPECT_EQ(positions[b][2].item<std::int64_t>(), lengths[b].item<std::int64_t>() - 2);
    for (std::int64_t k = 0; k < 3; ++k) embeds[b][positions[b][k].item<std::int64_t>()] = table[k];
  }
  const auto full = run.adapted.method->prepend_virtual_tokens(embeds);
  const auto mask =
      torch::cat({torch::ones({4, 3}, torch::kInt64), batch.tensors.at("attention_mask")}, 1);
  const auto& labels = batch.tensors.at("labels");
  const auto logits = model
                          ->forward(full, mask, model->embed(model->shift_right(labels)),
                                    torch::Tensor(), nullptr, nullptr, nullptr)
                          .logits;
  const double want = pft::task::seq2seq_loss(logits, labels).item<double>();
  std::cout << "text_to_text with {soft} and prompt tuning vs by hand: loss " << loss
            << ", abs diff " << std::abs(loss - want) << "\n";
  EXPECT_NEAR(loss, want, 1e-6);
  // The rows are really used: the last one moves the loss.
  table[2].add_(torch::randn({16}));
  EXPECT_GT(std::abs(pft::test::fixed_batch_loss(run, batch) - loss), 1e-5);
}

TEST_F(TaskConfigs, SoftTokensStartAsWordEmbeddingsOfTheVocabularyOrOfAText) {
  const auto words_of = [](pft::app::Run& run) {
    return run.adapted.model->named_parameters()["bert.embeddings.word_embeddings.weight"];
  };
  auto text = pft::app::build_run(
      cloze_config(dir_->path(), {"prompt.template={soft:3} {text} It was {mask}.",
                                  "prompt.soft_init=text", "prompt.soft_init_text=great movie"}),
      torch::kCPU, /*training=*/true);
  // "great movie" (no special tokens), repeated to the 3 rows.
  const auto great = text.tokenizer->token_to_id("great");
  const auto movie = text.tokenizer->token_to_id("movie");
  const auto want = words_of(text).index_select(0, torch::tensor({great, movie, great}));
  EXPECT_TRUE(torch::equal(soft_table(text), want));
  // vocab: every row is the embedding of some token.
  auto vocab = pft::app::build_run(
      cloze_config(dir_->path(), {"prompt.template={soft:3} {text} It was {mask}."}), torch::kCPU,
      /*training=*/true);
  const auto words = words_of(vocab);
  const auto table = soft_table(vocab);
  for (std::int64_t k = 0; k < 3; ++k) {
    EXPECT_EQ((words - table[k]).abs().sum(1).min().item<float>(), 0.0f) << k;
  }
  EXPECT_FALSE(torch::equal(table[0], table[1]));
}

TEST_F(TaskConfigs, SoftTokensAloneTrainWithMethodNoneAndReloadForEval) {
  // The soft tokens are the same for every example, and on the tiny random model (whose
  // embedding LayerNorm bounds what one input vector can do) they mostly move the label
  // prior: they train on the positive lines only, and the loss falls by about 1e-3.
  std::string positive;
  std::ifstream lines(file("sst_train.jsonl"));
  for (std::string line; std::getline(lines, line);) {
    if (line.find("\"positive\"") != std::string::npos) positive += line + "\n";
  }
  pft::test::write_text(file("sst_positive.jsonl"), positive);
  const auto out = file("soft_none");
  const auto c = cloze_config(
      dir_->path(),
      {"prompt.template={text} It was {soft:4}{mask}.", "peft.method=none", "train.max_steps=24",
       "train.lr=5e-2", "train.lr_scheduler=constant", "train.log_every=12",
       "train.output_dir=" + out, "data.train=" + file("sst_positive.jsonl")});
  auto run = pft::app::build_run(c, torch::kCPU, /*training=*/true);
  std::map<std::string, torch::Tensor> before;
  for (const auto& p : run.adapted.model->named_parameters())
    before[p.key()] = p.value().detach().clone();
  const auto trainable = run.adapted.trainable();
  ASSERT_EQ(trainable.size(), 1u);
  EXPECT_EQ(trainable[0].first, pft::peft::kTemplateSoftTokens);
  const auto batch = pft::test::first_examples(run, 8);
  const double loss_before = pft::test::fixed_batch_loss(run, batch);
  pft::train::Trainer trainer(*run.task, run.adapted, c.train, torch::kCPU, out);
  trainer.run(false);
  const double loss_after = pft::test::fixed_batch_loss(run, batch);
  std::cout << "{soft:4} alone, " << c.train.max_steps << " steps: loss on a fixed batch "
            << loss_before << " -> " << loss_after << "\n";
  EXPECT_LT(loss_after, loss_before - 5e-4);
  for (const auto& p : run.adapted.model->named_parameters()) {
    if (p.key() == pft::peft::kTemplateSoftTokens) {
      EXPECT_FALSE(torch::equal(p.value(), before.at(p.key())));
    } else {
      EXPECT_TRUE(torch::equal(p.value(), before.at(p.key())))
          << "frozen tensor changed: " << p.key();
    }
  }
  EXPECT_EQ(losses(out + "/metrics.jsonl").size(), 2u);
  // The adapter folder holds the soft tokens only: no PEFT method was trained.
  EXPECT_TRUE(fs::exists(out + "/adapter/" + pft::peft::kTemplateSoftTokensFile));
  EXPECT_FALSE(fs::exists(out + "/adapter/adapter_model.safetensors"));

  // Reloaded for evaluation, the predictions are the same, score for score.
  run.adapted.model->eval();
  {
    torch::NoGradGuard no_grad;
    run.task->evaluate(file("soft_trained.jsonl"));
  }
  auto eval_config = c;
  eval_config.peft.method = "none";
  auto loaded = pft::app::build_run(eval_config, torch::kCPU, /*training=*/false, out + "/adapter");
  EXPECT_FALSE(soft_table(loaded).requires_grad());
  EXPECT_TRUE(torch::equal(soft_table(loaded), soft_table(run)));
  loaded.adapted.model->eval();
  {
    torch::NoGradGuard no_grad;
    loaded.task->evaluate(file("soft_loaded.jsonl"));
  }
  EXPECT_EQ(count_lines(file("soft_loaded.jsonl")), 24u);
  EXPECT_EQ(pft::read_file(file("soft_trained.jsonl")), pft::read_file(file("soft_loaded.jsonl")));

  // Soft tokens of another template do not load: the error names the file and both shapes.
  auto other = eval_config;
  other.prompt.template_text = "{text} It was {soft:2}{mask}.";
  try {
    pft::app::build_run(other, torch::kCPU, false, out + "/adapter");
    ADD_FAILURE() << "expected an error";
  } catch (const pft::Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(pft::peft::kTemplateSoftTokensFile), std::string::npos) << what;
    EXPECT_NE(what.find("[4, 32]"), std::string::npos) << what;
    EXPECT_NE(what.find("[2, 32]"), std::string::npos) << what;
  }
  // Without an adapter there are no soft tokens to evaluate with: a config error.
  try {
    pft::app::build_run(eval_config, torch::kCPU, false);
    ADD_FAILURE() << "expected an error";
  } catch (const pft::Error& e) {
    EXPECT_EQ(e.kind(), pft::ErrorKind::Config);
    EXPECT_NE(std::string(e.what()).find("--adapter"), std::string::npos) << e.what();
  }
}

TEST_F(TaskConfigs, ClozeWithSoftSlotsTrainsEvaluatesAndResumesExactly) {
  const std::vector<std::string> soft{"--set", "prompt.template={soft:2} {text} It was {mask}.",
                                      "--set", "train.save_every=3",
                                      "--set", "train.keep_last=2"};
  auto extra = soft;
  extra.insert(extra.end(), {"--set", "train.max_steps=6"});
  const auto r =
      train("sentiment_cloze.json", "mlm", "sst_train.jsonl", "sst_dev.jsonl", "cloze_soft", extra);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // LoRA's adapter as PEFT reads it, the soft tokens beside it.
  EXPECT_TRUE(fs::exists(file("cloze_soft/adapter/adapter_model.safetensors")));
  const auto saved =
      pft::io::read_safetensors(file("cloze_soft/adapter/") + pft::peft::kTemplateSoftTokensFile);
  ASSERT_EQ(saved.tensors.count(pft::peft::kTemplateSoftTokens), 1u);
  EXPECT_EQ(saved.tensors.at(pft::peft::kTemplateSoftTokens).sizes().vec(),
            (std::vector<std::int64_t>{2, 32}));
  const std::vector<std::string> tmpl{"--set", "prompt.template={soft:2} {text} It was {mask}."};
  expect_metrics(eval("sentiment_cloze.json", "mlm", "sst_dev.jsonl", "cloze_soft.jsonl",
                      "cloze_soft/adapter", tmpl),
                 {"accuracy", "macro_f1"}, 24, "cloze_soft.jsonl");
  // Zero-shot with soft slots: nothing says what the soft tokens are.
  const auto zero =
      run_pft({"eval", "--config", config("sentiment_cloze.json"), "--threads", "1", "--set",
               "model.path=" + file("mlm"), "--data", file("sst_dev.jsonl"), "--set",
               "prompt.template={soft:2} {text} It was {mask}.", "--set", "peft.method=none"});
  EXPECT_EQ(zero.exit_code, 2) << zero.err;
  EXPECT_NE(zero.err.find("{soft} slots"), std::string::npos) << zero.err;

  // An adapter folder without the soft tokens: an error naming the missing file.
  fs::copy(file("cloze_soft/adapter"), file("no_soft"), fs::copy_options::recursive);
  fs::remove(file("no_soft/") + pft::peft::kTemplateSoftTokensFile);
  const auto missing =
      run_pft({"eval", "--config", config("sentiment_cloze.json"), "--threads", "1", "--set",
               "model.path=" + file("mlm"), "--data", file("sst_dev.jsonl"), "--set",
               "prompt.template={soft:2} {text} It was {mask}.", "--adapter", file("no_soft")});
  EXPECT_EQ(missing.exit_code, 2) << missing.err;
  EXPECT_NE(missing.err.find("template_soft_tokens.safetensors: missing"), std::string::npos)
      << missing.err;

  // Resumed from the step-3 checkpoint, the run ends with the same soft tokens and adapter.
  const auto copy = file("cloze_soft_resumed");
  fs::copy(file("cloze_soft"), copy, fs::copy_options::recursive);
  fs::remove_all(copy + "/checkpoints/step-6");
  fs::remove_all(copy + "/adapter");
  fs::remove_all(copy + "/best");
  fs::remove(copy + "/summary.json");
  const auto resumed = run_pft({"train", "--resume", copy, "--threads", "1"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  for (const std::string name : {"adapter_model.safetensors", "template_soft_tokens.safetensors"}) {
    EXPECT_EQ(pft::read_file(file("cloze_soft/adapter/") + name),
              pft::read_file(copy + "/adapter/" + name))
        << name << " differs after resume";
  }
}

TEST_F(TaskConfigs, T5TasksTrainSoftSlotsWithPromptTuning) {
  const std::vector<std::string> t2t{
      "--set", "prompt.template={soft:2}sst2 sentence: {text} {soft}",
      "--set", "peft.method=prompt_tuning",
      "--set", "peft.num_virtual_tokens=4"};
  expect_trained(
      train("sentiment_t5.json", "t5", "sst_train.jsonl", "sst_dev.jsonl", "t2t_soft", t2t),
      "t2t_soft", "accuracy");
  EXPECT_TRUE(fs::exists(file("t2t_soft/adapter/") + pft::peft::kTemplateSoftTokensFile));
  expect_metrics(eval("sentiment_t5.json", "t5", "sst_dev.jsonl", "t2t_soft.jsonl",
                      "t2t_soft/adapter", {t2t[0], t2t[1]}),
                 {"accuracy"}, 24, "t2t_soft.jsonl");
  const std::vector<std::string> mt{
      "--set", "prompt.template=translate {soft:3} English to German: {source}", "--set",
      "generate.max_new_tokens=4"};
  expect_trained(
      train("translation.json", "t5", "m30k_train.jsonl", "m30k_dev.jsonl", "mt_soft", mt),
      "mt_soft", "bleu");
  expect_metrics(
      eval("translation.json", "t5", "m30k_dev.jsonl", "mt_soft.jsonl", "mt_soft/adapter", mt),
      {"bleu"}, 12, "mt_soft.jsonl");
}

// ---- adapters of the NER and seq2seq tasks in Python PEFT -----------------------------------

namespace {

// Max abs diff between `mine` and the logits Python PEFT computes for `inputs` with the base
// checkpoint `model_dir` and the pft-trained adapter `adapter_dir`
// (tests/python/peft_methods_reference.py load).
double peft_logits_diff(const std::string& model_dir, const std::string& adapter_dir,
                        const std::map<std::string, torch::Tensor>& inputs,
                        const torch::Tensor& mine, const std::string& work) {
  pft::io::save_safetensors(work + ".inputs.safetensors", inputs);
  const auto r = pft::test::run_python(
      "peft_methods_reference.py",
      {"load", model_dir, adapter_dir, work + ".inputs.safetensors", work + ".peft.safetensors"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  if (r.exit_code != 0) return 1e30;
  const auto theirs = pft::io::read_safetensors(work + ".peft.safetensors").tensors.at("logits");
  EXPECT_EQ(theirs.sizes(), mine.sizes());
  if (theirs.sizes() != mine.sizes()) return 1e30;
  return (theirs.to(torch::kDouble) - mine.to(torch::kDouble)).abs().max().item<double>();
}

// Two right-padded rows of `texts` tokenized with special tokens.
std::map<std::string, torch::Tensor> encoder_inputs(const pft::tokenizer::Tokenizer& tok,
                                                    const std::vector<std::string>& texts) {
  std::vector<std::vector<std::int64_t>> ids;
  for (const auto& t : texts) ids.push_back(tok.encode(t).ids);
  std::vector<const std::vector<std::int64_t>*> rows;
  for (const auto& r : ids) rows.push_back(&r);
  const auto [input_ids, mask] = pft::task::pad_ids(rows, tok.pad_id(), torch::kCPU);
  return {{"input_ids", input_ids}, {"attention_mask", mask}};
}

}  // namespace

TEST_F(TaskConfigs, PythonPeftLoadsTheNerAdapterWithItsClassifierAndTheSameLogits) {
  ASSERT_EQ(train("ner.json", "ner", "conll_train.txt", "conll_dev.txt", "ner_py",
                  {"--set", "train.lr=1e-2"})
                .exit_code,
            0);
  const auto adapter = file("ner_py/adapter");
  const auto doc = json::parse(pft::read_file(adapter + "/adapter_config.json"));
  EXPECT_EQ(doc["task_type"], "TOKEN_CLS");
  EXPECT_EQ(doc["modules_to_save"], json::array({"classifier"}));
  const auto c = pft::config::load(
      config("ner.json"), {"model.path=" + file("ner"), "data.eval=" + file("conll_dev.txt")},
      pft::config::Purpose::Eval);
  auto run = pft::app::build_run(c, torch::kCPU, /*training=*/false, adapter);
  run.adapted.model->eval();
  auto model =
      std::dynamic_pointer_cast<pft::model::BertForTokenClassificationImpl>(run.adapted.model);
  ASSERT_TRUE(model);
  const auto inputs = encoder_inputs(
      *run.tokenizer, {"EU rejects German call to boycott British lamb .", "Peter Blackburn"});
  torch::NoGradGuard no_grad;
  const auto mine = model->forward_ids(inputs.at("input_ids"), inputs.at("attention_mask"));
  ASSERT_EQ(mine.size(2), 9);
  // LoRA trained too (B starts at zero), not only the classifier.
  double lora_b = 0;
  for (const auto& [name, t] :
       pft::io::read_safetensors(adapter + "/adapter_model.safetensors").tensors) {
    if (name.find("lora_B") != std::string::npos) lora_b += t.abs().sum().item<double>();
  }
  EXPECT_GT(lora_b, 0);
  const double diff = peft_logits_diff(file("ner"), adapter, inputs, mine, file("ner_py"));
  std::cout << "token_classification LoRA adapter, pft vs PEFT: max abs diff " << diff << "\n";
  EXPECT_LE(diff, 1e-5);
  // Non-trivial: the trained classifier and LoRA move the logits beyond the tolerance.
  auto base = pft::app::build_run(c, torch::kCPU, false);
  base.adapted.model->eval();
  auto plain =
      std::dynamic_pointer_cast<pft::model::BertForTokenClassificationImpl>(base.adapted.model);
  EXPECT_GT((plain->forward_ids(inputs.at("input_ids"), inputs.at("attention_mask")) - mine)
                .abs()
                .max()
                .item<double>(),
            1e-3);
}

TEST_F(TaskConfigs, PythonPeftLoadsTheSeq2SeqAdapterWithTheSameLogits) {
  ASSERT_EQ(train("translation.json", "t5", "m30k_train.jsonl", "m30k_dev.jsonl", "mt_py",
                  {"--set", "train.lr=1e-2", "--set", "generate.max_new_tokens=4"})
                .exit_code,
            0);
  const auto adapter = file("mt_py/adapter");
  EXPECT_EQ(json::parse(pft::read_file(adapter + "/adapter_config.json"))["task_type"],
            "SEQ_2_SEQ_LM");
  const auto c =
      pft::config::load(config("translation.json"),
                        {"model.path=" + file("t5"), "data.eval=" + file("m30k_dev.jsonl")},
                        pft::config::Purpose::Eval);
  auto run = pft::app::build_run(c, torch::kCPU, /*training=*/false, adapter);
  run.adapted.model->eval();
  auto model = std::dynamic_pointer_cast<pft::model::T5Impl>(run.adapted.model);
  ASSERT_TRUE(model);
  auto inputs = encoder_inputs(*run.tokenizer, {"translate English to German: Two dogs play.",
                                                "translate English to German: A man"});
  const auto targets = encoder_inputs(*run.tokenizer, {"Zwei Hunde spielen.", "Ein Mann"});
  pft::model::T5 t5(model);
  inputs["decoder_input_ids"] = t5->shift_right(targets.at("input_ids"));
  inputs["decoder_attention_mask"] = targets.at("attention_mask");
  torch::NoGradGuard no_grad;
  const auto mine =
      t5->forward_ids(inputs.at("input_ids"), inputs.at("attention_mask"),
                      inputs.at("decoder_input_ids"), inputs.at("decoder_attention_mask"))
          .logits;
  const double diff = peft_logits_diff(file("t5"), adapter, inputs, mine, file("mt_py"));
  std::cout << "seq2seq LoRA adapter, pft vs PEFT: max abs diff " << diff << "\n";
  EXPECT_LE(diff, 1e-5);
  // Non-trivial: LoRA moved the logits.
  auto base = pft::app::build_run(c, torch::kCPU, false);
  base.adapted.model->eval();
  pft::model::T5 plain(std::dynamic_pointer_cast<pft::model::T5Impl>(base.adapted.model));
  const auto before =
      plain
          ->forward_ids(inputs.at("input_ids"), inputs.at("attention_mask"),
                        inputs.at("decoder_input_ids"), inputs.at("decoder_attention_mask"))
          .logits;
  EXPECT_GT((before - mine).abs().max().item<double>(), 1e-4);
}
