// Every file in configs/ from a fresh clone: the repository's tracked files copied to a folder
// with no ../shared beside it, each config checked with `pft train --dry-run` from there, as a
// new user runs it after scripts/setup.sh. A config either passes, or fails at once saying what
// to supply (a model folder with --set model.path=, or the data-building script to run).

#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "pft/util/fs.h"
#include "support/test_util.h"

namespace fs = std::filesystem;

namespace {

// The tracked files of the repository, copied into `to`.
void copy_tracked_files(const std::string& to) {
  const auto listed =
      pft::test::run_process({"git", "-C", pft::test::source_dir(), "ls-files", "--cached"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  std::istringstream in(listed.out);
  std::size_t copied = 0;
  for (std::string file; std::getline(in, file);) {
    const fs::path from = fs::path(pft::test::source_dir()) / file;
    if (!fs::is_regular_file(from)) continue;  // a file deleted in the working tree
    fs::create_directories((fs::path(to) / file).parent_path());
    fs::copy_file(from, fs::path(to) / file);
    ++copied;
  }
  ASSERT_GT(copied, 50u);
}

pft::test::RunResult dry_run(const std::string& clone, const std::string& config) {
  return pft::test::run_process(
      {"env", "-C", clone, PFT_BINARY, "train", "--config", "configs/" + config, "--dry-run"});
}

bool has(const pft::test::RunResult& r, const std::string& text) {
  return r.err.find(text) != std::string::npos;
}

}  // namespace

TEST(Configs, EveryConfigDryRunsFromAFreshCloneOrSaysWhatToSupply) {
  pft::test::TempDir dir;
  const std::string clone = dir.file("pft");
  copy_tracked_files(clone);
  ASSERT_FALSE(fs::exists(dir.file("shared")));
  std::vector<std::string> configs;
  for (const auto& e : fs::directory_iterator(clone + "/configs")) {
    configs.push_back(e.path().filename().string());
  }
  std::sort(configs.begin(), configs.end());
  EXPECT_EQ(configs.size(), 13u);
  // What a config needs beyond scripts/setup.sh and the clone: a model folder, a data script.
  const std::map<std::string, std::pair<bool, std::string>> needs{
      {"example.json", {false, ""}},
      {"sentiment.json", {false, ""}},
      {"ner.json", {false, "scripts/data/conll2003.py"}},
      {"sentiment_cloze.json", {true, ""}},
      // scripts/setup.sh writes the tiny models of these (scripts/make_tiny_model.py)
      {"sentiment_distilbert.json", {false, ""}},
      {"sentiment_electra.json", {false, ""}},
      {"sentiment_modernbert.json", {false, ""}},
      {"sentiment_deberta.json", {false, ""}},
      {"sentiment_mt5.json", {false, ""}},
      {"sentiment_roberta.json", {false, ""}},
      {"sentiment_xlm_roberta.json", {false, ""}},
      {"sentiment_t5.json", {true, ""}},
      {"translation.json", {true, "scripts/data/multi30k.py"}},
  };
  for (const auto& config : configs) {
    SCOPED_TRACE(config);
    const auto it = needs.find(config);
    ASSERT_NE(it, needs.end()) << "a new config: say here what it needs";
    const auto& [model, script] = it->second;
    const auto r = dry_run(clone, config);
    EXPECT_FALSE(has(r, "../shared")) << r.err;
    if (!model && script.empty()) {
      EXPECT_EQ(r.exit_code, 0) << r.err;
      continue;
    }
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_EQ(has(r, "--set model.path="), model) << r.err;
    EXPECT_EQ(has(r, "model.path"), model) << r.err;
    EXPECT_EQ(has(r, "data."), !script.empty()) << r.err;
    if (!script.empty()) {
      EXPECT_TRUE(has(r, script)) << r.err;
    }
  }
  // The data scripts build what the configs read from the user's copy of the data set (here
  // the team's), after which only the model can be missing.
  ASSERT_TRUE(fs::exists(pft::test::shared_data("conll2003/train.txt")));
  const auto conll =
      pft::test::run_process({"env", "-C", clone, "python3", "scripts/data/conll2003.py",
                              pft::test::shared_data("conll2003")});
  ASSERT_EQ(conll.exit_code, 0) << conll.err;
  const auto ner = dry_run(clone, "ner.json");
  EXPECT_EQ(ner.exit_code, 0) << ner.err;
  EXPECT_EQ(pft::read_file(clone + "/data/conll2003/valid.txt"),
            pft::read_file(pft::test::shared_data("conll2003/valid.txt")));
  const auto multi30k =
      pft::test::run_process({"env", "-C", clone, "python3", "scripts/data/multi30k.py",
                              pft::test::shared_data("multi30k/raw")});
  ASSERT_EQ(multi30k.exit_code, 0) << multi30k.err;
  EXPECT_EQ(pft::read_file(clone + "/data/multi30k/dev.jsonl"),
            pft::read_file(pft::test::shared_data("multi30k/dev.jsonl")));
  const auto translation = dry_run(clone, "translation.json");
  EXPECT_EQ(translation.exit_code, 2) << translation.err;
  EXPECT_TRUE(has(translation, "--set model.path=")) << translation.err;
  EXPECT_FALSE(has(translation, "data.")) << translation.err;
}
