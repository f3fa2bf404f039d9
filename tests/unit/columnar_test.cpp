// data::read_parquet / read_arrow (and read_records choosing them): files written in the test by
// pyarrow, pandas and datasets read as the same rows Python reads, and damaged ones are errors
// naming the file and what was wrong.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "pft/data/columnar.h"
#include "pft/data/records.h"
#include "pft/util/error.h"
#include "pft/util/fs.h"
#include "support/test_util.h"

namespace {

using nlohmann::json;
using pft::ErrorKind;
using pft::data::read_records;

class Columnar : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new pft::test::TempDir();
    ASSERT_EQ(pft::test::run_python("write_columnar.py", {"fixtures", dir_->path()}).exit_code, 0);
    expected_ = new json(json::parse(pft::read_file(dir_->file("expected.json"))));
  }
  static void TearDownTestSuite() {
    delete dir_;
    delete expected_;
    dir_ = nullptr;
    expected_ = nullptr;
  }
  void SetUp() override {
    if (!pft::data::columnar_supported()) GTEST_SKIP() << "built without Apache Arrow";
  }
  static std::string error(const std::string& name, const std::string& format = "auto") {
    return pft::test::error_of([&] { read_records(dir_->file(name), format); }, ErrorKind::Input);
  }
  static inline pft::test::TempDir* dir_ = nullptr;
  static inline json* expected_ = nullptr;
};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST_F(Columnar, EveryFileReadsAsPythonReadsIt) {
  ASSERT_TRUE(expected_->is_object());
  for (const auto& [name, rows] : expected_->items()) {
    SCOPED_TRACE(name);
    const auto records = read_records(dir_->file(name), "auto");
    ASSERT_EQ(records.size(), rows.size());
    for (std::size_t r = 0; r < records.size(); ++r) {
      EXPECT_EQ(records[r].line, r + 1);
      for (const auto& [column, value] : rows[r].items()) {
        const auto it = records[r].value.find(column);
        ASSERT_NE(it, records[r].value.end()) << "row " << r + 1 << " lacks " << column;
        if (value.is_number_float()) {
          EXPECT_DOUBLE_EQ(it->get<double>(), value.get<double>()) << column;
        } else {
          EXPECT_EQ(*it, value) << "row " << r + 1 << " column " << column;
        }
      }
      EXPECT_EQ(records[r].value.size(), rows[r].size()) << records[r].value.dump();
    }
  }
  // Typed values stay typed: labels as integers are indices, a chat column is a list of objects.
  const auto typed = read_records(dir_->file("typed.parquet"), "parquet");
  EXPECT_TRUE(typed[0].value["i8"].is_number_integer());
  EXPECT_EQ(typed[0].value["messages"][1]["content"], "Hi, there");
  EXPECT_TRUE(typed[2].value["text"].is_null());
}

TEST_F(Columnar, FormatByKeyOrExtensionAndLimit) {
  EXPECT_EQ(pft::data::record_format(dir_->file("typed.parquet"), "auto"), "parquet");
  EXPECT_EQ(pft::data::record_format(dir_->file("x.PQ"), "auto"), "parquet");
  EXPECT_EQ(pft::data::record_format(dir_->file("typed.feather"), "auto"), "arrow");
  EXPECT_EQ(pft::data::record_format(dir_->file("saved"), "auto"), "arrow");
  EXPECT_EQ(pft::data::record_format(dir_->file("typed.parquet"), "jsonl"), "jsonl");
  // A limit stops inside the first row group, shard or batch.
  EXPECT_EQ(read_records(dir_->file("typed.parquet"), "auto", 1).size(), 1u);
  EXPECT_EQ(read_records(dir_->file("typed.arrow"), "auto", 2).size(), 2u);
  const auto two = read_records(dir_->file("saved"), "arrow", 2);
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[1].value["label"], "negative");
  EXPECT_EQ(two[1].line, 2u);
}

TEST_F(Columnar, DamagedFilesNameTheFileAndWhatWasWrong) {
  auto e = error("truncated.parquet");
  EXPECT_TRUE(contains(e, "truncated.parquet") && contains(e, "Parquet")) << e;
  e = error("text.parquet");
  EXPECT_TRUE(contains(e, "text.parquet: not a Parquet file")) << e;
  e = error("text.arrow");
  EXPECT_TRUE(contains(e, "text.arrow: not an Arrow IPC file or stream")) << e;
  e = error("binary.parquet");
  EXPECT_TRUE(contains(e, "binary.parquet:1: column 'blob'") && contains(e, "binary")) << e;
  e = error("classlabel_range.parquet");
  EXPECT_TRUE(contains(e, "classlabel_range.parquet:2: column 'label'") &&
              contains(e, "ClassLabel value 5 is out of range"))
      << e;
  e = error("utf8.arrow");
  EXPECT_TRUE(contains(e, "utf8.arrow") && contains(e, "UTF-8")) << e;
  e = error("plain");
  EXPECT_TRUE(contains(e, "plain: a folder, but not a datasets save_to_disk folder")) << e;
  e = error("dict");
  EXPECT_TRUE(contains(e, "DatasetDict") && contains(e, "train") && contains(e, "validation"))
      << e;
  e = error("missing");
  EXPECT_TRUE(contains(e, "data-gone.arrow") && contains(e, "cannot be opened")) << e;
  e = error("typed.parquet", "arrow");
  EXPECT_TRUE(contains(e, "typed.parquet: not an Arrow IPC file or stream")) << e;
  e = error("nowhere.parquet");
  EXPECT_TRUE(contains(e, "nowhere.parquet")) << e;
  // A folder read as Parquet.
  e = error("saved", "parquet");
  EXPECT_TRUE(contains(e, "saved: is a directory, expected a Parquet file")) << e;
}

}  // namespace
