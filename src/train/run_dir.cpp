#include "pft/train/run_dir.h"

#include <filesystem>
#include <set>
#include <vector>

#include "pft/util/error.h"
#include "pft/util/log.h"

namespace fs = std::filesystem;

namespace pft::train {
namespace {

// What a run writes into its directory (docs/training.md); hidden entries are its temporary
// files and folders.
bool is_run_entry(const std::string& name) {
  static const std::set<std::string> kNames{
      "config.resolved.json", "fingerprint.json", "metrics.jsonl", "train.log", "summary.json",
      "training.svg",         "checkpoints",      "adapter",       "best",
      "tensorboard"};
  return kNames.count(name) != 0 || (!name.empty() && name.front() == '.');
}

std::string key_of(const std::string& dir) { return "train.output_dir: " + dir; }

// The entries of an existing directory allow `mode`.
void check_contents(const std::string& dir, RunStart mode) {
  std::error_code ec;
  if (mode == RunStart::Resume) return;
  std::vector<std::string> entries, foreign;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const auto name = e.path().filename().string();
    if (name == kRunLockFile) continue;
    entries.push_back(name);
    if (!is_run_entry(name)) foreign.push_back(name);
  }
  if (ec) throw Error(ErrorKind::Config, key_of(dir) + ": cannot be listed: " + ec.message());
  if (entries.empty()) return;
  if (mode == RunStart::Fresh) {
    throw Error(ErrorKind::Config, key_of(dir) + ": not empty (" + std::to_string(entries.size()) +
                                       " entries, e.g. " + entries.front() +
                                       "); continue the run in it with --resume " + dir +
                                       ", replace it with --overwrite, or choose another --output");
  }
  if (!foreign.empty()) {
    throw Error(ErrorKind::Config, key_of(dir) +
                                       ": --overwrite replaces a run directory only, and " +
                                       (fs::path(dir) / foreign.front()).string() +
                                       " is not a run's file; choose another --output");
  }
}

}  // namespace

void check_run_dir(const std::string& dir, RunStart mode) {
  if (dir.empty())
    throw Error(ErrorKind::Config, "train.output_dir: is empty; name the run directory");
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    if (mode == RunStart::Resume) {
      throw Error(ErrorKind::Usage, "--resume " + dir + ": no such run directory");
    }
    return;
  }
  if (!fs::is_directory(dir, ec)) {
    throw Error(ErrorKind::Config, key_of(dir) + ": is a file, expected a run directory");
  }
  const std::string lock = (fs::path(dir) / kRunLockFile).string();
  if (const auto pid = FileLock::holder(lock)) {
    throw Error(ErrorKind::Usage, key_of(dir) + ": in use by process " +
                                      (*pid > 0 ? std::to_string(*pid) : std::string("(unknown)")) +
                                      " (lock file " + lock + "); wait for it to end, or stop it");
  }
  check_contents(dir, mode);
}

RunDirectory RunDirectory::claim(const std::string& dir, RunStart mode) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir)) {
    throw Error(ErrorKind::Config, key_of(dir) + ": cannot create the run directory: " +
                                       (ec ? ec.message() : "not a folder"));
  }
  FileLock lock = FileLock::acquire((fs::path(dir) / kRunLockFile).string(), key_of(dir));
  // Another process may have started between the first check and the lock.
  check_contents(dir, mode);
  if (mode == RunStart::Overwrite) {
    for (const auto& e : fs::directory_iterator(dir)) {
      const auto name = e.path().filename().string();
      if (name == kRunLockFile) continue;
      fs::remove_all(e.path());
    }
    log::info("--overwrite: removed the earlier run in {}", dir);
  }
  return RunDirectory(dir, std::move(lock));
}

}  // namespace pft::train
