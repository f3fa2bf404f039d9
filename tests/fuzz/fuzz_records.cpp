// CSV and TSV data files (data::read_records): every record, and its label as a name or an
// index. The first input byte picks the format, the rest is the file.
#include "fuzz_util.h"
#include "pft/data/records.h"
#include "pft/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const char* format = (data[0] & 1) != 0 ? "csv" : "tsv";
  const auto path = pft::fuzz::as_file(data + 1, size - 1);
  try {
    for (const auto& record : pft::data::read_records(path, format)) {
      try {
        pft::data::label_value(record, "label", {"negative", "positive"}, path);
      } catch (const pft::Error&) {
      }
    }
  } catch (const pft::Error&) {
  }
  return 0;
}
