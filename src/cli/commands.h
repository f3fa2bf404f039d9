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

/// One or several adapter folders; several are combined into one LoRA adapter as PEFT's
/// add_weighted_adapter combines them (peft/lora/combine.h) before the command uses it.
struct AdapterOptions {
  std::vector<std::string> adapters;
  std::vector<double> weights;
  std::string combination = "svd";
  double density = 1.0;
  std::string majority_sign = "total";
  std::int64_t svd_rank = 0;
  std::uint64_t seed = 0;
  std::string combined_dir;  // the temporary folder of a combination, removed by the holder

  AdapterOptions() = default;
  AdapterOptions(const AdapterOptions&) = delete;
  AdapterOptions& operator=(const AdapterOptions&) = delete;
  ~AdapterOptions();
  /// The one adapter folder to use: the only one given, or a combination of several written
  /// to a temporary folder (removed with this object); empty when none was given.
  std::string resolve();
};

/// Adds `flag` (repeatable: --adapter or --merge) and the combination options
/// (--weights, --combination, --density, --majority-sign, --svd-rank, --combine-seed).
CLI::Option* add_adapter_options(CLI::App& sub, AdapterOptions& options, const std::string& flag,
                                 const std::string& help);

void setup_train(Program& program);
void setup_eval(Program& program);
void setup_generate(Program& program);
void setup_tokenize(Program& program);
void setup_config(Program& program);
void setup_inspect(Program& program);
void setup_export(Program& program);
void setup_plot(Program& program);

}  // namespace pft::cli
