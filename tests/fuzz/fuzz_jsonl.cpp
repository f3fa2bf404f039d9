// JSON Lines data files: every record and its text and label fields.
#include "fuzz_util.h"
#include "pft/data/jsonl.h"
#include "pft/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = pft::fuzz::as_file(data, size);
  try {
    for (const auto& record : pft::data::read_jsonl(path)) {
      try {
        pft::data::string_field(record, "text", path);
        pft::data::string_field(record, "label", path);
      } catch (const pft::Error&) {
      }
    }
  } catch (const pft::Error&) {
  }
  return 0;
}
