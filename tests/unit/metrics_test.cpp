// Hand-checked worked examples of the metrics (the parity suite compares with the reference
// libraries on real data).

#include <gtest/gtest.h>

#include "pft/metrics/metrics.h"
#include "pft/util/error.h"

namespace m = pft::metrics;

TEST(Metrics, ClassificationWorkedExample) {
  // gold: a a b b c; pred: a b b b a
  const auto r = m::classify({0, 0, 1, 1, 2}, {0, 1, 1, 1, 0}, {"a", "b", "c"});
  EXPECT_DOUBLE_EQ(r.accuracy, 3.0 / 5);
  EXPECT_DOUBLE_EQ(r.per_class[0].precision, 0.5);  // a: tp 1, fp 1
  EXPECT_DOUBLE_EQ(r.per_class[0].recall, 0.5);     // a: fn 1
  EXPECT_DOUBLE_EQ(r.per_class[1].precision, 2.0 / 3);
  EXPECT_DOUBLE_EQ(r.per_class[1].recall, 1.0);
  EXPECT_DOUBLE_EQ(r.per_class[2].f1, 0.0);  // never predicted: zero_division=0
  EXPECT_DOUBLE_EQ(r.macro_f1, (0.5 + 0.8 + 0.0) / 3);
  EXPECT_DOUBLE_EQ(r.micro_f1, 0.6);
  EXPECT_NE(m::format_report(r).find("macro avg"), std::string::npos);
  EXPECT_THROW(m::classify({0}, {3}, {"a", "b"}), pft::Error);
  EXPECT_THROW(m::classify({0, 1}, {0}, {"a", "b"}), pft::Error);
}

TEST(Metrics, StrictEntities) {
  const std::vector<std::string> tags{"B-PER", "I-PER", "O", "I-LOC", "B-LOC", "B-LOC", "I-ORG"};
  const auto e = m::extract_entities(tags);
  ASSERT_EQ(e.size(), 3u);  // the stray I-LOC and I-ORG start nothing
  EXPECT_EQ(e[0], (m::Entity{"PER", 0, 2}));
  EXPECT_EQ(e[1], (m::Entity{"LOC", 4, 5}));
  EXPECT_EQ(e[2], (m::Entity{"LOC", 5, 6}));
  const auto s = m::entity_f1({{"B-PER", "I-PER", "O", "B-LOC"}}, {{"B-PER", "O", "O", "B-LOC"}});
  EXPECT_DOUBLE_EQ(s.precision, 0.5);  // PER span wrong, LOC right
  EXPECT_DOUBLE_EQ(s.recall, 0.5);
  EXPECT_THROW(m::entity_f1({{"E-PER"}}, {{"O"}}), pft::Error);
  EXPECT_THROW(m::entity_f1({{"O", "O"}}, {{"O"}}), pft::Error);
}

TEST(Metrics, ExactMatch) {
  EXPECT_DOUBLE_EQ(m::exact_match({"a b", " c ", "d"}, {"a b", "c", "e"}), 2.0 / 3);
}

TEST(Metrics, BleuOfIdenticalTextIs100) {
  const auto b = m::corpus_bleu({"the cat sat on the mat ."}, {{"the cat sat on the mat ."}});
  EXPECT_NEAR(b.score, 100.0, 1e-9);
  EXPECT_DOUBLE_EQ(b.brevity_penalty, 1.0);
}

TEST(Metrics, RougeWorkedExample) {
  // pred "the cat sat", ref "the cat ate": unigrams 2/3, bigrams 1/2, LCS 2.
  const auto r = m::rouge({"The cat sat"}, {"the cat, ate!"});
  EXPECT_NEAR(r.rouge1, 2.0 / 3, 1e-12);
  EXPECT_NEAR(r.rouge2, 0.5, 1e-12);
  EXPECT_NEAR(r.rougeL, 2.0 / 3, 1e-12);
  EXPECT_EQ(m::tokenize_rouge("Don't STOP-me 42x"),
            (std::vector<std::string>{"don", "t", "stop", "me", "42x"}));
}
