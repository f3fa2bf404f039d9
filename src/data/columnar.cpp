#include "pft/data/columnar.h"

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "pft/util/error.h"

// Built apart from pft_core (CMakeLists.txt): Arrow's headers need C++20, and a build without
// Arrow compiles only the #else branch.
#if PFT_WITH_ARROW
#include <arrow/api.h>
#include <arrow/io/file.h>
#include <arrow/ipc/reader.h>
#include <arrow/util/float16.h>
#include <parquet/arrow/reader.h>
#include <parquet/exception.h>
#endif

namespace pft::data {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// The state.json of a save_to_disk folder, read and checked; names the folder when it is not
// one (a DatasetDict folder: its splits).
json saved_dataset_state(const std::string& dir) {
  std::error_code ec;
  const fs::path folder(dir);
  if (fs::exists(folder / "dataset_dict.json", ec)) {
    std::string splits;
    for (const auto& e : fs::directory_iterator(folder, ec)) {
      if (e.is_directory(ec) && fs::exists(e.path() / "state.json", ec)) {
        splits += (splits.empty() ? "" : ", ") + e.path().filename().string();
      }
    }
    throw Error(ErrorKind::Input, dir +
                                      ": a DatasetDict folder (dataset_dict.json); name one of its "
                                      "splits, a folder of its own: " +
                                      (splits.empty() ? std::string("none found") : splits));
  }
  const auto state_path = folder / "state.json";
  std::ifstream in(state_path);
  if (!in) {
    throw Error(ErrorKind::Input, dir +
                                      ": a folder, but not a datasets save_to_disk folder (no "
                                      "state.json); expected a data file or such a folder");
  }
  json state;
  try {
    state = json::parse(in);
  } catch (const json::exception& e) {
    throw Error(ErrorKind::Input, state_path.string() + ": not valid JSON (" + e.what() + ")");
  }
  const auto files = state.find("_data_files");
  if (!state.is_object() || files == state.end() || !files->is_array() || files->empty()) {
    throw Error(ErrorKind::Input, state_path.string() +
                                      ": expected \"_data_files\", a non-empty list of "
                                      "{\"filename\": ...} (what save_to_disk writes)");
  }
  for (const auto& f : *files) {
    const auto name = f.is_object() ? f.find("filename") : f.end();
    if (name == f.end() || !name->is_string()) {
      throw Error(ErrorKind::Input, state_path.string() +
                                        ": each entry of \"_data_files\" needs a string "
                                        "\"filename\", got " +
                                        f.dump());
    }
    const fs::path file(name->get<std::string>());
    if (file.empty() || file.is_absolute() || file.has_parent_path()) {
      throw Error(ErrorKind::Input, state_path.string() + ": data file '" + file.string() +
                                        "' is not a file name inside the folder");
    }
  }
  return state;
}

#if PFT_WITH_ARROW

// The `datasets` features of a schema's "huggingface" metadata, or of the folder's
// dataset_info.json; null when neither has them.
json features_from(const std::string& metadata_text) {
  if (metadata_text.empty()) return nullptr;
  const auto meta = json::parse(metadata_text, nullptr, false);
  if (meta.is_discarded() || !meta.is_object()) return nullptr;
  const auto info = meta.find("info");
  if (info == meta.end() || !info->is_object()) return nullptr;
  const auto features = info->find("features");
  return features != info->end() && features->is_object() ? *features : json(nullptr);
}

// Replaces the ClassLabel integers of `value` (a column value described by `feature`) by their
// names; -1 (no label) by null. Lists (List, Sequence, LargeList) and structs (plain objects)
// are followed.
void apply_class_labels(json& value, const json& feature, const std::string& at) {
  if (!feature.is_object()) return;
  const auto type = feature.value("_type", std::string());
  if (type == "ClassLabel") {
    const auto names = feature.find("names");
    if (names == feature.end() || !names->is_array() || !value.is_number_integer()) return;
    const auto index = value.get<std::int64_t>();
    if (index == -1) {
      value = nullptr;
    } else if (index < 0 || static_cast<std::size_t>(index) >= names->size()) {
      throw Error(ErrorKind::Input, at + ": ClassLabel value " + std::to_string(index) +
                                        " is out of range: the features name " +
                                        std::to_string(names->size()) + " classes");
    } else if ((*names)[static_cast<std::size_t>(index)].is_string()) {
      value = (*names)[static_cast<std::size_t>(index)];
    }
    return;
  }
  if (type == "List" || type == "Sequence" || type == "LargeList") {
    const auto inner = feature.find("feature");
    if (inner == feature.end() || !value.is_array()) return;
    for (auto& v : value) apply_class_labels(v, *inner, at);
    return;
  }
  if (type.empty() && value.is_object()) {
    for (auto& [key, v] : value.items()) {
      const auto f = feature.find(key);
      if (f != feature.end()) apply_class_labels(v, *f, at);
    }
  }
}

std::string where(const std::string& path, std::size_t row) {
  return path + ":" + std::to_string(row);
}

// `status` as a pft::Error naming `path` and what it was expected to be.
void check(const arrow::Status& status, const std::string& path, const std::string& what) {
  if (!status.ok()) {
    throw Error(ErrorKind::Input, path + ": " + what + " (" + status.message() + ")");
  }
}

template <class T>
T value_or_throw(arrow::Result<T> result, const std::string& path, const std::string& what) {
  check(result.status(), path, what);
  return std::move(result).ValueOrDie();
}

// Element `i` of `array` as JSON. `at` names the row and column for errors.
json to_json(const arrow::Array& array, std::int64_t i, const std::string& at) {
  if (array.IsNull(i)) return nullptr;
  using arrow::Type;
  const auto list = [&](const arrow::Array& values, std::int64_t begin, std::int64_t length) {
    json out = json::array();
    for (std::int64_t k = 0; k < length; ++k) out.push_back(to_json(values, begin + k, at));
    return out;
  };
  switch (array.type_id()) {
    case Type::NA:
      return nullptr;
    case Type::BOOL:
      return static_cast<const arrow::BooleanArray&>(array).Value(i);
    case Type::INT8:
      return static_cast<const arrow::Int8Array&>(array).Value(i);
    case Type::INT16:
      return static_cast<const arrow::Int16Array&>(array).Value(i);
    case Type::INT32:
      return static_cast<const arrow::Int32Array&>(array).Value(i);
    case Type::INT64:
      return static_cast<const arrow::Int64Array&>(array).Value(i);
    case Type::UINT8:
      return static_cast<const arrow::UInt8Array&>(array).Value(i);
    case Type::UINT16:
      return static_cast<const arrow::UInt16Array&>(array).Value(i);
    case Type::UINT32:
      return static_cast<const arrow::UInt32Array&>(array).Value(i);
    case Type::UINT64:
      return static_cast<const arrow::UInt64Array&>(array).Value(i);
    case Type::HALF_FLOAT:
      return arrow::util::Float16::FromBits(
                 static_cast<const arrow::HalfFloatArray&>(array).Value(i))
          .ToFloat();
    case Type::FLOAT:
      return static_cast<const arrow::FloatArray&>(array).Value(i);
    case Type::DOUBLE:
      return static_cast<const arrow::DoubleArray&>(array).Value(i);
    case Type::STRING:
      return std::string(static_cast<const arrow::StringArray&>(array).GetView(i));
    case Type::LARGE_STRING:
      return std::string(static_cast<const arrow::LargeStringArray&>(array).GetView(i));
    case Type::STRING_VIEW:
      return std::string(static_cast<const arrow::StringViewArray&>(array).GetView(i));
    case Type::LIST: {
      const auto& a = static_cast<const arrow::ListArray&>(array);
      return list(*a.values(), a.value_offset(i), a.value_length(i));
    }
    case Type::LARGE_LIST: {
      const auto& a = static_cast<const arrow::LargeListArray&>(array);
      return list(*a.values(), a.value_offset(i), a.value_length(i));
    }
    case Type::FIXED_SIZE_LIST: {
      const auto& a = static_cast<const arrow::FixedSizeListArray&>(array);
      return list(*a.values(), a.value_offset(i), a.value_length(i));
    }
    case Type::LIST_VIEW: {
      const auto& a = static_cast<const arrow::ListViewArray&>(array);
      return list(*a.values(), a.value_offset(i), a.value_length(i));
    }
    case Type::LARGE_LIST_VIEW: {
      const auto& a = static_cast<const arrow::LargeListViewArray&>(array);
      return list(*a.values(), a.value_offset(i), a.value_length(i));
    }
    case Type::STRUCT: {
      const auto& a = static_cast<const arrow::StructArray&>(array);
      json out = json::object();
      for (int k = 0; k < a.num_fields(); ++k) {
        out[a.struct_type()->field(k)->name()] = to_json(*a.field(k), i, at);
      }
      return out;
    }
    case Type::DICTIONARY: {
      const auto& a = static_cast<const arrow::DictionaryArray&>(array);
      return to_json(*a.dictionary(), a.GetValueIndex(i), at);
    }
    case Type::BINARY:
    case Type::LARGE_BINARY:
    case Type::BINARY_VIEW:
    case Type::FIXED_SIZE_BINARY:
      throw Error(ErrorKind::Input, at + ": a binary column (" + array.type()->ToString() +
                                        "); pft reads text, numbers, booleans, lists and structs");
    default: {
      // Dates, times, timestamps, decimals, maps, unions: their text, as CSV would hold them.
      auto scalar = array.GetScalar(i);
      if (!scalar.ok()) {
        throw Error(ErrorKind::Input, at + ": cannot read a value of type " +
                                          array.type()->ToString() + " (" +
                                          scalar.status().message() + ")");
      }
      return (*scalar)->ToString();
    }
  }
}

// Appends the rows of `batch` to `out` (row numbers continue from out.size()), at most up to
// `limit` rows in all (0: no limit).
void append_rows(const arrow::RecordBatch& batch, const json& features, const std::string& path,
                 std::size_t limit, std::vector<JsonlRecord>& out) {
  check(batch.ValidateFull(), path, "the data is not valid Arrow (or a string is not UTF-8)");
  const auto& schema = *batch.schema();
  for (std::int64_t r = 0; r < batch.num_rows(); ++r) {
    if (limit != 0 && out.size() >= limit) return;
    JsonlRecord record;
    record.line = out.size() + 1;
    record.value = json::object();
    const auto row = where(path, record.line);
    for (int c = 0; c < batch.num_columns(); ++c) {
      const auto& name = schema.field(c)->name();
      const auto at = row + ": column '" + name + "'";
      auto value = to_json(*batch.column(c), r, at);
      if (features.is_object()) {
        const auto f = features.find(name);
        if (f != features.end()) apply_class_labels(value, *f, at);
      }
      record.value[name] = std::move(value);
    }
    out.push_back(std::move(record));
  }
}

json schema_features(const arrow::Schema& schema) {
  const auto meta = schema.metadata();
  if (!meta) return nullptr;
  const auto text = meta->Get("huggingface");
  return text.ok() ? features_from(*text) : json(nullptr);
}

std::shared_ptr<arrow::io::ReadableFile> open_file(const std::string& path, const char* kind) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    throw Error(ErrorKind::Input, path + ": is a directory, expected a " + std::string(kind) +
                                      " file");
  }
  return value_or_throw(arrow::io::ReadableFile::Open(path), path, "cannot be opened");
}

// The rows of one Arrow IPC file (magic "ARROW1") or stream, appended to `out`; the schema's
// column names are checked against `names` (set by the first file) so a folder's files agree.
void read_ipc(const std::string& path, const std::string& shown, const json& folder_features,
              std::size_t limit, std::vector<std::string>& names, std::vector<JsonlRecord>& out) {
  const auto file = open_file(path, "Arrow");
  const auto expected = "not an Arrow IPC file or stream (what datasets' save_to_disk writes)";
  const auto size = value_or_throw(file->GetSize(), path, "cannot be read");
  std::string magic(6, '\0');
  if (size >= 6) {
    const auto read = value_or_throw(file->ReadAt(0, 6, magic.data()), path, "cannot be read");
    magic.resize(static_cast<std::size_t>(read));
    check(file->Seek(0), path, "cannot be read");  // the stream reader reads from the position
  }
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
  std::shared_ptr<arrow::Schema> schema;
  if (magic == "ARROW1") {
    auto reader = value_or_throw(arrow::ipc::RecordBatchFileReader::Open(file), path, expected);
    schema = reader->schema();
    for (int b = 0; b < reader->num_record_batches(); ++b) {
      batches.push_back(value_or_throw(reader->ReadRecordBatch(b), path, expected));
    }
  } else {
    auto reader = value_or_throw(arrow::ipc::RecordBatchStreamReader::Open(file), path, expected);
    schema = reader->schema();
    while (true) {
      std::shared_ptr<arrow::RecordBatch> batch;
      check(reader->ReadNext(&batch), path, expected);
      if (!batch) break;
      batches.push_back(std::move(batch));
      if (limit != 0) {
        std::size_t rows = out.size();
        for (const auto& b : batches) rows += static_cast<std::size_t>(b->num_rows());
        if (rows >= limit) break;
      }
    }
  }
  std::vector<std::string> columns = schema->field_names();
  if (names.empty()) {
    names = columns;
  } else if (columns != names) {
    std::string a, b;
    for (const auto& n : names) a += (a.empty() ? "" : ", ") + n;
    for (const auto& n : columns) b += (b.empty() ? "" : ", ") + n;
    throw Error(ErrorKind::Input, path + ": columns (" + b + ") differ from the first file's (" +
                                      a + ")");
  }
  json features = schema_features(*schema);
  if (!features.is_object()) features = folder_features;
  for (const auto& batch : batches) {
    if (limit != 0 && out.size() >= limit) break;
    append_rows(*batch, features, shown, limit, out);
  }
}

#endif  // PFT_WITH_ARROW

}  // namespace

#if PFT_WITH_ARROW

bool columnar_supported() { return true; }

std::vector<JsonlRecord> read_parquet(const std::string& path, std::size_t limit) {
  const auto file = open_file(path, "Parquet");
  std::vector<JsonlRecord> out;
  try {
    auto reader = value_or_throw(parquet::arrow::OpenFile(file, arrow::default_memory_pool()),
                                 path, "not a Parquet file");
    const auto batches =
        value_or_throw(reader->GetRecordBatchReader(), path, "not a readable Parquet file");
    const json features = schema_features(*batches->schema());
    while (limit == 0 || out.size() < limit) {
      std::shared_ptr<arrow::RecordBatch> batch;
      check(batches->ReadNext(&batch), path, "not a readable Parquet file");
      if (!batch) break;
      append_rows(*batch, features, path, limit, out);
    }
  } catch (const parquet::ParquetException& e) {
    throw Error(ErrorKind::Input, path + ": not a readable Parquet file (" + e.what() + ")");
  }
  return out;
}

std::vector<JsonlRecord> read_arrow(const std::string& path, std::size_t limit) {
  std::vector<JsonlRecord> out;
  std::vector<std::string> names;
  std::error_code ec;
  if (!fs::is_directory(path, ec)) {
    read_ipc(path, path, nullptr, limit, names, out);
    return out;
  }
  const auto state = saved_dataset_state(path);
  json folder_features = nullptr;
  std::ifstream info(fs::path(path) / "dataset_info.json");
  if (info) {
    const auto parsed = json::parse(info, nullptr, false);
    if (parsed.is_object() && parsed.contains("features") && parsed["features"].is_object()) {
      folder_features = parsed["features"];
    }
  }
  for (const auto& f : state["_data_files"]) {
    if (limit != 0 && out.size() >= limit) break;
    const auto file = (fs::path(path) / f["filename"].get<std::string>()).string();
    read_ipc(file, path, folder_features, limit, names, out);
  }
  return out;
}

#else

namespace {
[[noreturn]] void unsupported(const std::string& path, const char* kind) {
  throw Error(ErrorKind::Input,
              path + ": a " + std::string(kind) +
                  " file, but this pft was built without Apache Arrow (configure found no "
                  "pyarrow: run scripts/setup.sh and rebuild), or convert it to JSON Lines");
}
}  // namespace

bool columnar_supported() { return false; }

std::vector<JsonlRecord> read_parquet(const std::string& path, std::size_t) {
  unsupported(path, "Parquet");
}

std::vector<JsonlRecord> read_arrow(const std::string& path, std::size_t) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) saved_dataset_state(path);  // names what the folder is
  unsupported(path, "Arrow");
}

#endif

}  // namespace pft::data
