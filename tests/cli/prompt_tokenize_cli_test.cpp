// `pft tokenize --prompt`: every line rendered through the config's template and truncated in
// its field text only.

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include <nlohmann/json.hpp>

#include "support/test_util.h"

using nlohmann::json;

TEST(PromptTokenizeCli, RendersTruncatesAndKeepsTheMask) {
  pft::test::TempDir dir;
  pft::test::write_text(
      dir.file("in.jsonl"),
      "{\"text\": \"a gorgeous , witty , seductive movie .\", \"label\": \"positive\"}\n"
      "{\"text\": \"bad\", \"label\": \"negative\"}\n");
  const json config = {
      {"model", {{"path", pft::test::shared_data("tokenizers/bert-base-uncased")}}},
      {"tokenizer", {{"max_length", 8}}},
      {"prompt", {{"template", "{text} It was {mask}."}}}};
  pft::test::write_text(dir.file("run.json"), config.dump());
  const auto r =
      pft::test::run_pft({"tokenize", "--config", dir.file("run.json"), "--prompt", "--input",
                          dir.file("in.jsonl"), "--output", dir.file("out.jsonl")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("rendered and tokenized 2 prompts"), std::string::npos) << r.err;
  std::ifstream in(dir.file("out.jsonl"));
  std::vector<json> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line));
  ASSERT_EQ(lines.size(), 2u);
  // [CLS] a gorgeous it was [MASK] . [SEP]: the text keeps 2 of its 8 tokens, the template all.
  const std::vector<std::int64_t> first = lines[0]["input_ids"];
  EXPECT_EQ(first, (std::vector<std::int64_t>{101, 1037, 9882, 2009, 2001, 103, 1012, 102}));
  const std::vector<std::int64_t> second = lines[1]["input_ids"];
  EXPECT_EQ(second, (std::vector<std::int64_t>{101, 2919, 2009, 2001, 103, 1012, 102}));
  EXPECT_EQ(lines[1]["label"], "negative");
  // Without --config there is no template to render.
  const auto bad = pft::test::run_pft(
      {"tokenize", "--model", pft::test::shared_data("tokenizers/bert-base-uncased"), "--prompt",
       "--input", dir.file("in.jsonl"), "--output", dir.file("o.jsonl")});
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
}

TEST(PromptTokenizeCli, SoftSlotsGetPlaceholdersAndTheirPositions) {
  pft::test::TempDir dir;
  pft::test::write_text(dir.file("in.jsonl"),
                        "{\"text\": \"a gorgeous , witty , seductive movie .\"}\n");
  const json config = {
      {"model", {{"path", pft::test::shared_data("tokenizers/bert-base-uncased")}}},
      {"tokenizer", {{"max_length", 10}}},
      {"prompt", {{"template", "{soft:2} {text} It was {soft}{mask}."}}}};
  pft::test::write_text(dir.file("run.json"), config.dump());
  const auto r =
      pft::test::run_pft({"tokenize", "--config", dir.file("run.json"), "--prompt", "--input",
                          dir.file("in.jsonl"), "--output", dir.file("out.jsonl")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::ifstream in(dir.file("out.jsonl"));
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  const auto out = json::parse(line);
  // [CLS] soft soft a it was soft [MASK] . [SEP]: the soft tokens (pad id 0) count against
  // max_length 10 and are kept; the text gives way.
  const std::vector<std::int64_t> ids = out["input_ids"];
  EXPECT_EQ(ids, (std::vector<std::int64_t>{101, 0, 0, 1037, 2009, 2001, 0, 103, 1012, 102}));
  const std::vector<std::int64_t> soft = out["soft_positions"];
  EXPECT_EQ(soft, (std::vector<std::int64_t>{1, 2, 6}));
}
