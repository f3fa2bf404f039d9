// Runs the built pft binary as a user would and checks output and exit codes.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "pft/version.h"
#include "support/test_util.h"

using pft::test::run_pft;

TEST(Cli, Version) {
  const auto r = run_pft({"--version"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(std::string("pft ") + PFT_VERSION), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("LibTorch 2."), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("CUDA: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("threads: "), std::string::npos) << r.out;
}

TEST(Cli, NoSubcommandIsAUsageError) {
  const auto r = run_pft({});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("subcommand is required"), std::string::npos) << r.err;
}

TEST(Cli, UnknownOptionIsAUsageError) {
  const auto r = run_pft({"train", "--no-such-option"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--no-such-option"), std::string::npos) << r.err;
}

TEST(Cli, EverySubcommandDocumentsItsOptions) {
  const std::map<std::string, std::vector<std::string>> expected{
      {"train", {"--output", "--resume", "--dry-run"}},
      {"eval", {"--model", "--adapter", "--predictions", "--expect", "--json"}},
      {"generate", {"--model", "--input", "--output"}},
      {"tokenize", {"--model", "--text"}},
      {"config", {"--reference"}},
  };
  for (const auto& [sub, options] : expected) {
    const auto r = run_pft({sub, "--help"});
    EXPECT_EQ(r.exit_code, 0) << sub << ": " << r.err;
    for (const auto& global : {"--config", "--set", "--device", "--threads", "--log-level"}) {
      EXPECT_NE(r.out.find(global), std::string::npos) << sub << " --help lacks " << global;
    }
    for (const auto& option : options) {
      EXPECT_NE(r.out.find(option), std::string::npos) << sub << " --help lacks " << option;
    }
  }
}

TEST(Cli, NoTwoOptionsCollide) {
  // CLI11 throws OptionAlreadyAdded when a subcommand declares one name twice.
  pft::cli::Program program;
  EXPECT_NO_THROW(pft::cli::build(program));
  for (auto* sub : program.app.get_subcommands({})) {
    std::set<std::string> names;
    for (const auto* option : sub->get_options()) {
      for (const auto& name : option->get_lnames()) {
        EXPECT_TRUE(names.insert(name).second) << sub->get_name() << ": --" << name << " twice";
      }
    }
  }
}

TEST(Cli, DryRunPrintsTheResolvedConfig) {
  // From the repository root, as the README runs it: the config's data paths are relative.
  const auto r = pft::test::run_process({"env", "-C", pft::test::source_dir(), PFT_BINARY, "train",
                                         "--config", "configs/example.json", "--dry-run", "--set",
                                         "train.lr=3e-4", "--output", "runs/x"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto doc = nlohmann::json::parse(r.out);
  EXPECT_DOUBLE_EQ(doc["train"]["lr"].get<double>(), 3e-4);
  EXPECT_EQ(doc["train"]["output_dir"], "runs/x");
  EXPECT_EQ(doc["peft"]["method"], "lora");
  EXPECT_EQ(doc["train"]["grad_accum_steps"], 1);  // a default filled in
  EXPECT_EQ(doc["tokenizer"]["path"], doc["model"]["path"]);
  // Paths are resolved: no ${...} left.
  EXPECT_EQ(doc["model"]["path"].get<std::string>().find("${"), std::string::npos);
}

TEST(Cli, MisspeltKeyExits2WithPathAndSuggestion) {
  pft::test::TempDir dir;
  const auto path = dir.file("bad.json");
  pft::test::write_text(path, R"({"model": {"path": "/m"}, "train": {"lerning_rate": 1e-3, "batch_sise": 2}})");
  const auto r = run_pft({"train", "--config", path, "--dry-run"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(path + ": train.batch_sise: unknown key (did you mean 'train.batch_size'?)"),
            std::string::npos) << r.err;
  EXPECT_NE(r.err.find(path + ": train.lerning_rate: unknown key"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");  // nothing half-printed on stdout
}

TEST(Cli, MisspeltSetExits2) {
  const auto r = run_pft({"config", "--set", "peft.rr=4"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--set peft.rr=4: peft.rr: unknown key (did you mean 'peft.r'?)"),
            std::string::npos) << r.err;
}

TEST(Cli, MalformedJsonExits2WithLineAndColumn) {
  pft::test::TempDir dir;
  const auto path = dir.file("broken.json");
  pft::test::write_text(path, "{\n  \"train\": {\"lr\": 0.1,,}\n}\n");
  const auto r = run_pft({"train", "--config", path, "--dry-run"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(path + ":2:23: malformed JSON"), std::string::npos) << r.err;
}

TEST(Cli, MissingRequiredKeysExit2) {
  const auto r = run_pft({"train", "--dry-run", "--set", "peft.method=lora"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("model.path: required by `pft train`"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("data.train: required by `pft train`"), std::string::npos) << r.err;
}

TEST(Cli, BadGlobalOptionValues) {
  const auto level = run_pft({"config", "--log-level", "loud"});
  EXPECT_EQ(level.exit_code, 2);
  EXPECT_NE(level.err.find("--log-level"), std::string::npos) << level.err;
  const auto threads = run_pft({"config", "--threads", "-3"});
  EXPECT_EQ(threads.exit_code, 2);
  EXPECT_NE(threads.err.find("--threads"), std::string::npos) << threads.err;
}

TEST(Cli, ConfigReferenceIsMarkdown) {
  const auto r = run_pft({"config", "--reference"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("| `batch_size` | integer | `16` |"), std::string::npos) << r.out;
}

TEST(Cli, DeviceSpellingIsChecked) {
  const auto r = run_pft({"config", "--device", "gpu"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("expected cpu, cuda, cuda:N or auto, got 'gpu'"), std::string::npos) << r.err;
  EXPECT_EQ(run_pft({"config", "--device", "cuda:1"}).exit_code, 0);  // checked when used
}
