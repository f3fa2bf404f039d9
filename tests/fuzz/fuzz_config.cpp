// The run configuration: a config file's JSON text, and each of its lines as a `--set`
// override applied to an empty config, then every check of config::from_json.
#include <sstream>

#include "fuzz_util.h"
#include "pft/config/config.h"
#include "pft/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input = pft::fuzz::text(data, size);
  try {
    const auto doc = pft::config::parse_json_text(input, "fuzz.json");
    pft::config::from_json(doc, "fuzz.json", pft::config::Purpose::Train);
  } catch (const pft::Error&) {
  }
  nlohmann::json doc = nlohmann::json::object();
  std::istringstream lines(input);
  try {
    for (std::string line; std::getline(lines, line);) pft::config::apply_override(doc, line);
    pft::config::from_json(doc, "--set", pft::config::Purpose::Any);
  } catch (const pft::Error&) {
  }
  return 0;
}
