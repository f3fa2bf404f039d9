// scripts/bench/gpu.sh end to end on the CPU: the GPU benchmark's harness (models, data, both
// sides' command lines, the table) with tiny models and a few steps, so that everything but
// the device is checked on a machine without a GPU. Timings are not checked.

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "support/test_util.h"

namespace {

namespace fs = std::filesystem;

TEST(GpuHarness, RunsEveryCaseOnTheCpuWithTinyModels) {
  pft::test::TempDir dir;
  const auto python = pft::test::python();
  const auto venv = fs::path(python).parent_path().parent_path().string();
  const auto build = fs::path(PFT_BINARY).parent_path().string();
  const auto r = pft::test::run_process({"env",
                                         "PFT_VENV=" + venv,
                                         "PFT_BENCH_DIR=" + dir.file("work"),
                                         "PFT_SHARED_DATA=" + pft::test::shared_data(""),
                                         "bash",
                                         pft::test::source_dir() + "/scripts/bench/gpu.sh",
                                         "--python",
                                         python,
                                         "--build-dir",
                                         build,
                                         "--skip-build",
                                         "--device",
                                         "cpu",
                                         "--shape",
                                         "tiny",
                                         "--reps",
                                         "1",
                                         "--batch-size",
                                         "4",
                                         "--seq-len",
                                         "16",
                                         "--max-new-tokens",
                                         "4"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  for (const char* row :
       {"| training, BERT-base LoRA | steps/s |", "| training, t5-base LoRA | steps/s |",
        "| evaluation, BERT-base | examples/s |",
        "| greedy decoding, t5-base, batch 1 | tokens/s |",
        "| greedy decoding, t5-base, batch 4 | tokens/s |"}) {
    EXPECT_NE(r.out.find(row), std::string::npos) << row << "\n" << r.out;
  }
}

}  // namespace
