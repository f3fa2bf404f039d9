// pft warns when its intra-op threads exceed the cores it may run on, and scripts/sweep.sh
// --jobs N shares the cores between runs.

#include <gtest/gtest.h>

#include <sched.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "support/test_util.h"

namespace {

using pft::test::run_pft;
using pft::test::run_process;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

int first_cpu() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return -1;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &set)) return c;
  }
  return -1;
}

TEST(ThreadsCli, WarnsWhenThreadsExceedTheUsableCores) {
  ASSERT_TRUE(std::filesystem::exists("/usr/bin/taskset"));
  const auto cpu = std::to_string(first_cpu());
  const std::string pft = PFT_BINARY;
  auto r = run_process({"/usr/bin/taskset", "-c", cpu, pft, "config", "--threads", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "2 intra-op threads, but this process may use only 1 CPU core(s)"))
      << r.err;
  EXPECT_TRUE(contains(r.err, "--threads 1")) << r.err;
  r = run_process({"/usr/bin/taskset", "-c", cpu, pft, "config", "--threads", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(contains(r.err, "intra-op threads")) << r.err;
  // Without --threads the default stays within the usable cores: no warning either.
  r = run_process({"/usr/bin/taskset", "-c", cpu, pft, "config"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(contains(r.err, "intra-op threads")) << r.err;
}

}  // namespace
