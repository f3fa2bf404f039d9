// `pft plot RUN_DIR`: an SVG of loss and the evaluation metric from metrics.jsonl, also for a
// run killed while writing its last line; clear errors for what is not a run.

#include <gtest/gtest.h>

#include <filesystem>

#include "pft/util/fs.h"
#include "support/test_util.h"

using pft::test::run_pft;

namespace {

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST(CliPlot, DrawsLossAndMetricAndSkipsAnUnfinishedLastLine) {
  pft::test::TempDir dir;
  const std::string run = dir.file("run");
  std::filesystem::create_directories(run);
  pft::test::write_text(run + "/metrics.jsonl",
                        "{\"step\":2,\"epoch\":0,\"loss\":0.69,\"lr\":0.001}\n"
                        "{\"step\":4,\"epoch\":0,\"loss\":0.52,\"lr\":0.001}\n"
                        "{\"step\":4,\"epoch\":0,\"eval\":{\"accuracy\":0.75,\"macro_f1\":0.7}}\n"
                        "{\"step\":6,\"epoch\":0,\"loss\":0.41,\"lr\":0.001}\n"
                        "{\"step\":8,\"epoch\":0,\"lo");  // killed while writing
  const auto r = run_pft({"plot", run});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, run + "/training.svg\n");
  const std::string svg = pft::read_file(run + "/training.svg");
  EXPECT_EQ(svg.rfind("<svg", 0), 0u) << svg.substr(0, 80);
  EXPECT_EQ(count(svg, "<polyline"), 2u);  // loss and accuracy
  EXPECT_EQ(count(svg, "<circle"), 1u);    // one evaluation
  EXPECT_NE(svg.find("eval accuracy"), std::string::npos);
  EXPECT_NE(svg.find("step (0 to 6)"), std::string::npos) << "the unfinished line was plotted";
  EXPECT_NE(r.err.find("metrics.jsonl:5: an unfinished last line"), std::string::npos) << r.err;
  // --output elsewhere.
  const auto o = run_pft({"plot", run, "--output", dir.file("elsewhere.svg")});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(pft::read_file(dir.file("elsewhere.svg")), svg);
}

TEST(CliPlot, ErrorsNameTheRunOrTheLine) {
  pft::test::TempDir dir;
  const auto none = run_pft({"plot", dir.file("nothing")});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_NE(none.err.find("not a run directory (no metrics.jsonl)"), std::string::npos) << none.err;
  const std::string run = dir.file("bad");
  std::filesystem::create_directories(run);
  pft::test::write_text(run + "/metrics.jsonl",
                        "{\"step\":2,\"loss\":0.5}\nnot json\n{\"step\":4,\"loss\":0.4}\n");
  const auto bad = run_pft({"plot", run});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("metrics.jsonl:2: malformed JSON"), std::string::npos) << bad.err;
  EXPECT_FALSE(std::filesystem::exists(run + "/training.svg"));
}
