// Runs that cannot be lost or mixed (docs/reliability.md): the built binary against bad inputs
// and faults, each case as a user meets it. Tiny random models (real vocabularies) and real
// SST-2 / CoNLL-2003 lines keep every run to a few seconds.

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "pft/data/columnar.h"
#include "pft/util/fs.h"
#include "support/fixture_cache.h"
#include "support/test_util.h"

namespace fs = std::filesystem;
using nlohmann::json;
using pft::test::run_pft;
using pft::test::RunResult;

namespace {

bool has(const RunResult& r, const std::string& text) {
  return r.err.find(text) != std::string::npos || r.out.find(text) != std::string::npos;
}

// The complete checkpoints of a run, by step.
std::vector<std::int64_t> complete_checkpoints(const std::string& run_dir) {
  std::vector<std::int64_t> steps;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fs::path(run_dir) / "checkpoints", ec)) {
    const auto name = e.path().filename().string();
    if (name.rfind("step-", 0) == 0 && fs::exists(e.path() / "trainer_state.json")) {
      steps.push_back(std::stoll(name.substr(5)));
    }
  }
  std::sort(steps.begin(), steps.end());
  return steps;
}

// Entries of `dir` whose names start with a dot (temporary folders and files).
std::vector<std::string> hidden_entries(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const auto name = e.path().filename().string();
    if (!name.empty() && name.front() == '.') out.push_back(name);
  }
  return out;
}

// Holds an exclusive flock on `path` (created), with this process's PID written into it, the
// way pft marks a run directory (or an export's output) as in use.
class HeldLock {
 public:
  explicit HeldLock(const std::string& path) {
    fs::create_directories(fs::path(path).parent_path());
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT, 0644);
    EXPECT_GE(fd_, 0);
    EXPECT_EQ(::flock(fd_, LOCK_EX | LOCK_NB), 0);
    const std::string pid = std::to_string(::getpid()) + "\n";
    EXPECT_EQ(::ftruncate(fd_, 0), 0);
    EXPECT_EQ(::pwrite(fd_, pid.data(), pid.size(), 0), static_cast<ssize_t>(pid.size()));
  }
  ~HeldLock() { ::close(fd_); }
  HeldLock(const HeldLock&) = delete;
  HeldLock& operator=(const HeldLock&) = delete;

 private:
  int fd_ = -1;
};

class Reliability : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new pft::test::TempDir();
    const auto vocab = pft::test::shared_data("tokenizers/bert-base-uncased/vocab.txt");
    // Written once per build folder and shared by this suite's test processes (read-only).
    ASSERT_TRUE(
        pft::test::link_cached_fixture(dir_->file("tiny-bert"), "make_tiny_bert.py", {vocab}));
    // The same shapes, other weights: "another base model of the same shape".
    ASSERT_TRUE(pft::test::link_cached_fixture(dir_->file("tiny-bert-2"), "make_tiny_bert.py",
                                               {vocab, "32", "0.05"}));
    ASSERT_TRUE(pft::test::link_cached_fixture(dir_->file("task"), "make_task_models.py",
                                               {pft::test::shared_data()}));
    pft::test::write_text(dir_->file("train.jsonl"),
                          pft::test::head_lines(pft::test::shared_data("sst2/train.jsonl"), 64));
    pft::test::write_text(dir_->file("dev.jsonl"),
                          pft::test::head_lines(pft::test::shared_data("sst2/dev.jsonl"), 16));
    pft::test::write_text(
        dir_->file("ner.txt"),
        pft::test::head_lines(pft::test::shared_data("conll2003/valid.txt"), 120));
    pft::test::write_text(config_path(), base_config().dump(2));
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  static json base_config() {
    return {
        {"model", {{"path", dir_->file("tiny-bert")}}},
        {"tokenizer", {{"max_length", 32}}},
        {"data", {{"train", dir_->file("train.jsonl")}, {"eval", dir_->file("dev.jsonl")}}},
        {"task", {{"labels", {"negative", "positive"}}}},
        {"peft", {{"method", "lora"}, {"r", 4}, {"lora_alpha", 8}}},
        {"train",
         {{"lr", 1e-3},
          {"batch_size", 8},
          {"max_steps", 8},
          {"eval_every", 4},
          {"save_every", 4},
          {"seed", 7},
          {"log_every", 2},
          {"precision", "fp32"}}},
    };
  }
  static std::string config_path() { return dir_->file("run.json"); }
  // A config file of its own for one test, from base_config() with `edit` applied.
  static std::string config_with(const std::string& name, const std::function<void(json&)>& edit) {
    json c = base_config();
    edit(c);
    const auto path = dir_->file(name + ".json");
    pft::test::write_text(path, c.dump(2));
    return path;
  }
  static std::string run_dir(const std::string& name) { return dir_->file("runs/" + name); }
  static RunResult train(const std::string& name, std::vector<std::string> extra = {},
                         const std::string& config = {}) {
    std::vector<std::string> args{
        "train",     "--config", config.empty() ? config_path() : config, "--output", run_dir(name),
        "--threads", "1"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_pft(args);
  }
  static RunResult resume(const std::string& name, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"timeout",  "120",         PFT_BINARY,  "train",
                                  "--resume", run_dir(name), "--threads", "1"};
    args.insert(args.end(), extra.begin(), extra.end());
    return pft::test::run_process(args);
  }
  static void edit_json(const std::string& path, const std::function<void(json&)>& edit) {
    json j = json::parse(pft::read_file(path));
    edit(j);
    pft::test::write_text(path, j.dump(2));
  }
  static std::string newest_checkpoint(const std::string& name) {
    const auto steps = complete_checkpoints(run_dir(name));
    return steps.empty() ? std::string()
                         : run_dir(name) + "/checkpoints/step-" + std::to_string(steps.back());
  }

  static inline pft::test::TempDir* dir_ = nullptr;
};

}  // namespace

// 1. Disk full while optimizer.pt is written.
TEST_F(Reliability, DiskFullWhileSavingExitsOneAndKeepsEarlierCheckpoints) {
  ASSERT_EQ(train("full", {"--set", "train.save_every=1", "--set", "train.max_steps=2"}).exit_code,
            0);
  const auto before = complete_checkpoints(run_dir("full"));
  ASSERT_EQ(before, (std::vector<std::int64_t>{1, 2}));
  const auto step2 = newest_checkpoint("full");
  const auto trainable = fs::file_size(step2 + "/trainable.safetensors");
  const auto optimizer = fs::file_size(step2 + "/optimizer.pt");
  ASSERT_GT(optimizer, trainable + 2048);
  // Continue the run for two more steps with every file limited to a size between the two:
  // the trainable tensors fit, optimizer.pt does not (the process gets EFBIG, as on a full disk).
  edit_json(run_dir("full") + "/config.resolved.json",
            [](json& c) { c["train"]["max_steps"] = 4; });
  const auto blocks = std::to_string((trainable + optimizer) / 2 / 1024);
  const auto r = pft::test::run_process(
      {"bash", "-c", "trap '' XFSZ; ulimit -f " + blocks + "; exec \"$@\"", "bash", PFT_BINARY,
       "train", "--resume", run_dir("full"), "--resume-anyway", "--threads", "1"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(has(r, "optimizer.pt")) << r.err;
  EXPECT_TRUE(has(r, "disk full")) << r.err;
  EXPECT_EQ(hidden_entries(run_dir("full") + "/checkpoints"), std::vector<std::string>{})
      << "a temporary checkpoint folder was left behind";
  EXPECT_EQ(complete_checkpoints(run_dir("full")), before);
  // The earlier checkpoints are whole: the run resumes from step 2 once space is back.
  const auto again = resume("full", {"--resume-anyway"});
  EXPECT_EQ(again.exit_code, 0) << again.err;
}

// 2. Negative step in trainer_state.json.
TEST_F(Reliability, ImpossibleTrainerStateIsRefusedNamingFileAndField) {
  ASSERT_EQ(train("state").exit_code, 0);
  const auto state = newest_checkpoint("state") + "/trainer_state.json";
  const std::string saved = pft::read_file(state);
  for (const char* field : {"step", "batch_in_epoch", "epoch", "best_step", "metrics_lines"}) {
    edit_json(state, [&](json& j) { j[field] = -5; });
    const auto r = resume("state");
    EXPECT_EQ(r.exit_code, 2) << field << ": " << r.err;
    EXPECT_TRUE(has(r, "trainer_state.json")) << r.err;
    EXPECT_TRUE(has(r, field)) << r.err;
    pft::test::write_text(state, saved);
  }
  edit_json(state, [](json& j) { j["step"] = "eight"; });
  const auto typed = resume("state");
  EXPECT_EQ(typed.exit_code, 2) << typed.err;
  EXPECT_TRUE(has(typed, "trainer_state.json")) << typed.err;
  pft::test::write_text(state, saved);
}

// 3. A new run into an existing run directory.
TEST_F(Reliability, ANonEmptyRunDirectoryIsRefusedAndLeftAsItWas) {
  ASSERT_EQ(train("old", {"--set", "train.max_steps=16"}).exit_code, 0);
  const auto metrics = pft::read_file(run_dir("old") + "/metrics.jsonl");
  const auto config = pft::read_file(run_dir("old") + "/config.resolved.json");
  const auto again = train("old", {"--set", "train.lr=2e-3"});
  EXPECT_EQ(again.exit_code, 2) << again.err;
  EXPECT_TRUE(has(again, "--resume")) << again.err;
  EXPECT_TRUE(has(again, "--overwrite")) << again.err;
  // A failed start (bad data path) with --overwrite touches nothing either.
  const auto bad =
      train("old", {"--overwrite", "--set", "data.train=" + dir_->file("missing.jsonl")});
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_EQ(pft::read_file(run_dir("old") + "/metrics.jsonl"), metrics);
  EXPECT_EQ(pft::read_file(run_dir("old") + "/config.resolved.json"), config);
  EXPECT_EQ(complete_checkpoints(run_dir("old")), (std::vector<std::int64_t>{12, 16}));
  // --overwrite starts afresh: none of the old run's checkpoints survive.
  const auto fresh = train("old", {"--overwrite", "--set", "train.max_steps=8"});
  ASSERT_EQ(fresh.exit_code, 0) << fresh.err;
  EXPECT_EQ(complete_checkpoints(run_dir("old")), (std::vector<std::int64_t>{4, 8}));
  EXPECT_EQ(
      json::parse(pft::read_file(run_dir("old") + "/config.resolved.json"))["train"]["max_steps"],
      8);
  // --overwrite removes only what a run directory holds.
  pft::test::write_text(run_dir("notes") + "/notes.txt", "mine\n");
  const auto foreign = train("notes", {"--overwrite"});
  EXPECT_EQ(foreign.exit_code, 2) << foreign.err;
  EXPECT_TRUE(fs::exists(run_dir("notes") + "/notes.txt"));
}

// 4. Two runs with the same output directory at once.
TEST_F(Reliability, ARunDirectoryInUseIsRefusedNamingThePid) {
  {
    const HeldLock lock(run_dir("held") + "/.lock");
    const auto r = train("held");
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_TRUE(has(r, std::to_string(::getpid()))) << r.err;
    EXPECT_FALSE(fs::exists(run_dir("held") + "/metrics.jsonl"));
  }
  // A real run holds it until it ends; kill -9 leaves no stale lock.
  const pid_t pid = fork();
  if (pid == 0) {
    const int null = ::open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    execl(PFT_BINARY, PFT_BINARY, "train", "--config", config_path().c_str(), "--output",
          run_dir("busy").c_str(), "--threads", "1", "--set", "train.max_steps=100000", "--set",
          "train.save_every=0", "--set", "train.eval_every=0", static_cast<char*>(nullptr));
    _exit(127);
  }
  ASSERT_GT(pid, 0);
  for (int i = 0; i < 1200 && !fs::exists(run_dir("busy") + "/metrics.jsonl"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const auto second = train("busy");
  EXPECT_EQ(second.exit_code, 2) << second.err;
  EXPECT_TRUE(has(second, std::to_string(pid))) << second.err;
  const auto overwrite = train("busy", {"--overwrite"});
  EXPECT_EQ(overwrite.exit_code, 2) << overwrite.err;
  EXPECT_TRUE(has(overwrite, std::to_string(pid))) << overwrite.err;
  const auto resumed = resume("busy");
  EXPECT_EQ(resumed.exit_code, 2) << resumed.err;
  EXPECT_TRUE(has(resumed, std::to_string(pid))) << resumed.err;
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  const auto after = train("busy", {"--overwrite"});
  EXPECT_EQ(after.exit_code, 0) << after.err;
}

TEST_F(Reliability, AnExportOutputInUseIsRefusedNamingThePid) {
  ASSERT_EQ(train("to-export").exit_code, 0);
  const auto out = dir_->file("exports/merged");
  const HeldLock lock(dir_->file("exports/.merged.lock"));
  const auto r = run_pft({"export", "--merge", run_dir("to-export") + "/adapter", "--model",
                          dir_->file("tiny-bert"), "--output", out, "--threads", "1"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(has(r, std::to_string(::getpid()))) << r.err;
  EXPECT_FALSE(fs::exists(out));
}

// 5. An unlabelled line in the evaluation file; a failure inside a run keeps its state.
TEST_F(Reliability, AnUnlabelledEvalLineFailsBeforeTheFirstStep) {
  std::string dev = pft::read_file(dir_->file("dev.jsonl"));
  dev.insert(dev.find('\n', dev.find('\n', dev.find('\n', dev.find('\n') + 1) + 1) + 1) + 1,
             "{\"text\": \"no label here\"}\n");  // line 5
  pft::test::write_text(dir_->file("dev-unlabelled.jsonl"), dev);
  const auto r = train("unlabelled", {"--set", "data.eval=" + dir_->file("dev-unlabelled.jsonl")});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(has(r, "dev-unlabelled.jsonl:5")) << r.err;
  EXPECT_FALSE(fs::exists(run_dir("unlabelled") + "/metrics.jsonl")) << "a step ran";
}

TEST_F(Reliability, AFailureInsideARunSavesFirst) {
  const auto r =
      train("failing", {"--set", "train.metric_for_best=bleu", "--set", "train.save_every=0"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(has(r, "train.metric_for_best")) << r.err;
  EXPECT_EQ(complete_checkpoints(run_dir("failing")), std::vector<std::int64_t>{4})
      << "the trained state was discarded";
}

// 6. Resuming after what determines the results changed.
TEST_F(Reliability, ResumeRefusesAChangedRunUnlessToldOtherwise) {
  const auto data = dir_->file("train-6.jsonl");
  pft::test::write_text(data, pft::read_file(dir_->file("train.jsonl")));
  const auto config = config_with("fp", [&](json& c) { c["data"]["train"] = data; });
  ASSERT_EQ(train("fp", {}, config).exit_code, 0);
  const auto resolved = run_dir("fp") + "/config.resolved.json";
  const auto saved = pft::read_file(resolved);
  ASSERT_EQ(resume("fp").exit_code, 0);  // nothing changed

  edit_json(resolved, [](json& c) { c["train"]["lr"] = 2e-3; });
  const auto lr = resume("fp");
  EXPECT_EQ(lr.exit_code, 2) << lr.err;
  EXPECT_TRUE(has(lr, "train.lr")) << lr.err;
  EXPECT_TRUE(has(lr, "--resume-anyway")) << lr.err;
  const auto anyway = resume("fp", {"--resume-anyway"});
  EXPECT_EQ(anyway.exit_code, 0) << anyway.err;
  EXPECT_TRUE(has(anyway, "train.lr")) << anyway.err;  // every difference is logged
  pft::test::write_text(resolved, saved);

  edit_json(resolved, [&](json& c) {
    c["model"]["path"] = dir_->file("tiny-bert-2");
    c["tokenizer"]["path"] = dir_->file("tiny-bert-2");
  });
  const auto model = resume("fp");
  EXPECT_EQ(model.exit_code, 2) << model.err;
  EXPECT_TRUE(has(model, "model.path")) << model.err;
  pft::test::write_text(resolved, saved);

  pft::test::write_text(
      data, pft::read_file(data) + "{\"text\": \"one more\", \"label\": \"positive\"}\n");
  const auto changed = resume("fp");
  EXPECT_EQ(changed.exit_code, 2) << changed.err;
  EXPECT_TRUE(has(changed, "data.train")) << changed.err;
}

// 7. Step counts that overflow.
TEST_F(Reliability, IntegerKeysOutsideWhatTheScheduleRepresentsAreRefused) {
  for (const auto& set : std::vector<std::string>{
           "train.epochs=9223372036854775807", "train.batch_size=9223372036854775807",
           "train.max_steps=18446744073709551615", "train.max_steps=9223372036854775807"}) {
    const auto r = train("overflow", {"--dry-run", "--set", set});
    EXPECT_EQ(r.exit_code, 2) << set << ": " << r.err;
    EXPECT_TRUE(has(r, set.substr(0, set.find('=')))) << r.err;
    EXPECT_FALSE(has(r, "got -1")) << r.err;
  }
}

// 8. The CoNLL reader.
TEST_F(Reliability, TheConllReaderRefusesWhatIsNotConll) {
  const auto ner = [&](const std::string& data, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{
        "eval",
        "--config",
        config_path(),
        "--model",
        dir_->file("task/ner"),
        "--data",
        data,
        "--threads",
        "1",
        "--set",
        "task.type=token_classification",
        "--set",
        R"(task.labels=["O","B-PER","I-PER","B-ORG","I-ORG","B-LOC","I-LOC","B-MISC","I-MISC"])"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_pft(args);
  };
  const auto folder = ner(dir_->file("task"));
  EXPECT_EQ(folder.exit_code, 2) << folder.err;
  const auto jsonl = ner(dir_->file("dev.jsonl"), {"--set", "data.format=conll"});
  EXPECT_EQ(jsonl.exit_code, 2) << jsonl.err;
  EXPECT_TRUE(has(jsonl, "dev.jsonl:1")) << jsonl.err;
  pft::test::write_text(dir_->file("empty.txt"), "-DOCSTART- -X- -X- O\n\n");
  const auto empty = ner(dir_->file("empty.txt"));
  EXPECT_EQ(empty.exit_code, 2) << empty.err;
  // A tab-separated word with a space keeps both parts.
  pft::test::write_text(dir_->file("tabs.txt"), "New York\tB-LOC\nis\tO\nbig\tO\n\n");
  const auto tabs = ner(dir_->file("tabs.txt"), {"--predictions", dir_->file("tabs-pred.jsonl")});
  ASSERT_EQ(tabs.exit_code, 0) << tabs.err;
  const auto line = json::parse(pft::test::head_lines(dir_->file("tabs-pred.jsonl"), 1));
  EXPECT_EQ(line["words"], json({"New York", "is", "big"}));
}

// 9. data.format tsv/csv were accepted and ignored; now they have readers, and the same
// examples train the same adapter from JSON Lines, TSV (integer labels, as GLUE ships them) and
// CSV (quoted fields).
TEST_F(Reliability, TsvAndCsvTrainTheSameAdapterAsJsonl) {
  std::string tsv = "text\tlabel\n", csv = "text,label\n";
  std::istringstream lines(pft::read_file(dir_->file("train.jsonl")));
  for (std::string line; std::getline(lines, line);) {
    const auto r = json::parse(line);
    const auto text = r["text"].get<std::string>();
    tsv += text + "\t" + (r["label"] == "positive" ? "1" : "0") + "\n";
    std::string quoted = "\"";
    for (const char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
    csv += quoted + "\"," + r["label"].get<std::string>() + "\r\n";
  }
  pft::test::write_text(dir_->file("train.tsv"), tsv);
  pft::test::write_text(dir_->file("train.csv"), csv);
  const auto jsonl = train("fmt-jsonl");
  ASSERT_EQ(jsonl.exit_code, 0) << jsonl.err;
  const auto by_tsv = train("fmt-tsv", {"--set", "data.train=" + dir_->file("train.tsv")});
  ASSERT_EQ(by_tsv.exit_code, 0) << by_tsv.err;
  // data.format auto: each file by its extension (the evaluation file stays JSON Lines).
  const auto by_csv = train("fmt-csv", {"--set", "data.train=" + dir_->file("train.csv")});
  ASSERT_EQ(by_csv.exit_code, 0) << by_csv.err;
  const auto adapter = [](const std::string& name) {
    return pft::read_file(run_dir(name) + "/adapter/adapter_model.safetensors");
  };
  EXPECT_EQ(adapter("fmt-tsv"), adapter("fmt-jsonl"));
  EXPECT_EQ(adapter("fmt-csv"), adapter("fmt-jsonl"));

  // A JSONL file read as CSV names the file and line; a label index beyond the labels too.
  const auto wrong = train("fmt-wrong", {"--dry-run", "--set", "data.format=csv"});
  EXPECT_EQ(wrong.exit_code, 2) << wrong.err;
  EXPECT_TRUE(has(wrong, "train.jsonl")) << wrong.err;
  pft::test::write_text(dir_->file("bad.tsv"), "text\tlabel\nfine\t1\nbad\t2\n");
  const auto index =
      train("fmt-index", {"--dry-run", "--set", "data.train=" + dir_->file("bad.tsv")});
  EXPECT_EQ(index.exit_code, 2) << index.err;
  EXPECT_TRUE(has(index, "bad.tsv:3") && has(index, "out of range")) << index.err;
}

// Parquet (pandas, string labels) and a datasets save_to_disk folder (two shards, the label a
// ClassLabel: integers on disk) train the same adapter as the JSON Lines they were made from, by
// extension and folder alone; --dry-run checks them; eval reads the folder too.
TEST_F(Reliability, ParquetAndSavedDatasetTrainTheSameAdapterAsJsonl) {
  if (!pft::data::columnar_supported()) GTEST_SKIP() << "built without Apache Arrow";
  const auto train_jsonl = dir_->file("train.jsonl");
  ASSERT_EQ(pft::test::run_python("write_columnar.py",
                                  {"parquet", train_jsonl, dir_->file("train.parquet")})
                .exit_code,
            0);
  ASSERT_EQ(pft::test::run_python("write_columnar.py", {"dataset", train_jsonl,
                                                        dir_->file("train-saved"), "label",
                                                        "negative,positive"})
                .exit_code,
            0);
  ASSERT_EQ(pft::test::run_python("write_columnar.py", {"dataset", dir_->file("dev.jsonl"),
                                                        dir_->file("dev-saved"), "label",
                                                        "negative,positive"})
                .exit_code,
            0);
  const auto jsonl = train("col-jsonl");
  ASSERT_EQ(jsonl.exit_code, 0) << jsonl.err;
  const auto dry = train("col-dry", {"--dry-run", "--set", "data.train=" + dir_->file("train-saved")});
  EXPECT_EQ(dry.exit_code, 0) << dry.err;
  const auto parquet = train("col-parquet", {"--set", "data.train=" + dir_->file("train.parquet")});
  ASSERT_EQ(parquet.exit_code, 0) << parquet.err;
  const auto saved = train("col-saved", {"--set", "data.train=" + dir_->file("train-saved"), "--set",
                                         "data.eval=" + dir_->file("dev-saved")});
  ASSERT_EQ(saved.exit_code, 0) << saved.err;
  const auto adapter = [](const std::string& name) {
    return pft::read_file(run_dir(name) + "/adapter/adapter_model.safetensors");
  };
  EXPECT_EQ(adapter("col-parquet"), adapter("col-jsonl"));
  EXPECT_EQ(adapter("col-saved"), adapter("col-jsonl"));
  // The same evaluation numbers from the folder as from the JSON Lines dev file.
  const auto metrics = [](const std::string& name) {
    std::string last;
    std::istringstream lines(pft::read_file(run_dir(name) + "/metrics.jsonl"));
    for (std::string line; std::getline(lines, line);) {
      if (line.find("\"eval\"") != std::string::npos) last = line;
    }
    return last.empty() ? json() : json::parse(last)["eval"];
  };
  EXPECT_EQ(metrics("col-saved"), metrics("col-jsonl"));
  const auto eval = run_pft({"eval", "--model", dir_->file("tiny-bert"), "--adapter",
                             run_dir("col-saved") + "/adapter", "--data", dir_->file("dev-saved"),
                             "--threads", "1", "--set", "task.labels=[\"negative\",\"positive\"]"});
  EXPECT_EQ(eval.exit_code, 0) << eval.err;
  // A folder with format jsonl, and a DatasetDict, are errors naming them.
  const auto as_jsonl = train("col-as-jsonl", {"--dry-run", "--set", "data.format=jsonl", "--set",
                                               "data.train=" + dir_->file("train-saved")});
  EXPECT_EQ(as_jsonl.exit_code, 2) << as_jsonl.err;
  EXPECT_TRUE(has(as_jsonl, "train-saved")) << as_jsonl.err;
}

// pissa_niter_N's residual weights come from a seeded random draw that no checkpoint holds: a
// resumed run must draw them again identically, and end with the uninterrupted run's adapter
// (saved converted to a plain LoRA of rank 2r).
TEST_F(Reliability, RandomizedPissaResumesExactly) {
  const std::vector<std::string> niter{"--set", "peft.init_lora_weights=pissa_niter_2", "--set",
                                       "train.save_every=2", "--set", "train.max_steps=4",
                                       "--set", "train.eval_every=0"};
  const auto whole = train("niter-whole", niter);
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  const auto cut = run_dir("niter-cut");
  fs::copy(run_dir("niter-whole"), cut, fs::copy_options::recursive);
  for (const char* gone : {"checkpoints/step-4", "adapter", "best", "summary.json"}) {
    fs::remove_all(fs::path(cut) / gone);
  }
  const auto resumed = resume("niter-cut");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(pft::read_file(cut + "/adapter/adapter_model.safetensors"),
            pft::read_file(run_dir("niter-whole") + "/adapter/adapter_model.safetensors"));
  const auto config = json::parse(pft::read_file(cut + "/adapter/adapter_config.json"));
  EXPECT_EQ(config["r"], 8);
  EXPECT_EQ(config["init_lora_weights"], true);
}

// GLUE's own SST-2 dev.tsv (sentence, integer label; every sentence ends in a space) trains the
// same adapter as the same rows shipped as JSON Lines and as a CSV copy, and passes --dry-run.
TEST_F(Reliability, TheShippedGlueTsvTrainsAsItsJsonlAndCsv) {
  const auto glue = pft::test::head_lines(pft::test::shared_data("sst2/glue/dev.tsv"), 33);
  pft::test::write_text(dir_->file("glue.tsv"), glue);
  pft::test::write_text(dir_->file("glue.jsonl"),
                        pft::test::head_lines(pft::test::shared_data("sst2/dev.jsonl"), 32));
  std::string csv = "sentence,label\r\n";
  std::istringstream rows(glue);
  std::string row;
  std::getline(rows, row);  // the header
  while (std::getline(rows, row)) {
    const auto tab = row.find('\t');
    ASSERT_NE(tab, std::string::npos) << row;
    std::string quoted = "\"";
    for (const char c : row.substr(0, tab))
      quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
    csv += quoted + "\"," + row.substr(tab + 1) + "\r\n";
  }
  pft::test::write_text(dir_->file("glue.csv"), csv);

  // The evaluation file (JSON Lines, field "text") stays out: data.text_field names GLUE's.
  const auto config = config_with("glue", [](json& c) { c["data"].erase("eval"); });
  const auto dry = train("glue-dry",
                         {"--dry-run", "--set", "data.train=" + dir_->file("glue.tsv"), "--set",
                          "data.text_field=sentence"},
                         config);
  EXPECT_EQ(dry.exit_code, 0) << dry.err;
  const auto dry_csv = train("glue-dry-csv",
                             {"--dry-run", "--set", "data.train=" + dir_->file("glue.csv"), "--set",
                              "data.text_field=sentence", "--set", "data.format=csv"},
                             config);
  EXPECT_EQ(dry_csv.exit_code, 0) << dry_csv.err;

  ASSERT_EQ(
      train("glue-jsonl", {"--set", "data.train=" + dir_->file("glue.jsonl")}, config).exit_code,
      0);
  for (const char* ext : {"tsv", "csv"}) {
    const auto name = std::string("glue-") + ext;
    const auto r = train(name,
                         {"--set", "data.train=" + dir_->file("glue." + std::string(ext)), "--set",
                          "data.text_field=sentence"},
                         config);
    ASSERT_EQ(r.exit_code, 0) << ext << ": " << r.err;
    EXPECT_EQ(pft::read_file(run_dir(name) + "/adapter/adapter_model.safetensors"),
              pft::read_file(run_dir("glue-jsonl") + "/adapter/adapter_model.safetensors"))
        << ext;
  }
}

// Integer labels without task.labels: indices into the checkpoint's id2label when its head is
// trained (tiny-bert: negative, positive); else the labels' own names, collected from the data
// (0 and 2, 1 absent). JSON Lines and TSV copies train one adapter either way.
TEST_F(Reliability, IntegerLabelsWithoutTaskLabels) {
  std::string jsonl01, jsonl02, tsv01 = "text\tlabel\n", tsv02 = "text\tlabel\n";
  std::istringstream lines(pft::read_file(dir_->file("train.jsonl")));
  for (std::string line; std::getline(lines, line);) {
    const auto r = json::parse(line);
    const int label = r["label"] == "positive" ? 1 : 0;
    const auto text = r["text"].get<std::string>();
    jsonl01 += json{{"text", text}, {"label", label}}.dump() + "\n";
    jsonl02 += json{{"text", text}, {"label", 2 * label}}.dump() + "\n";
    tsv01 += text + "\t" + std::to_string(label) + "\n";
    tsv02 += text + "\t" + std::to_string(2 * label) + "\n";
  }
  pft::test::write_text(dir_->file("int01.jsonl"), jsonl01);
  pft::test::write_text(dir_->file("int02.jsonl"), jsonl02);
  pft::test::write_text(dir_->file("int01.tsv"), tsv01);
  pft::test::write_text(dir_->file("int02.tsv"), tsv02);
  const auto adapter = [](const std::string& name) {
    return pft::read_file(run_dir(name) + "/adapter/adapter_model.safetensors");
  };
  const auto labels = [](const std::string& name) {
    return json::parse(pft::read_file(run_dir(name) + "/adapter/pft_identity.json"))["labels"];
  };

  const auto head = config_with("int-head", [&](json& c) { c["task"].erase("labels"); });
  for (const char* file : {"int01.jsonl", "int01.tsv"}) {
    const auto r =
        train(std::string("head-") + file, {"--set", "data.train=" + dir_->file(file)}, head);
    ASSERT_EQ(r.exit_code, 0) << file << ": " << r.err;
    EXPECT_EQ(labels(std::string("head-") + file), json({"negative", "positive"})) << file;
  }
  EXPECT_EQ(adapter("head-int01.tsv"), adapter("head-int01.jsonl"));
  const auto beyond =
      train("head-int02", {"--set", "data.train=" + dir_->file("int02.jsonl")}, head);
  EXPECT_EQ(beyond.exit_code, 2) << beyond.err;
  EXPECT_TRUE(has(beyond, "int02.jsonl:") && has(beyond, "'label'") && has(beyond, "out of range"))
      << beyond.err;

  const auto no_head = config_with("int-no-head", [&](json& c) {
    c["task"].erase("labels");
    c["data"].erase("eval");
    c["model"]["path"] = dir_->file("task/mlm");
  });
  for (const char* file : {"int02.jsonl", "int02.tsv"}) {
    const auto r =
        train(std::string("data-") + file, {"--set", "data.train=" + dir_->file(file)}, no_head);
    ASSERT_EQ(r.exit_code, 0) << file << ": " << r.err;
    EXPECT_EQ(labels(std::string("data-") + file), json({"0", "2"})) << file;
  }
  EXPECT_EQ(adapter("data-int02.tsv"), adapter("data-int02.jsonl"));
}

// 10. `pft eval` cross-checks.
TEST_F(Reliability, EvalCrossChecksLabelsBaseModelDataAndPredictions) {
  ASSERT_EQ(train("for-eval").exit_code, 0);
  const auto adapter = run_dir("for-eval") + "/adapter";
  const std::vector<std::string> eval{"eval",      "--config", config_path(), "--adapter", adapter,
                                      "--threads", "1"};
  const auto with = [&](std::vector<std::string> extra) {
    auto args = eval;
    args.insert(args.end(), extra.begin(), extra.end());
    return run_pft(args);
  };
  ASSERT_EQ(with({}).exit_code, 0);
  const auto swapped = with({"--set", R"(task.labels=["positive","negative"])"});
  EXPECT_EQ(swapped.exit_code, 2) << swapped.err;
  EXPECT_TRUE(has(swapped, "task.labels")) << swapped.err;
  const auto other = with({"--model", dir_->file("tiny-bert-2")});
  EXPECT_EQ(other.exit_code, 0) << other.err;
  EXPECT_TRUE(has(other, "another base model")) << other.err;
  pft::test::write_text(dir_->file("dev-one-unlabelled.jsonl"),
                        pft::read_file(dir_->file("dev.jsonl")) + "{\"text\": \"unlabelled\"}\n");
  const auto unlabelled = with({"--data", dir_->file("dev-one-unlabelled.jsonl")});
  EXPECT_EQ(unlabelled.exit_code, 2) << unlabelled.err;
  EXPECT_TRUE(has(unlabelled, "dev-one-unlabelled.jsonl:17")) << unlabelled.err;
  const auto dev = pft::read_file(dir_->file("dev.jsonl"));
  const auto same =
      with({"--data", dir_->file("dev.jsonl"), "--predictions", dir_->file("dev.jsonl")});
  EXPECT_EQ(same.exit_code, 2) << same.err;
  EXPECT_EQ(pft::read_file(dir_->file("dev.jsonl")), dev);
}

// 11. Verbalizer words that the cloze task cannot tell apart.
TEST_F(Reliability, IndistinguishableVerbalizerWordsAreRefused) {
  const auto config = config_with("cloze", [&](json& c) {
    c["model"]["path"] = dir_->file("task/mlm");
    c["task"]["type"] = "cloze";
    c["prompt"] = {{"template", "{text} It was {mask}."},
                   {"verbalizer", {{"negative", {"terrible"}}, {"positive", {"terribleness"}}}}};
  });
  const auto r = train("cloze", {"--dry-run"}, config);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(has(r, "prompt.verbalizer")) << r.err;
  EXPECT_TRUE(has(r, "terrible")) << r.err;
}

// 12. --dry-run checks the template and the labels against the data.
TEST_F(Reliability, DryRunChecksTheTemplateAndTheLabelsAgainstTheData) {
  const auto cloze = [&](const std::string& name, const std::string& tmpl) {
    return config_with(name, [&](json& c) {
      c["model"]["path"] = dir_->file("task/mlm");
      c["task"]["type"] = "cloze";
      c["prompt"] = {{"template", tmpl},
                     {"verbalizer", {{"negative", {"terrible"}}, {"positive", {"great"}}}}};
    });
  };
  EXPECT_EQ(train("dry", {"--dry-run"}, cloze("dry-ok", "{text} It was {mask}.")).exit_code, 0);
  const auto field = train("dry", {"--dry-run"}, cloze("dry-field", "{txt} It was {mask}."));
  EXPECT_EQ(field.exit_code, 2) << field.err;
  EXPECT_TRUE(has(field, "txt")) << field.err;
  EXPECT_TRUE(has(field, "train.jsonl:1")) << field.err;
  const auto brace = train("dry", {"--dry-run"}, cloze("dry-brace", "{text It was {mask}."));
  EXPECT_EQ(brace.exit_code, 2) << brace.err;
  EXPECT_TRUE(has(brace, "prompt.template")) << brace.err;
  const auto labels = train("dry", {"--dry-run", "--set", R"(task.labels=["negative","neutral"])"});
  EXPECT_EQ(labels.exit_code, 2) << labels.err;
  EXPECT_TRUE(has(labels, "positive")) << labels.err;
  EXPECT_FALSE(fs::exists(run_dir("dry")));
}

// 14. Numbers that overflow.
TEST_F(Reliability, NumberOverflowNamesTheKey) {
  const auto huge = train("numbers", {"--dry-run", "--set", "train.lr=1e999"});
  EXPECT_EQ(huge.exit_code, 2) << huge.err;
  EXPECT_TRUE(has(huge, "train.lr")) << huge.err;
  const auto file = dir_->file("overflow.json");
  pft::test::write_text(file, "{\"train\": {\"lr\": 1e999}}");
  const auto in_file = run_pft({"train", "--config", file, "--dry-run"});
  EXPECT_EQ(in_file.exit_code, 2) << in_file.err;
  EXPECT_TRUE(has(in_file, "train.lr")) << in_file.err;
  const auto big = train("numbers", {"--dry-run", "--set", "train.lr=1e300"});
  EXPECT_EQ(big.exit_code, 2) << big.err;
  EXPECT_TRUE(has(big, "train.lr")) << big.err;
}

// 15. Damaged checkpoint files.
TEST_F(Reliability, DamagedCheckpointFilesAreInputErrorsNamingTheFile) {
  ASSERT_EQ(train("damaged").exit_code, 0);
  const auto dir = newest_checkpoint("damaged");
  const auto adapter = pft::read_file(dir + "/adapter/adapter_model.safetensors");
  const std::vector<std::pair<std::string, std::string>> damages{
      {"trainer_state.json", "{\"step\": 8,"},
      {"rng.safetensors", "not a safetensors file"},
      {"rng.safetensors", adapter},  // valid, but without the generator's state
      {"optimizer.pt", "PK\x03\x04 not really"},
      {"optimizer.pt", adapter},
      {"trainable.safetensors", "\x08"}};
  for (const auto& [name, bytes] : damages) {
    const auto path = dir + "/" + name;
    const auto saved = pft::read_file(path);
    pft::test::write_text(path, bytes);
    const auto r = resume("damaged");
    EXPECT_EQ(r.exit_code, 2) << name << ": " << r.err;
    EXPECT_TRUE(has(r, name)) << r.err;
    pft::test::write_text(path, saved);
  }
}

// 16. `pft export --output DIR/`.
TEST_F(Reliability, ExportAcceptsATrailingSlash) {
  ASSERT_EQ(train("slash").exit_code, 0);
  const auto out = dir_->file("exports/slash");
  const auto r = run_pft({"export", "--merge", run_dir("slash") + "/adapter", "--model",
                          dir_->file("tiny-bert"), "--output", out + "/", "--threads", "1"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(out + "/model.safetensors"));
}

// 17. Output directories that cannot be run directories.
TEST_F(Reliability, AnUnusableOutputDirIsAConfigError) {
  pft::test::write_text(dir_->file("a-file"), "x\n");
  for (const std::string& out : {dir_->file("a-file"), std::string(), std::string("/proc/pft-run"),
                                 dir_->file("a-file") + "/below"}) {
    const auto r = run_pft(
        {"train", "--config", config_path(), "--set", "train.output_dir=" + out, "--threads", "1"});
    EXPECT_EQ(r.exit_code, 2) << "'" << out << "': " << r.err;
    EXPECT_TRUE(has(r, "train.output_dir")) << r.err;
    EXPECT_FALSE(has(r, "filesystem error")) << r.err;
  }
}

// 18. model.path naming a file.
TEST_F(Reliability, AModelPathThatIsAFileIsNotAModelFolder) {
  const auto r = train("model-file", {"--set", "model.path=" + dir_->file("tiny-bert/vocab.txt")});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(has(r, "not a model folder")) << r.err;
  EXPECT_FALSE(has(r, "invalid JSON")) << r.err;
}
