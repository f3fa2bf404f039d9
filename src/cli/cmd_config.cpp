#include <iostream>
#include <memory>

#include "cli/commands.h"

namespace pft::cli {

namespace {
struct ConfigOptions {
  bool reference = false;
};
}  // namespace

void setup_config(Program& program) {
  auto options = std::make_shared<ConfigOptions>();
  auto* sub = program.app.add_subcommand(
      "config", "Print a config resolved (defaults filled in, --set applied) as JSON, or the "
                "reference of every key");
  add_common_options(*sub, program.common);
  sub->add_flag("--reference", options->reference,
                "Print the Markdown reference of every key (type, default, meaning)");
  sub->callback([&program, options] {
    program.action = [&program, options] {
      if (options->reference) {
        std::cout << config::reference_markdown();
        return 0;
      }
      std::cout << config::to_json(load_config(program.common, config::Purpose::Any)).dump(2)
                << "\n";
      return 0;
    };
  });
}

}  // namespace pft::cli
