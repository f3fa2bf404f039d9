#include "pft/util/error.h"

#include <utility>

namespace pft {

int exit_code(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::Usage:
    case ErrorKind::Config:
    case ErrorKind::Input:
      return exit_codes::kUsage;
    case ErrorKind::Runtime:
      return exit_codes::kRuntime;
    case ErrorKind::Expectation:
      return exit_codes::kExpectation;
    case ErrorKind::Interrupted:
      return exit_codes::kInterrupted;
  }
  return exit_codes::kRuntime;
}

const char* kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::Usage: return "usage error";
    case ErrorKind::Config: return "config error";
    case ErrorKind::Input: return "input error";
    case ErrorKind::Runtime: return "error";
    case ErrorKind::Expectation: return "expectation failed";
    case ErrorKind::Interrupted: return "interrupted";
  }
  return "error";
}

Error::Error(ErrorKind kind, const std::string& message, std::string hint)
    : std::runtime_error(message), kind_(kind), hint_(std::move(hint)) {}

}  // namespace pft
