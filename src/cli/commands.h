#pragma once
// The command line: one file per subcommand (cmd_*.cpp), each adding its options to the
// app and setting Program::action; the library does the work. main() alone catches.

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

#include "pft/config/config.h"

namespace pft::cli {

/// Options every subcommand takes.
struct CommonOptions {
  std::string log_level = "info";
  std::string device = "auto";
  int threads = 0;
  std::string config;
  std::vector<std::string> sets;
};

struct Program {
  CLI::App app{"pft: parameter-efficient fine-tuning of BERT and T5 models on LibTorch", "pft"};
  CommonOptions common;
  std::function<int()> action;  // set by the chosen subcommand's callback
};

/// Builds every subcommand and option; throws CLI::OptionAlreadyAdded on a collision.
void build(Program& program);

void add_common_options(CLI::App& sub, CommonOptions& common);

/// Loads --config with --set overrides for `purpose`.
config::RunConfig load_config(const CommonOptions& common, config::Purpose purpose);

void setup_train(Program& program);
void setup_eval(Program& program);
void setup_generate(Program& program);
void setup_tokenize(Program& program);
void setup_config(Program& program);
void setup_inspect(Program& program);
void setup_export(Program& program);
void setup_plot(Program& program);

}  // namespace pft::cli
