#pragma once
// Damaged safetensors files shared by the reader's unit tests and the CLI tests: one per
// way the format's header can be wrong.

#include <cstdint>
#include <string>
#include <vector>

namespace pft::test {

/// 8 bytes, little-endian.
std::string le64(uint64_t n);

/// A file image: header length, header, data.
std::string image(const std::string& header, const std::string& data);

struct CorruptCase {
  const char* what;
  std::string bytes;                 // the whole file
  std::vector<std::string> message;  // parts the error must contain besides the file name
                                     // (the tensor's name, quoted, whenever one is at fault)
};

/// Every corrupt-header case: length field, JSON, UTF-8, fields, dtype, shape, offsets.
std::vector<CorruptCase> corrupt_safetensors_cases();

}  // namespace pft::test
