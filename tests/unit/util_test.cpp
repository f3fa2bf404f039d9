#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>

#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <sched.h>
#include <sstream>

#include "pft/util/error.h"
#include "pft/util/fs.h"
#include "pft/util/log.h"
#include "pft/util/progress.h"
#include "pft/util/runtime.h"
#include "pft/util/strings.h"
#include "support/test_util.h"

namespace fs = std::filesystem;

TEST(Strings, EditDistance) {
  EXPECT_EQ(pft::edit_distance("", ""), 0u);
  EXPECT_EQ(pft::edit_distance("abc", ""), 3u);
  EXPECT_EQ(pft::edit_distance("batch_size", "bacth_size"), 1u);  // transposition
  EXPECT_EQ(pft::edit_distance("kitten", "sitting"), 3u);
}

TEST(Strings, ClosestMatchOnlyForPlausibleMisspellings) {
  const std::vector<std::string> keys{"lr", "batch_size", "epochs", "seed"};
  EXPECT_EQ(pft::closest_match("bach_size", keys), "batch_size");
  EXPECT_EQ(pft::closest_match("epoch", keys), "epochs");
  EXPECT_EQ(pft::closest_match("completely_different", keys), "");
}

TEST(Strings, SplitAndJoin) {
  EXPECT_EQ(pft::split("a.b.c", '.'), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(pft::split("a..b", '.'), (std::vector<std::string>{"a", "", "b"}));
  EXPECT_EQ(pft::join_alternatives({"a", "b", "c"}), "a, b or c");
}

TEST(Errors, KindsMapToDocumentedExitCodes) {
  EXPECT_EQ(pft::exit_code(pft::ErrorKind::Usage), 2);
  EXPECT_EQ(pft::exit_code(pft::ErrorKind::Config), 2);
  EXPECT_EQ(pft::exit_code(pft::ErrorKind::Input), 2);
  EXPECT_EQ(pft::exit_code(pft::ErrorKind::Runtime), 1);
  EXPECT_EQ(pft::exit_code(pft::ErrorKind::Expectation), 3);
  EXPECT_EQ(pft::exit_code(pft::ErrorKind::Interrupted), 130);
}

TEST(AtomicWrite, WritesAndReplaces) {
  pft::test::TempDir dir;
  const auto path = dir.file("sub/out.txt");
  pft::write_file_atomic(path, "first");
  EXPECT_EQ(pft::read_file(path), "first");
  pft::write_file_atomic(path, "second");
  EXPECT_EQ(pft::read_file(path), "second");
  // Nothing but the target is left in the folder.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.file("sub")), fs::directory_iterator()), 1);
}

TEST(AtomicWrite, FailureKeepsThePreviousFileAndLeavesNoTemp) {
  pft::test::TempDir dir;
  const auto path = dir.file("out.txt");
  pft::write_file_atomic(path, "good");
  EXPECT_THROW(pft::write_file_atomic(path,
                                      [](std::ostream& out) {
                                        out << "half";
                                        throw std::runtime_error("writer failed");
                                      }),
               std::runtime_error);
  EXPECT_EQ(pft::read_file(path), "good");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}

TEST(ReadFile, MissingAndDirectoryAreInputErrors) {
  pft::test::TempDir dir;
  try {
    pft::read_file(dir.file("nope.txt"));
    FAIL();
  } catch (const pft::Error& e) {
    EXPECT_EQ(e.kind(), pft::ErrorKind::Input);
    EXPECT_NE(std::string(e.what()).find("nope.txt"), std::string::npos);
  }
  EXPECT_THROW(pft::read_file(dir.path()), pft::Error);
}

TEST(ExpandPath, VariablesDefaultsAndErrors) {
  ::setenv("PFT_X", "/x", 1);
  ::unsetenv("PFT_Y");
  EXPECT_EQ(pft::expand_path("${PFT_X}/a", "k"), "/x/a");
  EXPECT_EQ(pft::expand_path("${PFT_Y:-/d}/a", "k"), "/d/a");
  EXPECT_EQ(pft::expand_path("plain/rel", "k"), "plain/rel");
  EXPECT_THROW(pft::expand_path("${PFT_Y}/a", "k"), pft::Error);
  EXPECT_THROW(pft::expand_path("${PFT_X", "k"), pft::Error);
}

TEST(Progress, RendersStepsRateEtaAndLoss) {
  std::ostringstream out;
  pft::ProgressBar bar("train", 100, out, /*tty=*/false);
  EXPECT_EQ(bar.render(50, 10.0, 0.25),
            "train [############............] 50/100  50% 5.00 it/s ETA 10s loss 0.2500");
  pft::ProgressBar open_ended("eval", 0, out, false);
  EXPECT_EQ(open_ended.render(7, 2.0, -1), "eval 7 3.50 it/s");
}

TEST(Progress, NonTerminalPrintsPeriodicLinesOnly) {
  std::ostringstream out;
  pft::ProgressBar bar("train", 10, out, /*tty=*/false, /*period_s=*/3600);
  for (int i = 1; i <= 10; ++i) bar.update(i, 1.0);
  EXPECT_EQ(out.str(), "");  // within the period: nothing, and never carriage returns
  bar.finish();
  EXPECT_NE(out.str().find("10/10 100%"), std::string::npos) << out.str();
  EXPECT_EQ(out.str().find('\r'), std::string::npos);
}

TEST(Progress, FormatDuration) {
  EXPECT_EQ(pft::format_duration(42), "42s");
  EXPECT_EQ(pft::format_duration(185), "3m05s");
  EXPECT_EQ(pft::format_duration(3720), "1h02m");
}

TEST(Log, LevelsParseAndUnknownIsAUsageError) {
  EXPECT_EQ(pft::log::parse_level("debug"), pft::log::Level::debug);
  EXPECT_EQ(pft::log::parse_level("off"), pft::log::Level::off);
  try {
    pft::log::parse_level("verbose");
    FAIL();
  } catch (const pft::Error& e) {
    EXPECT_EQ(e.kind(), pft::ErrorKind::Usage);
    EXPECT_NE(std::string(e.what()).find("verbose"), std::string::npos);
  }
}

TEST(Log, FileSinkReceivesMessages) {
  pft::test::TempDir dir;
  pft::log::init(pft::log::Level::info);
  pft::log::add_file(dir.file("train.log"));
  pft::log::info("step {} loss {:.3f}", 5, 0.125);
  pft::log::debug("hidden at info level");
  pft::log::close_files();
  const auto text = pft::read_file(dir.file("train.log"));
  EXPECT_NE(text.find("step 5 loss 0.125"), std::string::npos) << text;
  EXPECT_EQ(text.find("hidden"), std::string::npos);
}

#include "pft/util/runtime.h"

TEST(Runtime, ResolveDevice) {
  EXPECT_EQ(pft::resolve_device("cpu"), torch::Device(torch::kCPU));
  EXPECT_THROW(pft::resolve_device("tpu"), pft::Error);
  if (torch::cuda::is_available()) {
    EXPECT_EQ(pft::resolve_device("auto"), torch::Device(torch::kCUDA, 0));
  } else {
    EXPECT_EQ(pft::resolve_device("auto"), torch::Device(torch::kCPU));
    try {
      pft::resolve_device("cuda");
      FAIL() << "cuda without a GPU must be an error";
    } catch (const pft::Error& e) {
      EXPECT_EQ(e.kind(), pft::ErrorKind::Usage);
      EXPECT_NE(std::string(e.what()).find("CUDA is not available"), std::string::npos);
    }
  }
}

TEST(Runtime, ResolveDevice_CUDA) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  EXPECT_EQ(pft::resolve_device("cuda"), torch::Device(torch::kCUDA, 0));
  EXPECT_EQ(pft::resolve_device("cuda:0"), torch::Device(torch::kCUDA, 0));
}

#if defined(__GLIBC__)
TEST(Allocator, FreedBlocksStayInTheProcess) {
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (tunables != nullptr && std::strstr(tunables, "glibc.malloc.") != nullptr) {
    GTEST_SKIP() << "GLIBC_TUNABLES sets malloc tunables; pft leaves them alone";
  }
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer replaces glibc's malloc: its tunables do not apply";
#endif
  ASSERT_TRUE(pft::keep_freed_memory());
  // A 24 MiB block (an activation of a BERT-base step) comes from the heap and, once freed,
  // stays there as free space instead of going back to the kernel (glibc's default mmaps it).
  constexpr std::size_t kBytes = 24u << 20;
  const auto before = mallinfo2();
  auto* block = static_cast<char*>(std::malloc(kBytes));
  ASSERT_NE(block, nullptr);
  std::memset(block, 1, kBytes);
  asm volatile("" : : "g"(block) : "memory");  // the block is used: no elision
  const auto during = mallinfo2();
  EXPECT_EQ(during.hblkhd, before.hblkhd);  // not an mmapped block
  std::free(block);
  const auto after = mallinfo2();
  // Measured from `during`: earlier tests may have left a free chunk that served the block.
  EXPECT_GE(after.fordblks, during.fordblks + kBytes - (1u << 20));
}
#endif

TEST(Runtime, CgroupQuotaInCores) {
  EXPECT_EQ(pft::cgroup_quota_cores("max 100000\n"), 0);
  EXPECT_EQ(pft::cgroup_quota_cores("100000 100000\n"), 1);
  EXPECT_EQ(pft::cgroup_quota_cores("150000 100000"), 2);  // 1.5 cores: rounded up
  EXPECT_EQ(pft::cgroup_quota_cores("400000 100000"), 4);
  EXPECT_EQ(pft::cgroup_quota_cores(""), 0);
  EXPECT_EQ(pft::cgroup_quota_cores("12x 100000"), 0);
  EXPECT_EQ(pft::cgroup_quota_cores("100000 0"), 0);
}

TEST(Runtime, UsableCoresFollowTheAffinityMask) {
  const int cores = pft::usable_cores();
  cpu_set_t set;
  CPU_ZERO(&set);
  ASSERT_EQ(sched_getaffinity(0, sizeof set, &set), 0);
  EXPECT_GE(cores, 1);
  EXPECT_LE(cores, CPU_COUNT(&set));
  // Narrowed to one CPU, this thread's process sees one core.
  cpu_set_t one;
  CPU_ZERO(&one);
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &set)) {
      CPU_SET(c, &one);
      break;
    }
  }
  ASSERT_EQ(sched_setaffinity(0, sizeof one, &one), 0);
  const int narrowed = pft::usable_cores();
  ASSERT_EQ(sched_setaffinity(0, sizeof set, &set), 0);
  EXPECT_EQ(narrowed, 1);
}

TEST(Runtime, OversubscriptionWarning) {
  EXPECT_EQ(pft::oversubscription_warning(2, 2), "");
  EXPECT_EQ(pft::oversubscription_warning(1, 4), "");
  const auto w = pft::oversubscription_warning(4, 2);
  EXPECT_NE(w.find("4 intra-op threads"), std::string::npos) << w;
  EXPECT_NE(w.find("only 2 CPU core(s)"), std::string::npos) << w;
  EXPECT_NE(w.find("--threads 2"), std::string::npos) << w;
}
