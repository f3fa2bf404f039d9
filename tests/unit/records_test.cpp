// data::read_records: CSV (RFC 4180) and TSV (GLUE) files as the same records JSON Lines gives,
// and data::label_value's label names and indices.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "pft/data/records.h"
#include "pft/util/error.h"
#include "pft/util/fs.h"
#include "support/test_util.h"

namespace {

using pft::Error;
using pft::ErrorKind;
using pft::data::label_value;
using pft::data::read_records;
using pft::test::TempDir;

template <class F>
void expect_input_error(F&& f, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "no error thrown";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Input) << e.what();
    for (const auto& part : parts) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos)
          << e.what() << " lacks " << part;
    }
  }
}

TEST(Records, CsvQuotingCommasLineBreaksQuotesCrlfAndBom) {
  TempDir tmp;
  const auto path = tmp.file("d.csv");
  pft::test::write_text(path,
                        "\xEF\xBB\xBFtext,label,note\r\n"
                        "\"a, b\",positive,plain\r\n"
                        "\r\n"
                        "\"two\nlines\",negative,\"say \"\"hi\"\"\"\r\n"
                        "unquoted \"inner\" quote,positive,\n"
                        "last,negative,x");
  const auto records = read_records(path, "auto");
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[0].line, 2u);
  EXPECT_EQ(records[0].value["text"], "a, b");
  EXPECT_EQ(records[1].line, 4u);
  EXPECT_EQ(records[1].value["text"], "two\nlines");
  EXPECT_EQ(records[1].value["note"], "say \"hi\"");
  EXPECT_EQ(records[2].line, 6u);
  EXPECT_EQ(records[2].value["text"], "unquoted \"inner\" quote");
  EXPECT_EQ(records[2].value["note"], "");
  EXPECT_EQ(records[3].value["note"], "x");
  EXPECT_EQ(read_records(path, "csv", 2).size(), 2u);
}

TEST(Records, TheShippedGlueTsvReadsEveryRow) {
  const auto path = pft::test::shared_data("sst2/glue/dev.tsv");
  const auto records = read_records(path, "auto");
  // Every line but the header is one row: no quoting in GLUE's TSV.
  std::size_t lines = 0;
  for (const char c : pft::read_file(path)) lines += c == '\n';
  EXPECT_EQ(records.size(), lines - 1);
  for (const auto& r : records) {
    ASSERT_TRUE(r.value["sentence"].is_string());
    const auto label = label_value(r, "label", {"negative", "positive"}, path);
    EXPECT_TRUE(label == "negative" || label == "positive") << label;
  }
  EXPECT_EQ(records[0].value["sentence"], "it 's a charming and often affecting journey . ");
  EXPECT_EQ(label_value(records[0], "label", {"negative", "positive"}, path), "positive");
}

TEST(Records, DamagedFilesNameFileLineAndWhatWasExpected) {
  TempDir tmp;
  const auto write = [&](const std::string& name, const std::string& text) {
    pft::test::write_text(tmp.file(name), text);
    return tmp.file(name);
  };
  const auto empty = write("empty.csv", "");
  expect_input_error([&] { read_records(empty, "auto"); }, {"empty.csv", "header"});
  const auto open = write("open.csv", "text,label\nok,1\n\"never closed,1\n");
  expect_input_error([&] { read_records(open, "auto"); }, {"open.csv:3:1", "never closed"});
  const auto after = write("after.csv", "text,label\n\"a\"b,1\n");
  expect_input_error([&] { read_records(after, "auto"); }, {"after.csv:2:4", "closing quote"});
  const auto count = write("count.tsv", "sentence\tlabel\nfine\t1\ntoo\tmany\tfields\n");
  expect_input_error([&] { read_records(count, "auto"); },
                     {"count.tsv:3", "3 fields", "header has 2"});
  const auto dup = write("dup.csv", "text,text\na,b\n");
  expect_input_error([&] { read_records(dup, "auto"); }, {"dup.csv:1", "'text' twice"});
  const auto unnamed = write("unnamed.csv", "text,\na,b\n");
  expect_input_error([&] { read_records(unnamed, "auto"); }, {"unnamed.csv:1", "column 2"});
  const auto utf8 = write("utf8.tsv", "sentence\tlabel\nfine\t1\nbad \xff byte\t0\n");
  expect_input_error([&] { read_records(utf8, "auto"); }, {"utf8.tsv:3:5", "UTF-8"});
  expect_input_error([&] { read_records(tmp.path(), "csv"); }, {"is a directory"});
}

TEST(Records, LabelsAreNamesOrIndices) {
  const std::vector<std::string> labels{"negative", "positive"};
  pft::data::JsonlRecord r;
  r.line = 7;
  r.value = {{"label", 1}};
  EXPECT_EQ(label_value(r, "label", labels, "f.jsonl"), "positive");
  EXPECT_EQ(label_value(r, "label", {}, "f.jsonl"), "1");
  r.value = {{"label", "0"}};
  EXPECT_EQ(label_value(r, "label", labels, "f.tsv"), "negative");
  r.value = {{"label", "positive"}};
  EXPECT_EQ(label_value(r, "label", labels, "f.jsonl"), "positive");
  // Digit strings that are label names stay names.
  r.value = {{"label", "1"}};
  EXPECT_EQ(label_value(r, "label", {"5", "1"}, "f.tsv"), "1");
  r.value = {{"label", 2}};
  expect_input_error([&] { label_value(r, "label", labels, "f.jsonl"); },
                     {"f.jsonl:7", "'label'", "index 2", "out of range"});
  r.value = {{"label", -1}};
  expect_input_error([&] { label_value(r, "label", labels, "f.jsonl"); }, {"out of range"});
  r.value = {{"label", 0.5}};
  expect_input_error([&] { label_value(r, "label", labels, "f.jsonl"); },
                     {"f.jsonl:7", "expected a label name"});
}

}  // namespace
