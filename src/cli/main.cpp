// pft's entry point: parse, run the chosen subcommand, and map every failure to one log
// line and an exit code (docs/cli.md). Nothing else catches.

#include <c10/util/Exception.h>

#include <exception>
#include <iostream>

#include "cli/commands.h"
#include "pft/util/error.h"
#include "pft/util/log.h"
#include "pft/util/runtime.h"
#include "pft/util/signal.h"

int main(int argc, char** argv) {
  pft::keep_freed_memory();
  pft::install_signal_handlers();
  pft::log::init(pft::log::Level::info);
  pft::cli::Program program;
  try {
    pft::cli::build(program);
    program.app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = program.app.exit(e);
    return rc == 0 ? pft::exit_codes::kOk : pft::exit_codes::kUsage;
  } catch (const pft::Error& e) {
    pft::log::error("{}: {}", pft::kind_name(e.kind()), e.what());
    return pft::exit_code(e.kind());
  }

  try {
    pft::log::init(pft::log::parse_level(program.common.log_level));
    pft::apply_threads(program.common.threads);
    if (!program.action) {
      std::cerr << program.app.help();
      return pft::exit_codes::kUsage;
    }
    return program.action();
  } catch (const pft::Error& e) {
    pft::log::error("{}: {}", pft::kind_name(e.kind()), e.what());
    if (!e.hint().empty()) pft::log::error("hint: {}", e.hint());
    return pft::exit_code(e.kind());
  } catch (const c10::Error& e) {
    pft::log::error("LibTorch error: {}", e.what_without_backtrace());
    return pft::exit_codes::kRuntime;
  } catch (const std::exception& e) {
    pft::log::error("error: {}", e.what());
    return pft::exit_codes::kRuntime;
  }
}
