// CoNLL token-classification files.
#include "fuzz_util.h"
#include "pft/data/conll.h"
#include "pft/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = pft::fuzz::as_file(data, size);
  try {
    for (const auto& s : pft::data::read_conll(path)) {
      if (s.words.size() != s.tags.size() || s.words.empty()) __builtin_trap();
    }
  } catch (const pft::Error&) {
  }
  return 0;
}
