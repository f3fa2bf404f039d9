#pragma once
// Ownership of a run directory. A run starts only in an empty (or new) directory, replaces
// an earlier run only when told to (--overwrite), continues one only with --resume, and holds
// an exclusive lock on RUN_DIR/.lock while it runs, so two processes never write one run.
// Nothing in the directory is touched before the run owns it.

#include <string>

#include "pft/util/file_lock.h"

namespace pft::train {

inline constexpr const char* kRunLockFile = ".lock";

enum class RunStart {
  Fresh,      // a new run: the directory must be missing or empty
  Overwrite,  // a new run replacing an earlier one: the directory may hold a run's files only
  Resume,     // continuing the run the directory holds
};

/// Checks, without writing anything, that a run may start in `dir` as `mode` says: a config
/// error (exit 2) naming train.output_dir, or a usage error naming the PID of the process
/// that holds the directory now.
void check_run_dir(const std::string& dir, RunStart mode);

/// A run directory owned by this process until the object dies.
class RunDirectory {
 public:
  /// Creates `dir` when missing, takes its lock, checks again (check_run_dir) under the lock,
  /// and for Overwrite removes the earlier run's files.
  static RunDirectory claim(const std::string& dir, RunStart mode);

  const std::string& path() const { return path_; }

 private:
  RunDirectory(std::string path, FileLock lock) : path_(std::move(path)), lock_(std::move(lock)) {}
  std::string path_;
  FileLock lock_;
};

}  // namespace pft::train
