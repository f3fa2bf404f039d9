#include "support/fixture_cache.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <sstream>

#include "pft/util/fs.h"
#include "support/test_util.h"

namespace pft::test {

namespace fs = std::filesystem;

bool link_cached_fixture(const std::string& link, const std::string& script,
                         const std::vector<std::string>& args) {
  // The key: the script's text and its arguments (paths into the shared data included).
  std::string key = pft::read_file(source_dir() + "/tests/python/" + script);
  for (const auto& a : args) key += '\0' + a;
  std::ostringstream name;
  name << fs::path(script).stem().string() << "-" << std::hex << std::hash<std::string>{}(key);
  const fs::path cache = fs::path(PFT_BINARY).parent_path() / "test-fixtures";
  const fs::path target = cache / name.str();
  std::error_code ec;
  if (!fs::is_directory(target, ec)) {
    fs::create_directories(cache, ec);
    const fs::path scratch = cache / (name.str() + ".tmp." + std::to_string(::getpid()));
    fs::remove_all(scratch, ec);
    std::vector<std::string> full{scratch.string()};
    full.insert(full.end(), args.begin(), args.end());
    if (run_python(script, full).exit_code != 0) {
      fs::remove_all(scratch, ec);
      return false;
    }
    fs::rename(scratch, target, ec);
    if (ec) fs::remove_all(scratch, ec);  // another process put it in place first
  }
  if (!fs::is_directory(target, ec)) {
    ADD_FAILURE() << "fixture " << target << " was not written";
    return false;
  }
  fs::create_directory_symlink(target, link, ec);
  if (ec) {
    ADD_FAILURE() << "cannot link " << link << " to " << target << ": " << ec.message();
    return false;
  }
  return true;
}

}  // namespace pft::test
