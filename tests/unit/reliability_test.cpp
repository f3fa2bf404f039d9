// The pieces that keep runs from being lost or mixed (docs/reliability.md): checkpoint state
// validation, the CoNLL reader, number limits of the config, the run-directory lock and
// ownership rules, run fingerprints and the verbalizer check.

#include <gtest/gtest.h>

#include <filesystem>

#include "pft/config/config.h"
#include "pft/data/conll.h"
#include "pft/prompt/verbalizer.h"
#include "pft/train/fingerprint.h"
#include "pft/train/run_dir.h"
#include "pft/train/trainer_state.h"
#include "pft/util/error.h"
#include "pft/util/file_lock.h"
#include "pft/util/fs.h"
#include "pft/util/hash.h"
#include "support/test_util.h"

namespace fs = std::filesystem;
using nlohmann::json;
using pft::ErrorKind;
using pft::test::error_of;

namespace {

json valid_state() {
  return {{"step", 8},           {"epoch", 1},
          {"batch_in_epoch", 3}, {"best_metric", 0.75},
          {"best_step", 8},      {"bad_evals", 0},
          {"examples", 64},      {"tokens", 900},
          {"metrics_lines", 6},  {"running_loss", 0.5},
          {"running_count", 1},  {"grad_scaler", {{"scale", 1.0}, {"good_steps", 0}}}};
}

pft::train::StateLimits limits() {
  pft::train::StateLimits l;
  l.total_steps = 24;
  l.batches_per_epoch = 8;
  l.epochs = 3;
  l.metrics_lines = 10;
  return l;
}

}  // namespace

TEST(TrainerState, RoundTripsAndRefusesEveryImpossibleField) {
  const auto parsed = pft::train::parse_trainer_state(valid_state().dump(), "ts.json", limits());
  EXPECT_EQ(pft::train::to_json(parsed), valid_state());
  const std::vector<std::pair<std::string, json>> bad{{"step", -5},
                                                      {"step", 25},
                                                      {"step", "eight"},
                                                      {"step", 1.5},
                                                      {"epoch", -1},
                                                      {"epoch", 4},
                                                      {"batch_in_epoch", -1},
                                                      {"batch_in_epoch", 9},
                                                      {"best_step", -2},
                                                      {"best_step", 9},
                                                      {"bad_evals", -1},
                                                      {"examples", -1},
                                                      {"tokens", -3},
                                                      {"metrics_lines", -1},
                                                      {"metrics_lines", 11},
                                                      {"running_count", -1},
                                                      {"running_loss", "x"},
                                                      {"best_metric", nullptr},
                                                      {"step", 18446744073709551615ULL}};
  for (const auto& [field, value] : bad) {
    auto doc = valid_state();
    doc[field] = value;
    const auto what =
        error_of([&] { pft::train::parse_trainer_state(doc.dump(), "ts.json", limits()); },
                 ErrorKind::Input);
    EXPECT_NE(what.find("ts.json: " + field), std::string::npos)
        << field << " = " << value << ": " << what;
  }
  auto missing = valid_state();
  missing.erase("tokens");
  EXPECT_NE(error_of([&] { pft::train::parse_trainer_state(missing.dump(), "ts.json", limits()); },
                     ErrorKind::Input)
                .find("tokens: missing"),
            std::string::npos);
  auto scaler = valid_state();
  scaler["grad_scaler"]["scale"] = -1.0;
  EXPECT_NE(error_of([&] { pft::train::parse_trainer_state(scaler.dump(), "ts.json", limits()); },
                     ErrorKind::Input)
                .find("grad_scaler"),
            std::string::npos);
  EXPECT_NE(error_of([&] { pft::train::parse_trainer_state("{\"step\": 8,", "ts.json", limits()); },
                     ErrorKind::Input)
                .find("ts.json: malformed JSON"),
            std::string::npos);
}

TEST(ConllReader, TabsKeepSpacesAndWhatIsNotConllIsRefused) {
  pft::test::TempDir dir;
  pft::test::write_text(dir.file("tabs.txt"), "New York\tB-LOC\nis\tO\n\nEU NNP B-NP B-ORG\n");
  const auto s = pft::data::read_conll(dir.file("tabs.txt"));
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].words, (std::vector<std::string>{"New York", "is"}));
  EXPECT_EQ(s[0].tags, (std::vector<std::string>{"B-LOC", "O"}));
  EXPECT_EQ(s[1].words, std::vector<std::string>{"EU"});
  EXPECT_EQ(s[1].tags, std::vector<std::string>{"B-ORG"});
  EXPECT_NE(
      error_of([&] { pft::data::read_conll(dir.path()); }, ErrorKind::Input).find("is a folder"),
      std::string::npos);
  pft::test::write_text(dir.file("data.jsonl"),
                        "{\"text\": \"a fine film\", \"label\": \"negative\"}\n");
  EXPECT_NE(error_of([&] { pft::data::read_conll(dir.file("data.jsonl")); }, ErrorKind::Input)
                .find("data.jsonl:1"),
            std::string::npos);
  pft::test::write_text(dir.file("empty.txt"), "-DOCSTART- -X- -X- O\n\n\n");
  EXPECT_NE(error_of([&] { pft::data::read_conll(dir.file("empty.txt")); }, ErrorKind::Input)
                .find("no sentences"),
            std::string::npos);
}

TEST(ConfigLimits, NumbersBeyondWhatTheRunRepresentsNameTheirKey) {
  const auto config_error = [](const std::vector<std::string>& sets) {
    return error_of([&] { pft::config::load("", sets); }, ErrorKind::Config);
  };
  EXPECT_NE(config_error({"train.lr=1e999"}).find("--set train.lr=1e999: train.lr"),
            std::string::npos);
  EXPECT_NE(config_error({"train.lr=1e300"}).find("train.lr: must be at most"), std::string::npos);
  EXPECT_NE(config_error({"train.max_steps=18446744073709551615"})
                .find("train.max_steps: expected an integer of at most"),
            std::string::npos);
  EXPECT_NE(config_error({"train.epochs=9223372036854775807"}).find("train.epochs"),
            std::string::npos);
  EXPECT_NE(config_error({"train.batch_size=9223372036854775807"}).find("train.batch_size"),
            std::string::npos);
  EXPECT_NE(
      config_error({"data.max_train_examples=9223372036854775807"}).find("data.max_train_examples"),
      std::string::npos);
  const auto file =
      error_of([] { pft::config::parse_json_text("{\"train\": {\"lr\": 1e999}}", "f.json"); },
               ErrorKind::Config);
  EXPECT_NE(file.find("f.json: train.lr:"), std::string::npos) << file;
  // The largest values the limits allow still load.
  EXPECT_NO_THROW(pft::config::load(
      "", {"train.epochs=1000000", "train.max_steps=1000000000000", "train.lr=1e30"}));
}

TEST(FileLock, OneHolderAtATimeAndTheHolderIsNamed) {
  pft::test::TempDir dir;
  const auto path = dir.file("x.lock");
  EXPECT_FALSE(pft::FileLock::holder(path).has_value());
  {
    const auto lock = pft::FileLock::acquire(path, "thing");
    EXPECT_EQ(pft::FileLock::holder(path), std::optional<long>(::getpid()));
    const auto what = error_of([&] { pft::FileLock::acquire(path, "thing"); }, ErrorKind::Usage);
    EXPECT_NE(what.find("thing: in use by process " + std::to_string(::getpid())),
              std::string::npos)
        << what;
  }
  EXPECT_FALSE(pft::FileLock::holder(path).has_value());  // released with its owner
  { const auto lock = pft::FileLock::acquire(path, "thing", /*remove_on_release=*/true); }
  EXPECT_FALSE(fs::exists(path));
}

TEST(RunDirectory, ANewRunNeedsAnEmptyDirectoryAndOverwriteOnlyReplacesARun) {
  pft::test::TempDir dir;
  using pft::train::RunStart;
  EXPECT_NO_THROW(pft::train::check_run_dir(dir.file("new"), RunStart::Fresh));
  pft::test::write_text(dir.file("run/metrics.jsonl"), "{}\n");
  pft::test::write_text(dir.file("run/checkpoints/step-4/trainer_state.json"), "{}\n");
  const auto fresh = error_of([&] { pft::train::check_run_dir(dir.file("run"), RunStart::Fresh); },
                              ErrorKind::Config);
  EXPECT_NE(fresh.find("--resume"), std::string::npos) << fresh;
  EXPECT_NE(fresh.find("--overwrite"), std::string::npos) << fresh;
  {
    const auto owned = pft::train::RunDirectory::claim(dir.file("run"), RunStart::Overwrite);
    EXPECT_FALSE(fs::exists(dir.file("run/checkpoints")));
    EXPECT_TRUE(fs::exists(dir.file("run/.lock")));
    const auto busy = error_of(
        [&] { pft::train::check_run_dir(dir.file("run"), RunStart::Resume); }, ErrorKind::Usage);
    EXPECT_NE(busy.find(std::to_string(::getpid())), std::string::npos) << busy;
  }
  EXPECT_NO_THROW(
      pft::train::check_run_dir(dir.file("run"), RunStart::Fresh));  // only the lock is left
  pft::test::write_text(dir.file("mine/notes.txt"), "keep\n");
  error_of([&] { pft::train::check_run_dir(dir.file("mine"), RunStart::Overwrite); },
           ErrorKind::Config);
  pft::test::write_text(dir.file("a-file"), "x");
  EXPECT_NE(error_of([&] { pft::train::check_run_dir(dir.file("a-file"), RunStart::Fresh); },
                     ErrorKind::Config)
                .find("train.output_dir"),
            std::string::npos);
  EXPECT_NE(error_of([&] { pft::train::check_run_dir("", RunStart::Fresh); }, ErrorKind::Config)
                .find("train.output_dir"),
            std::string::npos);
}

TEST(Fingerprint, DifferencesNameTheKeyThatChanged) {
  pft::test::TempDir dir;
  pft::test::write_text(dir.file("model/config.json"), "{\"model_type\": \"bert\"}");
  pft::test::write_text(dir.file("model/model.safetensors"), std::string(64, 'a'));
  pft::test::write_text(dir.file("model/vocab.txt"), "[PAD]\n");
  pft::test::write_text(dir.file("train.jsonl"), "{\"text\": \"x\", \"label\": \"a\"}\n");
  auto config = pft::config::load(
      "", {"model.path=" + dir.file("model"), "data.train=" + dir.file("train.jsonl")});
  const auto before = pft::train::run_fingerprint(config);
  EXPECT_TRUE(
      pft::train::fingerprint_differences(before, pft::train::run_fingerprint(config)).empty());
  config.train.output_dir = "moved";  // a moved run directory is the same run
  config.train.lr = 1e-3;
  pft::test::write_text(dir.file("model/model.safetensors"), std::string(64, 'b'));
  pft::test::write_text(dir.file("train.jsonl"), "{\"text\": \"y\", \"label\": \"a\"}\n");
  const auto diff =
      pft::train::fingerprint_differences(before, pft::train::run_fingerprint(config));
  ASSERT_EQ(diff.size(), 3u) << json(diff).dump(1);
  EXPECT_EQ(diff[0].rfind("train.lr: ", 0), 0u) << diff[0];
  EXPECT_EQ(diff[1].rfind("model.path: ", 0), 0u) << diff[1];
  EXPECT_NE(diff[1].find("model.safetensors"), std::string::npos) << diff[1];
  EXPECT_EQ(diff[2].rfind("data.train: ", 0), 0u) << diff[2];
}

TEST(FileDigest, ChangesWithAnyByteAndStatesTheSize) {
  pft::test::TempDir dir;
  std::string bytes(1 << 20, 'x');
  pft::test::write_text(dir.file("a"), bytes);
  const auto a = pft::file_digest(dir.file("a"));
  EXPECT_EQ(a.rfind("1048576:", 0), 0u) << a;
  bytes[777777] = 'y';
  pft::test::write_text(dir.file("b"), bytes);
  EXPECT_NE(pft::file_digest(dir.file("b")), a);
  EXPECT_NE(pft::digest64("ab"), pft::digest64("ba"));
  EXPECT_EQ(pft::digest64(bytes), pft::digest64(bytes));
}

TEST(VerbalizerCheck, LabelsScoredTheSameWayAreRefused) {
  const pft::prompt::Verbalizer v(
      {{"negative", {"terrible"}}, {"positive", {"great", "terribleness"}}},
      {"negative", "positive"});
  const auto name = [](std::int64_t id) { return "tok" + std::to_string(id); };
  // By the first token: "terrible" and "terribleness" both start with token 7.
  const auto what = error_of(
      [&] {
        pft::prompt::check_distinguishable(v, std::vector<std::vector<std::int64_t>>{{7}, {3, 7}},
                                           name, "first");
      },
      ErrorKind::Config);
  EXPECT_NE(
      what.find(
          "prompt.verbalizer: 'terrible' (label 'negative') and 'terribleness' (label 'positive')"),
      std::string::npos)
      << what;
  EXPECT_NE(what.find("tok7"), std::string::npos) << what;
  // As whole answers they differ.
  EXPECT_NO_THROW(pft::prompt::check_distinguishable(
      v, std::vector<std::vector<std::vector<std::int64_t>>>{{{7}}, {{3}, {7, 9}}}, name, "whole"));
}
