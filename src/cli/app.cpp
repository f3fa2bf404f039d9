#include <stdlib.h>

#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "pft/peft/lora/combine.h"
#include "pft/util/error.h"
#include "pft/util/log.h"
#include "pft/util/runtime.h"
#include "pft/version.h"

namespace pft::cli {

void add_common_options(CLI::App& sub, CommonOptions& common) {
  auto* group = "Global options";
  sub.add_option("--config", common.config, "Run configuration (JSON), see docs/config.md")
      ->group(group);
  sub.add_option("--set", common.sets,
                 "Override a config key: --set train.lr=3e-4 (repeatable; values are JSON or "
                 "plain strings)")
      ->group(group)
      ->allow_extra_args(false);
  sub.add_option("--device", common.device, "cpu, cuda, cuda:N or auto (default: auto)")
      ->group(group)
      ->check(CLI::Validator(
          [](std::string& value) -> std::string {
            if (value == "cpu" || value == "cuda" || value == "auto") return {};
            if (value.rfind("cuda:", 0) == 0 && value.size() > 5 &&
                value.find_first_not_of("0123456789", 5) == std::string::npos) {
              return {};
            }
            return "expected cpu, cuda, cuda:N or auto, got '" + value + "'";
          },
          "DEVICE"));
  sub.add_option("--threads", common.threads, "CPU threads (0: LibTorch's default)")
      ->group(group)
      ->check(CLI::NonNegativeNumber);
  sub.add_option("--log-level", common.log_level,
                 "trace, debug, info, warn, error, critical or off (default: info)")
      ->group(group);
}

AdapterOptions::~AdapterOptions() {
  if (combined_dir.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(std::filesystem::path(combined_dir).parent_path(), ec);
}

std::string AdapterOptions::resolve() {
  if (adapters.empty()) {
    if (!weights.empty()) throw Error(ErrorKind::Config, "--weights: no adapter to weigh");
    return {};
  }
  if (adapters.size() == 1 && weights.empty()) return adapters.front();
  std::vector<double> w = weights;
  if (w.empty()) w.assign(adapters.size(), 1.0);
  std::string pattern =
      (std::filesystem::temp_directory_path() / "pft-combined-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) {
    throw Error(ErrorKind::Runtime, pattern + ": cannot create a temporary folder");
  }
  combined_dir = (std::filesystem::path(pattern) / "adapter").string();
  peft::CombineOptions o;
  o.type = combination;
  o.density = density;
  o.majority_sign_method = majority_sign;
  o.svd_rank = svd_rank;
  o.seed = seed;
  peft::combine_lora_adapters(adapters, w, o, combined_dir);
  log::info("combined {} adapters ({}) into one LoRA adapter", adapters.size(), combination);
  return combined_dir;
}

CLI::Option* add_adapter_options(CLI::App& sub, AdapterOptions& options, const std::string& flag,
                                 const std::string& help) {
  auto* opt = sub.add_option(flag, options.adapters,
                             help + "; repeat it to combine several LoRA adapters into one, as "
                                    "PEFT's add_weighted_adapter does (docs/peft.md)")
                  ->allow_extra_args(false);
  auto* group = "Combining adapters";
  sub.add_option("--weights", options.weights,
                 "One weight per adapter, e.g. 0.7,0.3 (default: 1 each)")
      ->delimiter(',')
      ->group(group);
  sub.add_option("--combination", options.combination,
                 "svd (default), linear, cat, ties, ties_svd, dare_linear, dare_ties, "
                 "dare_linear_svd, dare_ties_svd, magnitude_prune, magnitude_prune_svd")
      ->group(group)
      ->check(CLI::IsMember(peft::combination_types()));
  sub.add_option("--density", options.density,
                 "ties, dare_*, magnitude_prune: the fraction of entries kept (default: 1)")
      ->group(group)
      ->check(CLI::Range(0.0, 1.0));
  sub.add_option("--majority-sign", options.majority_sign,
                 "ties, dare_ties: total (default) or frequency")
      ->group(group)
      ->check(CLI::IsMember({"total", "frequency"}));
  sub.add_option("--svd-rank", options.svd_rank,
                 "*svd: rank of the combined adapter (default: the largest rank)")
      ->group(group)
      ->check(CLI::NonNegativeNumber);
  sub.add_option("--combine-seed", options.seed, "dare_*: seed of the random masks (default: 0)")
      ->group(group);
  return opt;
}

config::RunConfig load_config(const CommonOptions& common, config::Purpose purpose) {
  return config::load(common.config, common.sets, purpose);
}

void build(Program& program) {
  auto& app = program.app;
  app.require_subcommand(1);
  app.add_flag_callback(
      "--version",
      [] {
        std::cout << version_text();
        throw CLI::Success();
      },
      "Print pft, LibTorch and CUDA versions and the thread count, then exit");
  app.footer(
      "Exit codes: 0 success, 1 runtime failure, 2 usage or config error, "
      "3 an --expect that failed, 130 interrupted. See docs/cli.md.");
  setup_train(program);
  setup_eval(program);
  setup_generate(program);
  setup_tokenize(program);
  setup_config(program);
  setup_inspect(program);
  setup_export(program);
  setup_plot(program);
}

}  // namespace pft::cli
