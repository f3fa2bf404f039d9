#include "pft/data/records.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>
#include <string_view>

#include "pft/data/columnar.h"
#include "pft/util/error.h"
#include "pft/util/fs.h"

namespace pft::data {

namespace {

std::string where(const std::string& path, std::size_t line) {
  return path + ":" + std::to_string(line);
}

// Length of the valid UTF-8 sequence at text[i], or 0 if there is none.
std::size_t utf8_length(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char c = byte(i);
  if (c < 0x80) return 1;
  std::size_t n = 0;
  unsigned min = 0;
  unsigned cp = 0;
  if ((c & 0xE0) == 0xC0) {
    n = 2, cp = c & 0x1F, min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3, cp = c & 0x0F, min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4, cp = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + n > text.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

// Throws naming path:line:column of the first byte that is not valid UTF-8.
void check_utf8(const std::string& path, std::string_view text) {
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = utf8_length(text, i);
    if (n == 0) {
      throw Error(ErrorKind::Input, where(path, line) + ":" + std::to_string(column) +
                                        ": invalid UTF-8 (byte " +
                                        std::to_string(static_cast<unsigned char>(text[i])) + ")");
    }
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
    i += n;
  }
}

// One row of fields and the line it starts on.
struct Row {
  std::size_t line = 0;
  std::vector<std::string> fields;
};

// Splits `text` into rows. CSV (quoted): RFC 4180, a field in double quotes may hold the
// separator, line breaks and doubled quotes; a quote inside an unquoted field is kept as it is.
// TSV: every line is a row, fields split at tabs. Line ends are \n or \r\n; blank lines are
// skipped.
std::vector<Row> split_rows(const std::string& path, std::string_view text, char separator,
                            bool quoted, std::size_t max_rows) {
  std::vector<Row> rows;
  std::size_t i = 0, line = 1;
  const std::size_t n = text.size();
  while (i < n && (max_rows == 0 || rows.size() < max_rows)) {
    // Blank lines between rows.
    if (text[i] == '\n' || (text[i] == '\r' && i + 1 < n && text[i + 1] == '\n')) {
      i += text[i] == '\r' ? 2 : 1;
      ++line;
      continue;
    }
    Row row;
    row.line = line;
    std::size_t line_start = i;
    while (true) {
      std::string field;
      if (quoted && i < n && text[i] == '"') {
        const std::size_t open_line = line, open_column = i - line_start + 1;
        ++i;
        while (true) {
          if (i >= n) {
            throw Error(ErrorKind::Input, where(path, open_line) + ":" +
                                              std::to_string(open_column) +
                                              ": a quoted field is never closed (expected a "
                                              "closing '\"' before the end of the file)");
          }
          if (text[i] == '"') {
            if (i + 1 < n && text[i + 1] == '"') {
              field += '"';
              i += 2;
              continue;
            }
            ++i;
            break;
          }
          if (text[i] == '\n') {
            ++line;
            line_start = i + 1;
          }
          field += text[i++];
        }
        if (i < n && text[i] != separator && text[i] != '\n' &&
            !(text[i] == '\r' && i + 1 < n && text[i + 1] == '\n') &&
            !(text[i] == '\r' && i + 1 == n)) {
          throw Error(ErrorKind::Input,
                      where(path, line) + ":" + std::to_string(i - line_start + 1) +
                          ": expected the separator or the end of the line after a closing "
                          "quote, got '" +
                          std::string(1, text[i]) + "' (a quote inside a field is written \"\")");
        }
      } else {
        const std::size_t begin = i;
        while (i < n && text[i] != separator && text[i] != '\n') ++i;
        std::size_t end = i;
        if (end > begin && text[end - 1] == '\r' && (i == n || text[i] == '\n')) --end;
        field.assign(text.substr(begin, end - begin));
      }
      row.fields.push_back(std::move(field));
      if (i < n && text[i] == separator) {
        ++i;
        continue;
      }
      if (i < n && text[i] == '\r') ++i;
      if (i < n && text[i] == '\n') {
        ++i;
        ++line;
      }
      break;
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace

std::string record_format(const std::string& path, const std::string& format) {
  if (format != "auto") return format;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return "arrow";  // a save_to_disk folder
  auto ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (ext == ".csv") return "csv";
  if (ext == ".tsv") return "tsv";
  if (ext == ".parquet" || ext == ".pq") return "parquet";
  if (ext == ".arrow" || ext == ".feather") return "arrow";
  return "jsonl";
}

std::vector<JsonlRecord> read_delimited(const std::string& path, char separator,
                                        std::size_t limit) {
  const bool csv = separator == ',';
  const char* kind = csv ? "CSV" : "TSV";
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw Error(ErrorKind::Input,
                path + ": is a directory, expected a " + std::string(kind) + " file");
  }
  std::string text = read_file(path);
  std::string_view view(text);
  if (view.substr(0, 3) == "\xEF\xBB\xBF") view.remove_prefix(3);  // a UTF-8 byte order mark
  check_utf8(path, view);
  const auto rows = split_rows(path, view, separator, csv, limit == 0 ? 0 : limit + 1);
  if (rows.empty()) {
    throw Error(ErrorKind::Input, path + ": empty; expected a header row naming the columns (" +
                                      std::string(kind) + ")");
  }
  const auto& header = rows.front();
  std::set<std::string> names;
  for (std::size_t c = 0; c < header.fields.size(); ++c) {
    const auto& name = header.fields[c];
    if (name.empty()) {
      throw Error(ErrorKind::Input, where(path, header.line) + ": column " + std::to_string(c + 1) +
                                        " of the header row has no name");
    }
    if (!names.insert(name).second) {
      throw Error(ErrorKind::Input,
                  where(path, header.line) + ": the header names column '" + name + "' twice");
    }
  }
  std::vector<JsonlRecord> records;
  records.reserve(rows.size() - 1);
  for (std::size_t r = 1; r < rows.size(); ++r) {
    const auto& row = rows[r];
    if (row.fields.size() != header.fields.size()) {
      throw Error(ErrorKind::Input,
                  where(path, row.line) + ": " + std::to_string(row.fields.size()) +
                      " fields, but the header has " + std::to_string(header.fields.size()) + " (" +
                      std::string(kind) +
                      (csv ? "; a field holding a comma or a line break must be quoted)"
                           : "; TSV fields cannot hold tabs or line breaks)"));
    }
    JsonlRecord record;
    record.line = row.line;
    record.value = nlohmann::json::object();
    for (std::size_t c = 0; c < row.fields.size(); ++c) {
      record.value[header.fields[c]] = row.fields[c];
    }
    records.push_back(std::move(record));
  }
  return records;
}

std::vector<JsonlRecord> read_records(const std::string& path, const std::string& format,
                                      std::size_t limit) {
  const auto resolved = record_format(path, format);
  if (resolved == "csv") return read_delimited(path, ',', limit);
  if (resolved == "tsv") return read_delimited(path, '\t', limit);
  if (resolved == "jsonl") return read_jsonl(path, limit);
  if (resolved == "parquet") return read_parquet(path, limit);
  if (resolved == "arrow") return read_arrow(path, limit);
  throw Error(ErrorKind::Config, "data.format: " + format +
                                     " is not a record format (expected jsonl, csv, tsv, parquet, "
                                     "arrow or auto)");
}

std::string label_value(const JsonlRecord& record, const std::string& field,
                        const std::vector<std::string>& labels, const std::string& path) {
  const auto it = record.value.find(field);
  const auto at = where(path, record.line) + ": field '" + field + "'";
  if (it == record.value.end() || it->is_null()) {
    throw Error(ErrorKind::Input, at + ": no label");
  }
  const auto index_label = [&](std::int64_t index, const std::string& shown) {
    if (labels.empty()) return shown;
    if (index < 0 || static_cast<std::size_t>(index) >= labels.size()) {
      throw Error(ErrorKind::Input, at + ": label index " + shown + " is out of range: there are " +
                                        std::to_string(labels.size()) + " labels (0 to " +
                                        std::to_string(labels.size() - 1) + ")");
    }
    return labels[static_cast<std::size_t>(index)];
  };
  const auto is_name = [&](const std::string& value) {
    return std::find(labels.begin(), labels.end(), value) != labels.end();
  };
  if (it->is_number_integer()) {
    // The same rule as a column of digits, so that a JSON Lines file and its CSV or TSV copy
    // mean the same labels: an integer whose digits are a label name (labels collected from
    // the training data, or task.labels that are numbers) is that name.
    const auto digits = std::to_string(it->get<std::int64_t>());
    if (is_name(digits)) return digits;
    return index_label(it->get<std::int64_t>(), digits);
  }
  if (!it->is_string()) {
    std::string text = it->dump();
    if (text.size() > 60) text = text.substr(0, 57) + "...";
    throw Error(ErrorKind::Input, at +
                                      ": expected a label name (string) or an index "
                                      "(integer), got " +
                                      std::string(it->type_name()) + " " + text);
  }
  const auto& value = it->get_ref<const std::string&>();
  if (labels.empty() || is_name(value)) return value;
  const bool digits =
      !value.empty() && value.size() <= 18 &&
      std::all_of(value.begin(), value.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
  if (digits) return index_label(std::stoll(value), value);
  return value;  // not a label: the caller names the labels it expected
}

}  // namespace pft::data
