// The pieces `pft eval` is built from: the JSONL reader and --expect.

#include <gtest/gtest.h>

#include "pft/data/jsonl.h"
#include "pft/util/error.h"
#include "pft/util/expect.h"
#include "support/test_util.h"

namespace {

std::string error_of(const std::function<void()>& f, pft::ErrorKind kind) {
  try {
    f();
  } catch (const pft::Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return {};
}

}  // namespace

TEST(Jsonl, ReadsObjectsSkipsBlankLinesAndKeepsLineNumbers) {
  pft::test::TempDir dir;
  pft::test::write_text(dir.file("a.jsonl"),
                        "{\"text\": \"one\", \"label\": 1}\n\n   \r\n{\"text\": \"two\"}\r\n");
  const auto records = pft::data::read_jsonl(dir.file("a.jsonl"));
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].line, 1u);
  EXPECT_EQ(records[1].line, 4u);
  EXPECT_EQ(pft::data::string_field(records[1], "text", "a.jsonl"), "two");
  EXPECT_EQ(pft::data::read_jsonl(dir.file("a.jsonl"), 1).size(), 1u);
}

TEST(Jsonl, ErrorsNameTheFileAndLine) {
  pft::test::TempDir dir;
  pft::test::write_text(dir.file("bad.jsonl"), "{\"a\": 1}\n{\"a\": }\n");
  auto msg = error_of([&] { pft::data::read_jsonl(dir.file("bad.jsonl")); }, pft::ErrorKind::Input);
  EXPECT_NE(msg.find(dir.file("bad.jsonl") + ":2: malformed JSON at column"), std::string::npos)
      << msg;

  pft::test::write_text(dir.file("array.jsonl"), "[1, 2]\n");
  msg = error_of([&] { pft::data::read_jsonl(dir.file("array.jsonl")); }, pft::ErrorKind::Input);
  EXPECT_NE(msg.find(":1: expected a JSON object, got array [1,2]"), std::string::npos) << msg;

  msg = error_of([&] { pft::data::read_jsonl(dir.file("missing.jsonl")); }, pft::ErrorKind::Input);
  EXPECT_NE(msg.find("missing.jsonl: cannot open"), std::string::npos) << msg;

  pft::data::JsonlRecord record{7, {{"text", 3}, {"label", "x"}}};
  msg =
      error_of([&] { pft::data::string_field(record, "text", "f.jsonl"); }, pft::ErrorKind::Input);
  EXPECT_NE(msg.find("f.jsonl:7: field \"text\": expected a string, got number 3"),
            std::string::npos)
      << msg;
  msg = error_of([&] { pft::data::string_field(record, "sentence", "f.jsonl"); },
                 pft::ErrorKind::Input);
  EXPECT_NE(msg.find("f.jsonl:7: no field \"sentence\" (the record has: label, text)"),
            std::string::npos)
      << msg;
}

TEST(Expect, ParsesAndChecks) {
  const auto e = pft::parse_expectation("accuracy >= 0.85");
  EXPECT_EQ(e.metric, "accuracy");
  EXPECT_EQ(e.op, ">=");
  EXPECT_DOUBLE_EQ(e.value, 0.85);
  EXPECT_TRUE(pft::holds(e, 0.85));
  EXPECT_FALSE(pft::holds(e, 0.849));
  EXPECT_TRUE(pft::holds(pft::parse_expectation("loss<2"), 1.5));
  EXPECT_FALSE(pft::holds(pft::parse_expectation("loss>-1e-3"), -0.5));
  EXPECT_TRUE(pft::holds(pft::parse_expectation("f1==1"), 1.0));

  for (const auto* bad :
       {"accuracy", ">=0.5", "accuracy>=high", "acc uracy>=1", "accuracy>=0.5x"}) {
    const auto msg = error_of([&] { pft::parse_expectation(bad); }, pft::ErrorKind::Usage);
    EXPECT_NE(msg.find(bad), std::string::npos) << msg;
  }

  const std::map<std::string, double> metrics{{"accuracy", 0.8}};
  EXPECT_NO_THROW(pft::check_expectations({pft::parse_expectation("accuracy>0.5")}, metrics));
  auto msg = error_of(
      [&] {
        pft::check_expectations(
            {pft::parse_expectation("accuracy>=0.9"), pft::parse_expectation("accuracy<0.1")},
            metrics);
      },
      pft::ErrorKind::Expectation);
  EXPECT_NE(msg.find("accuracy = 0.8, expected >= 0.9; accuracy = 0.8, expected < 0.1"),
            std::string::npos)
      << msg;
  msg = error_of([&] { pft::check_expectations({pft::parse_expectation("f1>0")}, metrics); },
                 pft::ErrorKind::Usage);
  EXPECT_NE(msg.find("does not measure 'f1'; it measures accuracy"), std::string::npos) << msg;
}
