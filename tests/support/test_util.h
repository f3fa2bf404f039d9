#pragma once
// Helpers shared by pft's tests: running the pft binary and the Python reference, temp
// folders, and the paths of shared data.

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "pft/util/error.h"

namespace pft::test {

/// What a child process printed and how it ended.
struct RunResult {
  int exit_code = -1;  // exit status, or 128+signal when killed
  std::string out;     // stdout
  std::string err;     // stderr
};

/// Runs `argv` (no shell), optionally feeding `input` on stdin.
RunResult run_process(const std::vector<std::string>& argv, const std::string& input = {});

/// Runs the built pft binary with `args`.
RunResult run_pft(const std::vector<std::string>& args, const std::string& input = {});

/// Path of the venv's Python that holds transformers/peft (the live reference).
std::string python();

/// Runs `python tests/python/<script> args...`; fails the test (ADD_FAILURE) when the
/// script exits non-zero and returns its result either way.
RunResult run_python(const std::string& script, const std::vector<std::string>& args);

/// ../shared/data (or $PFT_SHARED_DATA) joined with `relative`.
std::string shared_data(const std::string& relative = {});

/// The repository root (for configs/ and tests/ fixtures).
std::string source_dir();

/// A fresh, empty temporary folder removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

/// Writes `text` to `path` (creating parent folders).
void write_text(const std::string& path, const std::string& text);

/// The message of the pft::Error of `kind` that `fn` throws; a test failure otherwise.
std::string error_of(const std::function<void()>& fn, ErrorKind kind);

/// The first `n` lines of `path`, each ending with a newline (for small real data subsets).
std::string head_lines(const std::string& path, int n);

}  // namespace pft::test
