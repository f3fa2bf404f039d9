// Data-parallel training over c10d/Gloo on loopback: two ranks launched by torchrun train
// the same adapter as one process with the same global batch, metrics are written once, and
// a rank that dies ends the other with an error instead of a hang.

#include <gtest/gtest.h>

#include <fcntl.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "pft/io/safetensors.h"
#include "pft/train/distributed.h"
#include "pft/util/fs.h"
#include "support/test_util.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

class Distributed : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new pft::test::TempDir();
    const auto r = pft::test::run_python(
        "make_tiny_bert.py",
        {dir_->file("tiny"), pft::test::shared_data("tokenizers/bert-base-uncased/vocab.txt")});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // Dropout off: ranks draw different masks than one process would.
    auto cfg = json::parse(pft::read_file(dir_->file("tiny/config.json")));
    cfg["hidden_dropout_prob"] = 0.0;
    cfg["attention_probs_dropout_prob"] = 0.0;
    pft::test::write_text(dir_->file("tiny/config.json"), cfg.dump(2));
    pft::test::write_text(dir_->file("train.jsonl"),
                          pft::test::head_lines(pft::test::shared_data("sst2/train.jsonl"), 200));
    pft::test::write_text(dir_->file("dev.jsonl"),
                          pft::test::head_lines(pft::test::shared_data("sst2/dev.jsonl"), 25));
    const json config = {
        {"model", {{"path", dir_->file("tiny")}}},
        {"data", {{"train", dir_->file("train.jsonl")}, {"eval", dir_->file("dev.jsonl")}}},
        {"task", {{"labels", {"negative", "positive"}}}},
        {"peft", {{"method", "lora"}, {"r", 4}, {"lora_alpha", 8}, {"lora_dropout", 0.0}}},
        // 200 examples in batches of 16: the last batch of the epoch (8) is split unevenly.
        {"train",
         {{"lr", 1e-3},
          {"batch_size", 16},
          {"max_steps", 16},
          {"eval_every", 8},
          {"save_every", 8},
          {"seed", 5},
          {"log_every", 2},
          {"distributed_timeout", 20},
          {"precision", "fp32"}}},
    };
    pft::test::write_text(dir_->file("run.json"), config.dump(2));
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::vector<std::string> train_args(const std::string& out) {
    return {"train",     "--config", dir_->file("run.json"), "--output", dir_->file(out),
            "--threads", "1"};
  }
  static inline pft::test::TempDir* dir_ = nullptr;
};

double max_abs_diff(const std::string& a, const std::string& b) {
  const auto x = pft::io::read_safetensors(a), y = pft::io::read_safetensors(b);
  EXPECT_EQ(x.tensors.size(), y.tensors.size());
  double worst = 0;
  for (const auto& [name, t] : x.tensors) {
    const auto it = y.tensors.find(name);
    if (it == y.tensors.end()) {
      ADD_FAILURE() << name << " missing";
      continue;
    }
    worst = std::max(
        worst, (t.to(torch::kDouble) - it->second.to(torch::kDouble)).abs().max().item<double>());
  }
  return worst;
}

}  // namespace

TEST_F(Distributed, TwoGlooRanksUnderTorchrunTrainTheSingleProcessAdapter) {
  if (!pft::train::distributed_available()) GTEST_SKIP() << "built without c10d/Gloo";
  const auto one = pft::test::run_pft(train_args("one"));
  ASSERT_EQ(one.exit_code, 0) << one.err;
  std::vector<std::string> launch{
      pft::test::python(), "-m", "torch.distributed.run", "--standalone",
      "--nproc-per-node",  "2",  "--no-python",           PFT_BINARY};
  for (const auto& a : train_args("two")) launch.push_back(a);
  launch.insert(launch.end(), {"--log-level", "debug"});
  const auto two = pft::test::run_process(launch);
  ASSERT_EQ(two.exit_code, 0) << two.out << two.err;
  // Evaluation is sharded: of the 25 dev examples rank 0 predicts 13 and rank 1 predicts 12
  // (at each of the 2 evaluations), and the gathered metrics equal the single process's.
  const std::string all = two.out + two.err;
  EXPECT_NE(all.find("rank 0 of 2 predicted 13 of 25 evaluation examples"), std::string::npos) << all;
  EXPECT_NE(all.find("rank 1 of 2 predicted 12 of 25 evaluation examples"), std::string::npos) << all;
  const double diff = max_abs_diff(dir_->file("one/adapter/adapter_model.safetensors"),
                                   dir_->file("two/adapter/adapter_model.safetensors"));
  std::cout << "max abs diff, 2 ranks vs 1 process: " << diff << "\n";
  EXPECT_LE(diff, 1e-5);
  // Metrics written once: the same lines (steps, evaluations) as the single process's.
  const auto lines = [](const std::string& path) {
    std::vector<json> out;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) out.push_back(json::parse(line));
    return out;
  };
  const auto a = lines(dir_->file("one/metrics.jsonl")), b = lines(dir_->file("two/metrics.jsonl"));
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i]["step"], b[i]["step"]);
    if (a[i].contains("loss")) {
      EXPECT_NEAR(a[i]["loss"].get<double>(), b[i]["loss"].get<double>(), 1e-5);
    }
    if (a[i].contains("eval")) {
      EXPECT_EQ(a[i]["eval"], b[i]["eval"]);
    }
  }
  const auto summary = json::parse(pft::read_file(dir_->file("two/summary.json")));
  EXPECT_EQ(summary["steps"], 16);
  EXPECT_EQ(summary["examples"],
            json::parse(pft::read_file(dir_->file("one/summary.json")))["examples"]);
}

TEST_F(Distributed, ARankThatDiesEndsTheOtherWithAnError) {
  if (!pft::train::distributed_available()) GTEST_SKIP() << "built without c10d/Gloo";
  const int port = 20000 + static_cast<int>(getpid() % 20000);
  const auto spawn = [&](int rank) {
    const pid_t pid = fork();
    if (pid == 0) {
      const int null = ::open("/dev/null", O_WRONLY);
      dup2(null, 1);
      dup2(null, 2);
      setenv("RANK", std::to_string(rank).c_str(), 1);
      setenv("LOCAL_RANK", std::to_string(rank).c_str(), 1);
      setenv("WORLD_SIZE", "2", 1);
      setenv("MASTER_ADDR", "127.0.0.1", 1);
      setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
      auto args = train_args("dying");
      args.insert(args.end(),
                  {"--set", "train.max_steps=100000", "--set", "train.save_every=0", "--set",
                   "train.eval_every=0", "--set", "train.distributed_timeout=10"});
      std::vector<char*> argv{const_cast<char*>(PFT_BINARY)};
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(PFT_BINARY, argv.data());
      _exit(127);
    }
    return pid;
  };
  const pid_t r0 = spawn(0), r1 = spawn(1);
  // Let them train a little (metrics appear once the group works), then kill rank 1.
  const std::string metrics = dir_->file("dying/metrics.jsonl");
  for (int i = 0; i < 600; ++i) {
    std::error_code ec;
    if (fs::exists(metrics) && fs::file_size(metrics, ec) > 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(r1, SIGKILL);
  waitpid(r1, nullptr, 0);
  const auto killed = std::chrono::steady_clock::now();
  int status = 0;
  pid_t done = 0;
  while ((done = waitpid(r0, &status, WNOHANG)) == 0 &&
         std::chrono::steady_clock::now() - killed < std::chrono::seconds(30)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (done == 0) {
    kill(r0, SIGKILL);
    waitpid(r0, nullptr, 0);
    FAIL() << "rank 0 still running 30 s after rank 1 died";
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count();
  std::cout << "rank 0 ended " << seconds << " s after rank 1 was killed\n";
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_NE(WEXITSTATUS(status), 0);
  EXPECT_LE(seconds, 12.0);
}

TEST_F(Distributed, NcclOnTheCpuIsAConfigErrorNamingTheKey) {
  // Checked before any rendezvous: the process exits at once, naming the key.
  std::vector<std::string> args{"env", "WORLD_SIZE=2", "RANK=0", "LOCAL_RANK=0",
                                "MASTER_ADDR=127.0.0.1", "MASTER_PORT=1", PFT_BINARY};
  for (const auto& a : train_args("nccl-cpu")) args.push_back(a);
  for (const char* a : {"--device", "cpu", "--set", "train.distributed_backend=nccl"}) args.push_back(a);
  const auto r = pft::test::run_process(args);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("train.distributed_backend: nccl"), std::string::npos) << r.err;
}
