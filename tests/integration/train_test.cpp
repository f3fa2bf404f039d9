// Whole training runs of the built binary on a tiny random BERT and real SST-2 lines:
// reproducibility, exact resume after an interruption, and adapters that Hugging Face PEFT
// loads with the same logits; and, for every family the set-up writes a tiny model of, a
// falling loss and exact resume.

#include <gtest/gtest.h>

#include <fcntl.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "pft/util/fs.h"
#include "support/test_util.h"

namespace fs = std::filesystem;
using nlohmann::json;
using pft::test::run_pft;

namespace {

class TrainRun : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new pft::test::TempDir();
    const auto r = pft::test::run_python(
        "make_tiny_bert.py",
        {model(), pft::test::shared_data("tokenizers/bert-base-uncased/vocab.txt")});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // 256 training and 64 evaluation lines of real SST-2.
    pft::test::write_text(dir_->file("train.jsonl"),
                          pft::test::head_lines(pft::test::shared_data("sst2/train.jsonl"), 256));
    pft::test::write_text(dir_->file("dev.jsonl"),
                          pft::test::head_lines(pft::test::shared_data("sst2/dev.jsonl"), 64));
    const json config = {
        {"model", {{"path", model()}}},
        {"data", {{"train", dir_->file("train.jsonl")}, {"eval", dir_->file("dev.jsonl")}}},
        {"task", {{"labels", {"negative", "positive"}}}},
        {"peft", {{"method", "lora"}, {"r", 4}, {"lora_alpha", 8}, {"lora_dropout", 0.1}}},
        {"train",
         {{"lr", 1e-3},
          {"batch_size", 16},
          {"max_steps", 24},
          {"eval_every", 8},
          {"save_every", 8},
          {"warmup_steps", 4},
          {"seed", 7},
          {"log_every", 4},
          // Byte-exact comparisons (seeds, resume, checkpointing) in fp32, whatever the CPU.
          {"precision", "fp32"}}},
    };
    pft::test::write_text(config_path(), config.dump(2));
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::string model() { return dir_->file("tiny-bert"); }
  static std::string config_path() { return dir_->file("run.json"); }
  static std::string run_dir(const std::string& name) { return dir_->file(name); }
  static pft::test::RunResult train(const std::string& name, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"train",     "--config", config_path(), "--output", run_dir(name),
                                  "--threads", "1"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_pft(args);
  }
  static std::string adapter_bytes(const std::string& name) {
    return pft::read_file(run_dir(name) + "/adapter/adapter_model.safetensors");
  }
  static inline pft::test::TempDir* dir_ = nullptr;
};

}  // namespace

TEST_F(TrainRun, SameSeedSameAdapterBytesAndMetrics) {
  const auto a = train("a"), b = train("b");
  ASSERT_EQ(a.exit_code, 0) << a.err;
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_TRUE(adapter_bytes("a") == adapter_bytes("b")) << "same seed, different adapter bytes";
  EXPECT_EQ(pft::read_file(run_dir("a") + "/metrics.jsonl"),
            pft::read_file(run_dir("b") + "/metrics.jsonl"));
  // The run directory holds what the docs promise.
  for (const char* f :
       {"config.resolved.json", "metrics.jsonl", "train.log", "summary.json", "training.svg",
        "adapter/adapter_config.json", "best/adapter/adapter_model.safetensors"}) {
    EXPECT_TRUE(fs::exists(run_dir("a") + "/" + f)) << f;
  }
  const auto summary = json::parse(pft::read_file(run_dir("a") + "/summary.json"));
  EXPECT_EQ(summary["steps"], 24);
  EXPECT_GT(summary["trainable_parameters"].get<std::int64_t>(), 0);
  // Timing: start-up is positive and shorter than the process's life; the steady rate
  // (after 3 warm-up steps, without evaluation and saving) cannot be slower than the whole run.
  const double startup = summary["seconds_to_first_step"].get<double>();
  EXPECT_GT(startup, 0.0);
  EXPECT_LT(startup, 120.0);
  const double steady = summary["steady_steps_per_second"].get<double>();
  EXPECT_GE(steady * 1.05, 24.0 / summary["wall_seconds"].get<double>());
  EXPECT_GT(summary["steady_tokens_per_second"].get<double>(), steady);
  // A different seed gives a different adapter.
  ASSERT_EQ(train("c", {"--set", "train.seed=8"}).exit_code, 0);
  EXPECT_FALSE(adapter_bytes("a") == adapter_bytes("c")) << "another seed, same adapter";
}

namespace {

// Starts the pft binary with `args` in a child process (output discarded); returns its pid.
pid_t spawn_pft(const std::vector<std::string>& args) {
  const pid_t pid = fork();
  if (pid == 0) {
    const int null = ::open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    std::vector<char*> argv{const_cast<char*>(PFT_BINARY)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(PFT_BINARY, argv.data());
    _exit(127);
  }
  return pid;
}

// Starts `pft train` and sends SIGINT once it has logged a few steps; returns the exit code.
int train_and_interrupt(const std::vector<std::string>& args, const std::string& run_dir) {
  const pid_t pid = spawn_pft(args);
  if (pid < 0) return -1;
  const std::string metrics = run_dir + "/metrics.jsonl";
  for (int i = 0; i < 1200; ++i) {
    std::ifstream in(metrics);
    std::string line;
    int lines = 0;
    while (std::getline(in, line)) ++lines;
    if (lines >= 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid, SIGINT);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

TEST_F(TrainRun, InterruptedAndResumedEqualsUninterrupted) {
  // Long enough that the interruption lands mid-run; checkpoints only on interruption.
  const std::vector<std::string> set{"--set", "train.max_steps=400", "--set", "train.save_every=0",
                                     "--set", "train.eval_every=100"};
  ASSERT_EQ(train("full", set).exit_code, 0);
  std::vector<std::string> args{
      "train", "--config", config_path(), "--output", run_dir("resumed"), "--threads", "1"};
  args.insert(args.end(), set.begin(), set.end());
  ASSERT_EQ(train_and_interrupt(args, run_dir("resumed")), 130);
  bool checkpoint = false;
  for (const auto& e : fs::directory_iterator(run_dir("resumed") + "/checkpoints")) {
    checkpoint = checkpoint || fs::exists(e.path() / "trainer_state.json");
  }
  ASSERT_TRUE(checkpoint) << "SIGINT must leave a complete checkpoint";
  EXPECT_FALSE(fs::exists(run_dir("resumed") + "/adapter"));  // the run did not finish
  const auto resumed = run_pft({"train", "--resume", run_dir("resumed"), "--threads", "1"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_TRUE(adapter_bytes("full") == adapter_bytes("resumed")) << "resumed adapter differs";
  EXPECT_EQ(pft::read_file(run_dir("full") + "/metrics.jsonl"),
            pft::read_file(run_dir("resumed") + "/metrics.jsonl"));
  // TensorBoard's own reader finds metrics.jsonl's values in both runs' event files: each
  // step once, the resumed run's interrupted future dropped with metrics.jsonl's.
  std::map<std::string, std::vector<std::pair<std::int64_t, double>>> expected;
  std::istringstream lines(pft::read_file(run_dir("full") + "/metrics.jsonl"));
  for (std::string line; std::getline(lines, line);) {
    const auto e = json::parse(line);
    const auto step = e["step"].get<std::int64_t>();
    if (e.contains("eval")) {
      for (const auto& [k, v] : e["eval"].items()) expected["eval/" + k].emplace_back(step, v);
    } else {
      for (const char* k : {"loss", "lr", "grad_norm", "epoch"})
        expected[std::string("train/") + k].emplace_back(step, e[k].get<double>());
    }
  }
  ASSERT_GT(expected["eval/accuracy"].size(), 1u);
  for (const char* name : {"full", "resumed"}) {
    SCOPED_TRACE(name);
    const auto r = pft::test::run_python("tensorboard_reader.py", {run_dir(name) + "/tensorboard"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto read = json::parse(r.out);
    EXPECT_EQ(read["files"], 1);
    const auto& scalars = read["scalars"];
    for (const auto& [tag, values] : expected) {
      ASSERT_TRUE(scalars.contains(tag)) << tag;
      ASSERT_EQ(scalars[tag].size(), values.size()) << tag;
      for (std::size_t i = 0; i < values.size(); ++i) {
        EXPECT_EQ(scalars[tag][i][0].get<std::int64_t>(), values[i].first) << tag;
        // Scalars are float32 in the event protocol.
        EXPECT_NEAR(scalars[tag][i][1].get<double>(), values[i].second,
                    1e-6 * std::max(1.0, std::abs(values[i].second)))
            << tag;
      }
    }
    ASSERT_TRUE(scalars.contains("train/step_time"));
    for (const auto& v : scalars["train/step_time"]) EXPECT_GT(v[1].get<double>(), 0.0);
  }
}

TEST_F(TrainRun, TensorBoardOffWritesNoEventFiles) {
  ASSERT_EQ(train("no_tb", {"--set", "train.max_steps=4", "--set", "train.tensorboard=false"})
                .exit_code,
            0);
  EXPECT_TRUE(fs::exists(run_dir("no_tb") + "/metrics.jsonl"));
  EXPECT_FALSE(fs::exists(run_dir("no_tb") + "/tensorboard"));
}

namespace {

// Steps of the complete checkpoints of a run (a trainer_state.json marks one complete).
std::vector<std::int64_t> complete_checkpoints(const std::string& run_dir) {
  std::vector<std::int64_t> steps;
  const fs::path root = fs::path(run_dir) / "checkpoints";
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(root, ec)) {
    const auto name = e.path().filename().string();
    if (name.rfind("step-", 0) == 0 && fs::exists(e.path() / "trainer_state.json")) {
      steps.push_back(std::stoll(name.substr(5)));
    }
  }
  std::sort(steps.begin(), steps.end());
  return steps;
}

// Starts `pft args...`, waits until the run holds a complete checkpoint newer than `after`,
// then sleeps `delay_ms` and kills it with SIGKILL. Returns the newest checkpoint step seen
// before the kill, or -1 when the process ended by itself first.
std::int64_t run_and_kill(const std::vector<std::string>& args, const std::string& run_dir,
                          std::int64_t after, int delay_ms) {
  const pid_t pid = spawn_pft(args);
  if (pid < 0) return -1;
  std::int64_t newest = -1;
  for (int i = 0; i < 2400; ++i) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) return -1;
    const auto steps = complete_checkpoints(run_dir);
    if (!steps.empty() && steps.back() > after) {
      newest = steps.back();
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  return newest;
}

}  // namespace

TEST_F(TrainRun, KilledWithSigkillDuringSavesAndResumedEqualsUninterrupted) {
  // A checkpoint after every step, so most of the run's time is spent saving and the kills
  // land inside saves (temp folder half written, renames pending). Each kill must leave the
  // newest complete checkpoint usable, and the resumed run must end exactly as one that was
  // never interrupted.
  const std::vector<std::string> set{"--set", "train.max_steps=40",  "--set", "train.save_every=1",
                                     "--set", "train.eval_every=10", "--set", "train.keep_last=2"};
  ASSERT_EQ(train("unkilled", set).exit_code, 0);
  std::vector<std::string> first{
      "train", "--config", config_path(), "--output", run_dir("killed"), "--threads", "1"};
  first.insert(first.end(), set.begin(), set.end());
  const std::vector<std::string> resume{"train", "--resume", run_dir("killed"), "--threads", "1"};
  std::int64_t after = -1;
  int kills = 0;
  int mid_save = 0;
  // Delays spread over a save's duration: 0 ms kills right after a checkpoint completes.
  for (const int delay : {0, 7, 23, 41}) {
    const auto seen = run_and_kill(kills == 0 ? first : resume, run_dir("killed"), after, delay);
    if (seen < 0) break;  // finished before the kill
    ++kills;
    after = seen;
    EXPECT_FALSE(complete_checkpoints(run_dir("killed")).empty())
        << "a kill left no usable checkpoint";
    for (const auto& e : fs::directory_iterator(run_dir("killed") + "/checkpoints")) {
      const auto name = e.path().filename().string();
      if (name.front() == '.') ++mid_save;  // a save's temp or old folder: killed inside the save
    }
  }
  std::cout << kills << " kills, " << mid_save << " inside a save\n";
  ASSERT_GE(kills, 2) << "the run ended before it could be killed twice";
  const auto done = run_pft(resume);
  ASSERT_EQ(done.exit_code, 0) << done.err;
  EXPECT_TRUE(adapter_bytes("unkilled") == adapter_bytes("killed"))
      << "killed-and-resumed adapter differs";
  EXPECT_EQ(pft::read_file(run_dir("unkilled") + "/metrics.jsonl"),
            pft::read_file(run_dir("killed") + "/metrics.jsonl"));
}

TEST_F(TrainRun, ResumeNeedsARunDirectory) {
  const auto r = run_pft({"train", "--resume", run_dir("nowhere"), "--threads", "1"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("not a run directory"), std::string::npos) << r.err;
}

TEST_F(TrainRun, HuggingFacePeftLoadsTheAdapterWithTheSameLogits) {
  ASSERT_EQ(train("peft", {"--set", "data.max_eval_examples=2"}).exit_code, 0);
  const auto r = pft::test::run_python(
      "peft_load_adapter.py", {model(), run_dir("peft") + "/adapter", dir_->file("hf.json")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto hf = json::parse(pft::read_file(dir_->file("hf.json")));
  // pft's logits for the same two texts through `pft eval`-style prediction: write them as
  // a data file and evaluate with the adapter.
  std::string lines;
  for (const auto& t : hf["texts"])
    lines += json({{"text", t}, {"label", "positive"}}).dump() + "\n";
  pft::test::write_text(dir_->file("two.jsonl"), lines);
  const auto eval = run_pft({"eval", "--config", config_path(), "--adapter",
                             run_dir("peft") + "/adapter", "--data", dir_->file("two.jsonl"),
                             "--predictions", dir_->file("pred.jsonl"), "--threads", "1"});
  ASSERT_EQ(eval.exit_code, 0) << eval.err;
  std::ifstream pred(dir_->file("pred.jsonl"));
  std::string line;
  for (std::size_t i = 0; std::getline(pred, line); ++i) {
    const auto p = json::parse(line);
    const auto ours = p["logits"].get<std::vector<double>>();
    const auto theirs = hf["logits"][p["index"].get<std::size_t>()].get<std::vector<double>>();
    ASSERT_EQ(ours.size(), theirs.size());
    for (std::size_t k = 0; k < ours.size(); ++k)
      EXPECT_NEAR(ours[k], theirs[k], 1e-5) << "example " << i;
  }
}

TEST_F(TrainRun, NonFiniteLossStopsWithTheStepNamed) {
  const auto r = train("nan", {"--set", "train.lr=1e30", "--set", "train.max_grad_norm=0", "--set",
                               "train.warmup_steps=0"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("the loss is"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("at step"), std::string::npos) << r.err;
}

TEST_F(TrainRun, BenchmarkHarnessSmokeTest) {
  // scripts/bench/train.sh end to end on the tiny model, one repetition of a few steps: the
  // harness runs both sides and prints its tables (timings are not checked: not a timed test).
  const auto python = pft::test::python();
  const auto venv = fs::path(python).parent_path().parent_path().string();
  const auto build = fs::path(PFT_BINARY).parent_path().string();
  const auto r = pft::test::run_process(
      {"env", "PFT_BUILD_DIR=" + build, "PFT_VENV=" + venv, "PFT_BENCH_DIR=" + run_dir("bench"),
       "PFT_SHARED_DATA=" + pft::test::shared_data(""), "bash",
       pft::test::source_dir() + "/scripts/bench/train.sh", "--threads", "1", "--reps", "1",
       "--models", model(), "--methods", "lora", "--steps", "tiny-bert=5", "--batch-size", "4",
       "--seq-len", "16", "--eval-examples", "8", "--gemm-seconds", "0.02"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("GEMM ceiling"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("| tiny-bert | lora | fp32 |"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("| tiny-bert | fp32, batch 32 |"), std::string::npos) << r.out;
}

TEST_F(TrainRun, SweepRunsTheGridAndTabulatesTheSummaries) {
  const std::string out = run_dir("sweep");
  const std::string sweep = pft::test::source_dir() + "/scripts/sweep.sh";
  const std::vector<std::string> base{
      "env", std::string("PFT=") + PFT_BINARY, "bash", sweep, "--config", config_path(), "--out",
      out};
  auto args = base;
  for (const char* a : {"--grid", "train.lr=1e-3,1e30", "--grid", "peft.r=2", "--", "--threads",
                        "1", "--set", "train.max_steps=4", "--set", "train.max_grad_norm=0"}) {
    args.push_back(a);
  }
  const auto r = pft::test::run_process(args);
  // lr=1e30 diverges: that run fails (non-finite loss), the sweep goes on and exits 1.
  EXPECT_EQ(r.exit_code, 1) << r.err;
  const std::string table = pft::read_file(out + "/results.md");
  EXPECT_EQ(table, r.out);
  EXPECT_NE(table.find("| train.lr | peft.r | best accuracy |"), std::string::npos) << table;
  EXPECT_NE(table.find("| 1e-3 | 2 | 0."), std::string::npos) << table;
  EXPECT_NE(table.find("| 1e30 | 2 | failed (exit "), std::string::npos) << table;
  EXPECT_TRUE(fs::exists(out + "/lr=1e-3_r=2/summary.json"));
  // Re-running keeps finished runs.
  const auto again = pft::test::run_process(args);
  EXPECT_NE(again.err.find("lr=1e-3_r=2: done before, kept"), std::string::npos) << again.err;
  // A typo in a grid key fails before anything trains, naming the key.
  auto bad = base;
  for (const char* a : {"--grid", "train.learning_rate=1e-3"}) bad.push_back(a);
  const auto b = pft::test::run_process(bad);
  EXPECT_EQ(b.exit_code, 2);
  EXPECT_NE(b.err.find("train.learning_rate"), std::string::npos) << b.err;
  EXPECT_FALSE(fs::exists(out + "/learning_rate=1e-3"));
}

TEST_F(TrainRun, SweepRunsJobsAtOnceOnTheirShareOfTheCores) {
  const std::string out = run_dir("sweep_jobs");
  std::vector<std::string> args{"env",      std::string("PFT=") + PFT_BINARY,
                                "bash",     pft::test::source_dir() + "/scripts/sweep.sh",
                                "--config", config_path(),
                                "--out",    out,
                                "--jobs",   "2"};
  for (const char* a : {"--grid", "train.lr=1e-3,5e-4", "--grid", "peft.r=2", "--", "--set",
                        "train.max_steps=4", "--log-level", "debug"}) {
    args.push_back(a);
  }
  const auto r = pft::test::run_process(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto cores = std::max(1u, std::thread::hardware_concurrency());
  const auto share = std::to_string(std::max(1u, cores / 2));
  EXPECT_NE(r.err.find("[sweep] 2 runs at once, " + share + " thread(s) each"), std::string::npos)
      << r.err;
  const std::string table = pft::read_file(out + "/results.md");
  EXPECT_NE(table.find("| 1e-3 | 2 | 0."), std::string::npos) << table;
  EXPECT_NE(table.find("| 5e-4 | 2 | 0."), std::string::npos) << table;
  for (const char* run : {"lr=1e-3_r=2", "lr=5e-4_r=2"}) {
    EXPECT_TRUE(fs::exists(out + "/" + run + "/summary.json")) << run;
    // Each run's output is in its log: the share of the cores, and no oversubscription.
    const auto log = pft::read_file(out + "/" + run + ".log");
    EXPECT_EQ(log.find("intra-op threads,"), std::string::npos) << log;
  }
  // A bad --jobs is a usage error before anything runs.
  auto bad = args;
  bad[9] = "0";
  EXPECT_EQ(pft::test::run_process(bad).exit_code, 2);
}

TEST_F(TrainRun, Bf16AutocastTrainsOnTheCpuAndFp16IsRefusedThere) {
  const auto r = train("bf16", {"--set", "train.precision=bf16"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto summary = json::parse(pft::read_file(run_dir("bf16") + "/summary.json"));
  EXPECT_EQ(summary["precision"], "bf16");
  EXPECT_TRUE(std::isfinite(summary["final_loss"].get<double>()));
  // The fp32 run of the same config: bf16 products give a different (but close) result.
  ASSERT_EQ(train("fp32").exit_code, 0);
  EXPECT_FALSE(adapter_bytes("bf16") == adapter_bytes("fp32")) << "bf16 autocast changed nothing";
  const auto fp32 = json::parse(pft::read_file(run_dir("fp32") + "/summary.json"));
  EXPECT_NEAR(summary["final_loss"].get<double>(), fp32["final_loss"].get<double>(), 0.05);
  const auto fp16 = train("fp16", {"--set", "train.precision=fp16"});
  EXPECT_EQ(fp16.exit_code, 2);
  EXPECT_NE(fp16.err.find("train.precision: fp16 needs a CUDA device"), std::string::npos)
      << fp16.err;
}

TEST_F(TrainRun, GradientCheckpointingTrainsTheSameAdapter) {
  ASSERT_EQ(train("plain").exit_code, 0);
  const auto r = train("recomputed", {"--set", "train.gradient_checkpointing=true"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(adapter_bytes("plain") == adapter_bytes("recomputed"))
      << "checkpointing changed the result";
}

// Every family the set-up writes a tiny model of (scripts/make_tiny_model.py), trained with
// its example config on real SST-2 lines: the loss falls, and a run interrupted with SIGINT
// and resumed ends with the uninterrupted run's adapter bytes and metrics.
TEST(FamilyTrain, EachFamilyLearnsAndResumesExactly) {
  pft::test::TempDir dir;
  const auto models = fs::path(pft::test::python()).parent_path().parent_path() / "models";
  pft::test::write_text(dir.file("train.jsonl"),
                        pft::test::head_lines(pft::test::shared_data("sst2/train.jsonl"), 512));
  pft::test::write_text(dir.file("dev.jsonl"),
                        pft::test::head_lines(pft::test::shared_data("sst2/dev.jsonl"), 64));
  const std::vector<std::pair<std::string, std::string>> families{
      {"roberta", "sentiment_roberta.json"},     {"xlm-roberta", "sentiment_xlm_roberta.json"},
      {"electra", "sentiment_electra.json"},     {"distilbert", "sentiment_distilbert.json"},
      {"modernbert", "sentiment_modernbert.json"}, {"deberta-v2", "sentiment_deberta.json"},
      {"mt5", "sentiment_mt5.json"}};
  for (const auto& [type, config] : families) {
    SCOPED_TRACE(type);
    const auto model = (models / ("tiny-" + type)).string();
    ASSERT_TRUE(fs::exists(model + "/config.json")) << model << ": run scripts/setup.sh";
    const std::vector<std::string> set{
        "--config", pft::test::source_dir() + "/configs/" + config, "--set", "model.path=" + model,
        "--set", "data.train=" + dir.file("train.jsonl"), "--set", "data.eval=" + dir.file("dev.jsonl"),
        "--set", "data.test=", "--set", "train.max_steps=240", "--set", "train.save_every=0",
        "--set", "train.eval_every=120", "--set", "train.log_every=4", "--set",
        "train.precision=fp32", "--threads", "1"};
    std::vector<std::string> full{"train", "--output", dir.file(type + "-full")};
    full.insert(full.end(), set.begin(), set.end());
    const auto r = run_pft(full);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // The loss falls: the mean of the last five logged losses is below the first five's.
    std::vector<double> losses;
    std::ifstream metrics(dir.file(type + "-full") + "/metrics.jsonl");
    for (std::string line; std::getline(metrics, line);) {
      const auto row = json::parse(line);
      if (row.contains("loss") && row.contains("step")) losses.push_back(row["loss"].get<double>());
    }
    ASSERT_GE(losses.size(), 10u);
    double first = 0.0, last = 0.0;
    for (int i = 0; i < 5; ++i) {
      first += losses[static_cast<std::size_t>(i)] / 5;
      last += losses[losses.size() - 1 - static_cast<std::size_t>(i)] / 5;
    }
    std::cout << "[family-train] " << type << ": mean loss of the first five logs " << first
              << ", of the last five " << last << "\n";
    EXPECT_LT(last, first);

    const auto resumed_dir = dir.file(type + "-resumed");
    std::vector<std::string> interrupted{"train", "--output", resumed_dir};
    interrupted.insert(interrupted.end(), set.begin(), set.end());
    ASSERT_EQ(train_and_interrupt(interrupted, resumed_dir), 130);
    ASSERT_FALSE(fs::exists(resumed_dir + "/adapter")) << "the run finished before SIGINT";
    const auto resumed = run_pft({"train", "--resume", resumed_dir, "--threads", "1"});
    ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
    EXPECT_TRUE(pft::read_file(dir.file(type + "-full") + "/adapter/adapter_model.safetensors") ==
                pft::read_file(resumed_dir + "/adapter/adapter_model.safetensors"))
        << "resumed adapter differs";
    EXPECT_EQ(pft::read_file(dir.file(type + "-full") + "/metrics.jsonl"),
              pft::read_file(resumed_dir + "/metrics.jsonl"));
  }
}
