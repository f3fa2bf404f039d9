// Special tokens written many times in one long line: finding them must take time linear in
// the line's length (a line of "x [CLS] " repeated once took 19.6 s at 320 KB). The bound is a
// ratio against a line a tenth as long, so it holds on a slow or busy machine: linear work
// gives about 10, quadratic about 100.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>

#include "pft/tokenizer/sentencepiece.h"
#include "pft/tokenizer/wordpiece.h"
#include "support/test_util.h"

namespace {

using pft::test::shared_data;

std::string repeated(const std::string& unit, std::size_t bytes) {
  std::string text;
  text.reserve(bytes + unit.size());
  while (text.size() < bytes) text += unit;
  return text;
}

// Best of three, in seconds, and the token count of the last run.
double seconds_to_tokenize(const pft::tokenizer::Tokenizer& tok, const std::string& text,
                           std::size_t* count) {
  double best = 1e9;
  for (int i = 0; i < 3; ++i) {
    const auto start = std::chrono::steady_clock::now();
    *count = tok.tokenize_ids(text).size();
    best = std::min(
        best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return best;
}

// tokens_per_unit 0: only check that ten times the text gives about ten times the tokens.
void expect_linear(const pft::tokenizer::Tokenizer& tok, const std::string& unit,
                   std::size_t tokens_per_unit) {
  const std::string small = repeated(unit, 100 * 1000);
  const std::string large = repeated(unit, 1000 * 1000);
  std::size_t small_count = 0, large_count = 0;
  const double small_s = seconds_to_tokenize(tok, small, &small_count);
  const double large_s = seconds_to_tokenize(tok, large, &large_count);
  if (tokens_per_unit > 0) {
    EXPECT_EQ(small_count, small.size() / unit.size() * tokens_per_unit);
    EXPECT_EQ(large_count, large.size() / unit.size() * tokens_per_unit);
  } else {
    EXPECT_NEAR(static_cast<double>(large_count) / static_cast<double>(small_count), 10.0, 0.1);
  }
  const double ratio = large_s / std::max(small_s, 1e-6);
  ::testing::Test::RecordProperty("seconds_100k", std::to_string(small_s));
  ::testing::Test::RecordProperty("seconds_1m", std::to_string(large_s));
  EXPECT_LT(ratio, 30.0) << "100 KB: " << small_s << " s, 1 MB: " << large_s << " s";
}

TEST(TokenizerScaling, WordPieceSpecialTokensInALongLineAreLinear) {
  const auto tok =
      pft::tokenizer::WordPiece::from_folder(shared_data("tokenizers/bert-base-uncased"));
  expect_linear(*tok, "x [CLS] ", 2);
  expect_linear(*tok, "x [MASK]y [SEP] ", 4);  // x [MASK] y [SEP]; no [PAD] or [UNK]
}

TEST(TokenizerScaling, SentencePieceSpecialTokensInALongLineAreLinear) {
  const auto tok = pft::tokenizer::SentencePiece::from_folder(shared_data("tokenizers/t5-small"));
  // "</s>" often, "<extra_id_" spellings that are not sentinels, no "<pad>" at all.
  expect_linear(*tok, "x </s> <extra_id_x ", 0);
  expect_linear(*tok, "<extra_id_1>", 1);
}

}  // namespace
