// safetensors reader and writer: round trips of every dtype, zero-copy rules, and every way
// an untrusted header can be wrong (each error names the file and the tensor).

#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "pft/io/safetensors.h"
#include "pft/util/error.h"
#include "pft/util/fs.h"
#include "support/safetensors_cases.h"
#include "support/test_util.h"

namespace {

using pft::io::SafetensorsFile;
using pft::test::corrupt_safetensors_cases;
using pft::test::image;
using pft::test::le64;
using pft::test::TempDir;

bool bit_equal(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.scalar_type() != b.scalar_type() || a.sizes() != b.sizes()) return false;
  if (a.numel() == 0) return true;  // memcmp must not see an empty tensor's null pointer
  const auto ca = a.contiguous();
  const auto cb = b.contiguous();
  return std::memcmp(ca.data_ptr(), cb.data_ptr(), ca.numel() * ca.element_size()) == 0;
}

std::map<std::string, torch::Tensor> every_dtype() {
  torch::manual_seed(7);
  std::map<std::string, torch::Tensor> t;
  t["F64"] = torch::randn({3, 4}, torch::kFloat64);
  t["F32"] = torch::randn({5, 2});
  t["F16"] = torch::randn({7}).to(torch::kFloat16);
  t["BF16"] = torch::randn({2, 3, 2}).to(torch::kBFloat16);
  t["I64"] = torch::randint(-1000000, 1000000, {4}, torch::kInt64);
  t["I32"] = torch::randint(-1000000, 1000000, {3}, torch::kInt32);
  t["I16"] = torch::randint(-30000, 30000, {5}, torch::kInt16);
  t["I8"] = torch::randint(-128, 127, {9}, torch::kInt8);
  t["U8"] = torch::randint(0, 255, {3, 3}, torch::kUInt8);
  t["BOOL"] = torch::randint(0, 2, {11}, torch::kInt64).to(torch::kBool);
  t["C64"] = torch::randn({3}, torch::kComplexFloat);
  t["U16"] = torch::randint(0, 60000, {4}, torch::kInt32).to(torch::ScalarType::UInt16);
  t["U32"] = torch::randint(0, 1 << 30, {4}, torch::kInt64).to(torch::ScalarType::UInt32);
  t["U64"] = torch::randint(0, 1 << 30, {4}, torch::kInt64).to(torch::ScalarType::UInt64);
  t["F8_E4M3"] = torch::randn({5}).to(torch::ScalarType::Float8_e4m3fn);
  t["F8_E5M2"] = torch::randn({5}).to(torch::ScalarType::Float8_e5m2);
  t["F8_E4M3FNUZ"] = torch::randn({3}).to(torch::ScalarType::Float8_e4m3fnuz);
  t["F8_E5M2FNUZ"] = torch::randn({3}).to(torch::ScalarType::Float8_e5m2fnuz);
  t["F8_E8M0"] = torch::rand({3}).add(0.5).to(torch::ScalarType::Float8_e8m0fnu);
  t["scalar"] = torch::tensor(3.5);
  t["empty"] = torch::zeros({0, 4});
  return t;
}

/// Runs `body` expecting a pft::Error of kind Input whose message contains every `part`.
template <class F>
void expect_input_error(F body, const std::vector<std::string>& parts) {
  try {
    body();
    ADD_FAILURE() << "no error thrown; expected one mentioning " << parts.front();
  } catch (const pft::Error& e) {
    EXPECT_EQ(e.kind(), pft::ErrorKind::Input) << e.what();
    for (const auto& part : parts) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos)
          << "message lacks '" << part << "': " << e.what();
    }
  }
}

TEST(Safetensors, EveryDtypeRoundTripsThroughTheFile) {
  TempDir dir;
  const auto tensors = every_dtype();
  const std::map<std::string, std::string> metadata{{"format", "pt"}, {"note", "naïve ✓"}};
  pft::io::save_safetensors(dir.file("all.safetensors"), tensors, metadata);
  const auto back = pft::io::read_safetensors(dir.file("all.safetensors"));
  EXPECT_EQ(back.metadata, metadata);
  ASSERT_EQ(back.tensors.size(), tensors.size());
  for (const auto& [name, t] : tensors) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(back.tensors.count(name));
    EXPECT_TRUE(bit_equal(back.tensors.at(name), t));
    if (name != "scalar" && name != "empty") {
      EXPECT_EQ(pft::io::dtype_to_safetensors(t.scalar_type()), name);
      EXPECT_EQ(pft::io::dtype_from_safetensors(name), t.scalar_type());
    }
  }
}

TEST(Safetensors, WriterLayoutMatchesTheReferenceImplementation) {
  std::map<std::string, torch::Tensor> t;
  t["b"] = torch::zeros({3}, torch::kBool);
  t["a"] = torch::zeros({2}, torch::kFloat16);
  t["w"] = torch::zeros({2}, torch::kFloat32);
  t["c"] = torch::zeros({1}, torch::kInt64);
  const std::string bytes = pft::io::serialize_safetensors(t, {{"format", "pt"}});
  // Widest dtype first, then by name; compact JSON; padded with spaces to 8 bytes.
  const std::string json =
      R"({"__metadata__":{"format":"pt"},"c":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},)"
      R"("w":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},)"
      R"("a":{"dtype":"F16","shape":[2],"data_offsets":[16,20]},)"
      R"("b":{"dtype":"BOOL","shape":[3],"data_offsets":[20,23]}})";
  const std::string padded = json + std::string((8 - json.size() % 8) % 8, ' ');
  ASSERT_GE(bytes.size(), 8 + padded.size());
  EXPECT_EQ(bytes.substr(0, 8), le64(padded.size()));
  EXPECT_EQ(bytes.substr(8, padded.size()), padded);
  EXPECT_EQ(bytes.size(), 8 + padded.size() + 23);
}

TEST(Safetensors, WriterTakesNonContiguousTensors) {
  const auto base = torch::arange(12, torch::kFloat32).reshape({3, 4});
  const auto file = SafetensorsFile::from_bytes(
      pft::io::serialize_safetensors(
          {{"t", base.t()}, {"s", base.index({torch::indexing::Slice(), 1})}}),
      "mem");
  EXPECT_TRUE(torch::equal(file.tensor("t"), base.t()));
  EXPECT_TRUE(torch::equal(file.tensor("s"), base.index({torch::indexing::Slice(), 1})));
}

TEST(Safetensors, AlignedTensorsViewTheMappingAndOutliveTheFileObject) {
  TempDir dir;
  pft::io::save_safetensors(dir.file("x.safetensors"),
                            {{"w", torch::arange(6, torch::kFloat32).reshape({2, 3})}});
  torch::Tensor w;
  {
    const auto file = SafetensorsFile::open(dir.file("x.safetensors"));
    EXPECT_TRUE(file.is_zero_copy("w"));
    w = file.tensor("w");
    const auto again = file.tensor("w");
    EXPECT_EQ(w.data_ptr(), again.data_ptr());  // both view the same mapped bytes
  }
  // The file object is gone; the tensor keeps the mapping alive.
  EXPECT_TRUE(torch::equal(w, torch::arange(6, torch::kFloat32).reshape({2, 3})));
  // The mapping is private: writing changes the tensor, never the file.
  w.fill_(1.0);
  const auto reread = pft::io::read_safetensors(dir.file("x.safetensors")).tensors.at("w");
  EXPECT_TRUE(torch::equal(reread, torch::arange(6, torch::kFloat32).reshape({2, 3})));
}

TEST(Safetensors, MisalignedTensorsAreCopied) {
  // Valid by the format but not written by Python: an F32 tensor at data offset 1.
  float values[2] = {1.5f, -2.25f};
  std::string data = "\x07";
  data.append(reinterpret_cast<const char*>(values), sizeof values);
  const std::string header = R"({"u":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                             R"("f":{"dtype":"F32","shape":[2],"data_offsets":[1,9]}})";
  const auto file = SafetensorsFile::from_bytes(image(header, data), "mem");
  EXPECT_FALSE(file.is_zero_copy("f"));
  EXPECT_TRUE(file.is_zero_copy("u"));
  const auto f = file.tensor("f");
  EXPECT_EQ(f[0].item<float>(), 1.5f);
  EXPECT_EQ(f[1].item<float>(), -2.25f);
  EXPECT_EQ(file.tensor("u").item<uint8_t>(), 7);
  EXPECT_EQ(file.names(), (std::vector<std::string>{"u", "f"}));  // file order
}

TEST(Safetensors, EmptyFileOfTensorsIsValid) {
  const auto file = SafetensorsFile::from_bytes(pft::io::serialize_safetensors({}), "mem");
  EXPECT_TRUE(file.names().empty());
}

TEST(Safetensors, WriterRejectsWhatTheFormatCannotHold) {
  TempDir dir;
  expect_input_error(
      [&] {
        pft::io::save_safetensors(dir.file("x.safetensors"),
                                  {{"z", torch::zeros({2}, torch::kComplexDouble)}});
      },
      {dir.file("x.safetensors"), "'z'", "ComplexDouble"});
  EXPECT_FALSE(std::filesystem::exists(dir.file("x.safetensors")));
  expect_input_error(
      [&] {
        pft::io::serialize_safetensors({{"u", torch::Tensor()}});
      },
      {"'u'", "undefined"});
  expect_input_error(
      [&] {
        pft::io::serialize_safetensors({{std::string("bad\xff"), torch::zeros({1})}});
      },
      {"UTF-8"});
}

// ---- untrusted headers ---------------------------------------------------------------

TEST(SafetensorsCorrupt, EveryBadHeaderIsAnInputErrorNamingFileAndTensor) {
  TempDir dir;
  int n = 0;
  for (const auto& c : corrupt_safetensors_cases()) {
    SCOPED_TRACE(c.what);
    std::string name = "case";    // built up in steps: GCC 12's -Warray-bounds misfires on
    name += std::to_string(n++);  // "literal" + std::string at -O3 with sanitizers
    const std::string path = dir.file(name + ".safetensors");
    pft::write_file_atomic(path, c.bytes);
    auto parts = c.message;
    parts.push_back(path);
    expect_input_error([&] { SafetensorsFile::open(path); }, parts);
    expect_input_error([&] { pft::io::parse_safetensors_header(c.bytes, "in-memory"); }, c.message);
  }
  EXPECT_GE(n, 30);
}

TEST(SafetensorsCorrupt, BadTensorContentIsNamed) {
  TempDir dir;
  const std::string path = dir.file("bool.safetensors");
  std::string data = {'\x01', '\x02'};
  pft::write_file_atomic(
      path, image(R"({"flags":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}})", data));
  const auto file = SafetensorsFile::open(path);  // the header is fine
  expect_input_error([&] { file.tensor("flags"); }, {path, "'flags'", "byte 2"});
  expect_input_error([&] { file.tensor("nope"); }, {path, "'nope'", "not in this file"});

  const std::string f4 = dir.file("f4.safetensors");
  pft::write_file_atomic(
      f4, image(R"({"q":{"dtype":"F4","shape":[4],"data_offsets":[0,2]}})", std::string(2, '\0')));
  expect_input_error([&] { SafetensorsFile::open(f4).tensor("q"); },
                     {f4, "'q'", "no tensor type for safetensors dtype F4"});
  const std::string f4odd = dir.file("f4odd.safetensors");
  pft::write_file_atomic(f4odd, image(R"({"q":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}})",
                                      std::string(2, '\0')));
  expect_input_error([&] { SafetensorsFile::open(f4odd); }, {f4odd, "'q'", "whole bytes"});
}

TEST(SafetensorsCorrupt, MissingFileAndFolderAreNamed) {
  TempDir dir;
  expect_input_error([&] { SafetensorsFile::open(dir.file("none.safetensors")); },
                     {dir.file("none.safetensors"), "cannot open"});
  expect_input_error([&] { SafetensorsFile::open(dir.path()); }, {dir.path(), "regular file"});
}

// Random damage to a valid file: every outcome is a clean parse or a pft::Error, never a
// crash or an out-of-bounds read (run under AddressSanitizer too).
TEST(SafetensorsCorrupt, RandomDamageNeverCrashes) {
  const std::string valid = pft::io::serialize_safetensors({{"a", torch::randn({3, 2})},
                                                            {"b", torch::zeros({4}, torch::kInt16)},
                                                            {"c", torch::ones({5}, torch::kBool)}},
                                                           {{"format", "pt"}});
  std::mt19937 rng(42);
  int errors = 0;
  int parsed = 0;
  unsigned checksum = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string bytes = valid;
    const int kind = round % 3;
    if (kind == 0) {
      bytes.resize(rng() % bytes.size());
    } else {
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int i = 0; i < flips; ++i) {
        // Mostly in the length field and header, where parsing happens.
        const std::size_t at = rng() % std::min<std::size_t>(bytes.size(), 200);
        bytes[at] =
            kind == 1 ? static_cast<char>(rng() % 256) : "{}[]\",:0123456789-e."[rng() % 21];
      }
    }
    try {
      const auto file = SafetensorsFile::from_bytes(bytes, "damaged");
      for (const auto& name : file.names()) {
        try {
          // Touch every byte so that AddressSanitizer sees any read past the buffer.
          const auto t = file.tensor(name);
          const auto* p = static_cast<const unsigned char*>(t.data_ptr());
          unsigned sum = 0;
          for (int64_t i = 0; i < t.numel() * static_cast<int64_t>(t.element_size()); ++i)
            sum += p[i];
          checksum += sum;
        } catch (const pft::Error& e) {
          EXPECT_NE(std::string(e.what()).find("damaged"), std::string::npos);
        }
      }
      ++parsed;
    } catch (const pft::Error& e) {
      EXPECT_EQ(e.kind(), pft::ErrorKind::Input);
      EXPECT_NE(std::string(e.what()).find("damaged"), std::string::npos) << e.what();
      ++errors;
    }
  }
  EXPECT_GT(errors, 1000);
  EXPECT_GT(parsed, 0);
  (void)checksum;
}

}  // namespace
