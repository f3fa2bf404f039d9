#include "pft/data/jsonl.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "pft/util/error.h"

namespace pft::data {

namespace {

std::string where(const std::string& path, std::size_t line) {
  return path + ":" + std::to_string(line);
}

std::string describe(const nlohmann::json& value) {
  std::string text = value.dump();
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return std::string(value.type_name()) + " " + text;
}

}  // namespace

JsonlReader::JsonlReader(std::string path) : path_(std::move(path)) {
  std::error_code ec;
  if (std::filesystem::is_directory(path_, ec)) {
    throw Error(ErrorKind::Input, path_ + ": is a directory, expected a JSONL file");
  }
  in_.open(path_, std::ios::binary);
  if (!in_) throw Error(ErrorKind::Input, path_ + ": cannot open: " + std::strerror(errno));
}

bool JsonlReader::next(JsonlRecord& record) {
  std::string text;
  while (std::getline(in_, text)) {
    ++line_;
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.find_first_not_of(" \t") == std::string::npos) continue;
    nlohmann::json value;
    try {
      value = nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
      // nlohmann's message starts with its own error id; the column is what helps.
      throw Error(ErrorKind::Input, where(path_, line_) + ": malformed JSON at column " +
                                        std::to_string(e.byte) + ": " + e.what());
    } catch (const nlohmann::json::out_of_range& e) {
      throw Error(ErrorKind::Input,
                  where(path_, line_) + ": a number beyond a 64-bit float: " + e.what());
    }
    if (!value.is_object()) {
      throw Error(ErrorKind::Input,
                  where(path_, line_) + ": expected a JSON object, got " + describe(value));
    }
    record.line = line_;
    record.value = std::move(value);
    return true;
  }
  if (in_.bad()) throw Error(ErrorKind::Input, path_ + ": read failed after line " + std::to_string(line_));
  return false;
}

std::vector<JsonlRecord> read_jsonl(const std::string& path, std::size_t limit) {
  JsonlReader reader(path);
  std::vector<JsonlRecord> records;
  JsonlRecord record;
  while ((limit == 0 || records.size() < limit) && reader.next(record)) {
    records.push_back(std::move(record));
  }
  return records;
}

std::string string_field(const JsonlRecord& record, const std::string& field,
                         const std::string& path) {
  const auto it = record.value.find(field);
  if (it == record.value.end()) {
    std::string keys;
    for (const auto& item : record.value.items()) keys += (keys.empty() ? "" : ", ") + item.key();
    throw Error(ErrorKind::Input, where(path, record.line) + ": no field \"" + field +
                                      "\" (the record has: " + keys + ")",
                "set data.text_field / data.text_pair_field / data.label_field to the file's "
                "field names");
  }
  if (!it->is_string()) {
    throw Error(ErrorKind::Input, where(path, record.line) + ": field \"" + field +
                                      "\": expected a string, got " + describe(*it));
  }
  return it->get<std::string>();
}

}  // namespace pft::data
