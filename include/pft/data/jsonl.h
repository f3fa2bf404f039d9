#pragma once
// JSON Lines: one JSON object per line. Blank lines are skipped; anything else that is not
// a JSON object is an error naming the file and the line.

#include <nlohmann/json.hpp>

#include <cstddef>
#include <fstream>
#include <string>
#include <vector>

namespace pft::data {

/// One object of a JSONL file and the (1-based) line it came from.
struct JsonlRecord {
  std::size_t line = 0;
  nlohmann::json value;
};

/// Streams the records of a file, so that large files need not be held twice.
class JsonlReader {
 public:
  /// Throws pft::Error (Input) naming `path` when it cannot be opened.
  explicit JsonlReader(std::string path);
  /// Reads the next record into `record`; false at the end of the file. Malformed JSON or a
  /// value that is not an object throws pft::Error (Input) naming path:line.
  bool next(JsonlRecord& record);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::ifstream in_;
  std::size_t line_ = 0;
};

/// Every record of `path`, or the first `limit` (0: all).
std::vector<JsonlRecord> read_jsonl(const std::string& path, std::size_t limit = 0);

/// The string field `field` of `record`. Missing, null or not a string is a pft::Error
/// (Input) naming path:line, the field and what was found.
std::string string_field(const JsonlRecord& record, const std::string& field,
                         const std::string& path);

}  // namespace pft::data
