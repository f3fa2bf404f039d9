#include "support/safetensors_cases.h"

namespace pft::test {

std::string le64(uint64_t n) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xFF);
  return out;
}

std::string image(const std::string& header, const std::string& data) {
  return le64(header.size()) + header + data;
}

std::vector<CorruptCase> corrupt_safetensors_cases() {
  const std::string four(4, '\0');
  const std::string eight(8, '\0');
  const std::string f32_w = R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  std::vector<CorruptCase> c;
  c.push_back({"shorter than the length field", "abc", {"too short"}});
  c.push_back({"header length past the end", le64(100) + "{}", {"header length 100", "exceeds"}});
  c.push_back({"absurd header length", le64(uint64_t{1} << 60) + "{}", {"absurd"}});
  c.push_back({"non-JSON header", image("{not json}", ""), {"not valid JSON"}});
  c.push_back({"truncated JSON", image(R"({"w":{"dtype":"F32")", ""), {"not valid JSON", "'w'"}});
  c.push_back({"bad JSON in an entry",
               image(R"({"w":{"dtype":F32,"shape":[1],"data_offsets":[0,4]}})", four),
               {"not valid JSON", "'w'"}});
  c.push_back({"non-UTF-8 header",
               image("{\"w\xff\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", four),
               {"UTF-8", "after '{\"w'"}});
  c.push_back({"overlong UTF-8", image("{\"\xc0\xaf\":1}", ""), {"UTF-8", "at byte 2"}});
  c.push_back({"header not an object", image("[1, 2]  ", ""), {"'{'"}});
  c.push_back({"entry not an object", image(R"({"w":[1]})", ""), {"'w'", "object"}});
  c.push_back({"missing dtype",
               image(R"({"w":{"shape":[1],"data_offsets":[0,4]}})", four),
               {"'w'", "lacks 'dtype'"}});
  c.push_back({"missing shape",
               image(R"({"w":{"dtype":"F32","data_offsets":[0,4]}})", four),
               {"'w'", "lacks 'shape'"}});
  c.push_back({"missing data_offsets",
               image(R"({"w":{"dtype":"F32","shape":[1]}})", four),
               {"'w'", "lacks 'data_offsets'"}});
  c.push_back({"extra field",
               image(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}})", four),
               {"'w'", "unexpected field 'x'"}});
  c.push_back({"unknown dtype",
               image(R"({"w":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}})", four),
               {"'w'", "unknown dtype 'F33'"}});
  c.push_back({"dtype not a string",
               image(R"({"w":{"dtype":4,"shape":[1],"data_offsets":[0,4]}})", four),
               {"'w'", "dtype must be a string"}});
  c.push_back({"shape not an array",
               image(R"({"w":{"dtype":"F32","shape":1,"data_offsets":[0,4]}})", four),
               {"'w'", "shape must be an array"}});
  c.push_back({"negative dimension",
               image(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", four),
               {"'w'", "non-negative", "-1"}});
  c.push_back({"fractional dimension",
               image(R"({"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", four),
               {"'w'", "non-negative integers"}});
  c.push_back({"shape product overflows",
               image(R"({"w":{"dtype":"F32","shape":[4611686018427387904,4611686018427387904],)"
                     R"("data_offsets":[0,4]}})",
                     four),
               {"'w'", "overflows"}});
  c.push_back(
      {"byte size overflows",
       image(R"({"w":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,4]}})", four),
       {"'w'", "overflows"}});
  c.push_back({"shape and size disagree",
               image(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", eight),
               {"'w'", "needs 12 bytes", "span 8"}});
  c.push_back({"data_offsets past the data",
               image(R"({"w":{"dtype":"F32","shape":[25],"data_offsets":[0,100]}})", four),
               {"'w'", "run past the data section"}});
  c.push_back({"data_offsets reversed",
               image(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", four),
               {"'w'", "reversed"}});
  c.push_back({"data_offsets of one number",
               image(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[4]}})", four),
               {"'w'", "data_offsets must be [begin, end]"}});
  c.push_back({"data_offsets negative",
               image(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})", four),
               {"'w'", "data_offsets must be [begin, end]"}});
  c.push_back({"overlapping tensors",
               image(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                     R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                     std::string(12, '\0')),
               {"'b'", "overlap", "'a'"}});
  c.push_back({"gap between tensors",
               image(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                     R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                     std::string(12, '\0')),
               {"'b'", "gap", "'a' ends at 4"}});
  c.push_back({"first tensor not at 0",
               image(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", eight),
               {"'w'", "gap"}});
  c.push_back({"data left uncovered", image(f32_w, eight), {"'w' ends at 4", "8 bytes"}});
  c.push_back({"duplicate tensor name",
               image(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                     R"("w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                     eight),
               {"'w'", "twice"}});
  c.push_back(
      {"duplicate field",
       image(R"({"w":{"dtype":"F32","dtype":"F16","shape":[1],"data_offsets":[0,4]}})", four),
       {"'w'", "'dtype' appears twice"}});
  std::string metadata_header = R"({"__metadata__":{"format":1},)";
  metadata_header += f32_w.substr(1);
  c.push_back(
      {"metadata value not a string", image(metadata_header, four), {"__metadata__", "'format'"}});
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  c.push_back({"deeply nested shape",
               image(R"({"w":{"dtype":"F32","shape":)" + deep + R"(,"data_offsets":[0,4]}})", four),
               {"'w'", "shape", "an array of 1 items"}});
  c.push_back({"deeply nested metadata",
               image(R"({"__metadata__":{"k":)" + deep + "}," + f32_w.substr(1), four),
               {"__metadata__", "'k'"}});
  return c;
}

}  // namespace pft::test
