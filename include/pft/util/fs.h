#pragma once
// File helpers. Everything pft writes goes through write_file_atomic: the bytes land in a
// temporary file beside the target, are flushed, then renamed over it, so a crash or kill
// never leaves a half-written file under the final name.

#include <functional>
#include <ostream>
#include <string>

namespace pft {

/// Reads a whole file; throws pft::Error (Input) naming the file when it cannot.
std::string read_file(const std::string& path);

/// Writes `bytes` to `path` atomically (temp file in the same folder + fsync + rename).
void write_file_atomic(const std::string& path, const std::string& bytes);

/// Same, streaming: `write` fills the stream; if it throws, the temp file is removed and
/// the previous content of `path` (if any) is untouched.
void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& write);

/// Expands a leading `~` and `${VAR}` / `${VAR:-default}` references in a path.
/// Throws pft::Error (Config) naming `what` when a variable is unset and has no default.
std::string expand_path(const std::string& path, const std::string& what);

}  // namespace pft
