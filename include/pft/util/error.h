#pragma once
// pft::Error: the one exception type library code throws. Its kind decides the exit code
// that `main` returns; its message names the file, key or tensor at fault, what was
// expected and what was found.

#include <stdexcept>
#include <string>

namespace pft {

enum class ErrorKind {
  Usage,        // bad command line (exit 2)
  Config,       // bad config file, key or value (exit 2)
  Input,        // unreadable or malformed input file: data, checkpoint, tokenizer (exit 2)
  Runtime,      // anything that fails while running (exit 1)
  Expectation,  // an `--expect` that did not hold (exit 3)
  Interrupted,  // SIGINT/SIGTERM (exit 130)
};

/// Process exit code for an error kind; documented in docs/cli.md.
int exit_code(ErrorKind kind);

/// Lower-case name of an error kind, used as the message prefix ("config error: ...").
const char* kind_name(ErrorKind kind);

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message, std::string hint = {});
  ErrorKind kind() const { return kind_; }
  /// Optional advice shown after the message ("did you mean ...", "run scripts/setup.sh").
  const std::string& hint() const { return hint_; }

 private:
  ErrorKind kind_;
  std::string hint_;
};

namespace exit_codes {
inline constexpr int kOk = 0;
inline constexpr int kRuntime = 1;
inline constexpr int kUsage = 2;
inline constexpr int kExpectation = 3;
inline constexpr int kInterrupted = 130;
}  // namespace exit_codes

}  // namespace pft
