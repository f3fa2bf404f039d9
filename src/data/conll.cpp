#include "pft/data/conll.h"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "pft/util/error.h"
#include "pft/util/strings.h"

namespace pft::data {
namespace {

std::vector<std::string> columns_of(const std::string& line) {
  std::vector<std::string> cols;
  if (line.find('\t') != std::string::npos) {
    for (auto& c : split(line, '\t')) {
      const auto first = c.find_first_not_of(' ');
      if (first == std::string::npos) continue;
      cols.push_back(c.substr(first, c.find_last_not_of(' ') - first + 1));
    }
    return cols;
  }
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\v' || line[i] == '\f')) ++i;
    const std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\v' && line[i] != '\f') ++i;
    if (i > start) cols.push_back(line.substr(start, i - start));
  }
  return cols;
}

}  // namespace

std::vector<ConllSentence> read_conll(const std::string& path, std::size_t limit) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw Error(ErrorKind::Input, path + ": is a folder, expected a CoNLL file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw Error(ErrorKind::Input, path + ": cannot open the CoNLL file: " + std::strerror(errno));
  std::vector<ConllSentence> out;
  ConllSentence current;
  std::string line;
  std::size_t number = 0;
  const auto finish = [&] {
    if (!current.words.empty()) out.push_back(std::move(current));
    current = ConllSentence();
  };
  const auto where = [&] { return path + ":" + std::to_string(number); };
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto cols = columns_of(line);
    if (cols.empty()) {
      finish();
      if (limit > 0 && out.size() >= limit) break;
      continue;
    }
    if (cols[0] == "-DOCSTART-") continue;
    if (line.front() == '{' && nlohmann::json::accept(line)) {
      throw Error(ErrorKind::Input, where() +
                                        ": a JSON object, not a CoNLL line (one word and its tag); "
                                        "token_classification reads CoNLL files (data.format)");
    }
    if (cols.size() < 2) {
      throw Error(ErrorKind::Input, where() + ": '" + line +
                                        "' has one column; CoNLL lines hold a word and its tag "
                                        "(the tag last)");
    }
    if (current.words.empty()) current.line = number;
    current.words.push_back(cols.front());
    current.tags.push_back(cols.back());
  }
  if (in.bad())
    throw Error(ErrorKind::Input, path + ": read failed after line " + std::to_string(number));
  if (limit == 0 || out.size() < limit) finish();
  if (out.empty()) {
    throw Error(ErrorKind::Input, path + ": no sentences (" + std::to_string(number) +
                                      " lines, none a word with its tag)");
  }
  return out;
}

}  // namespace pft::data
