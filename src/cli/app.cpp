#include <iostream>

#include "cli/commands.h"
#include "pft/util/error.h"
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
