// pft's metrics against scikit-learn, seqeval, sacrebleu and rouge-score, computed live on
// real shared data (CoNLL-2003 tags, Multi30k sentences) with seeded perturbations.

#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include "pft/metrics/metrics.h"
#include "pft/util/fs.h"
#include "support/test_util.h"

using nlohmann::json;
namespace m = pft::metrics;

namespace {

constexpr double kTol = 1e-6;

std::vector<std::vector<std::string>> conll_tags(const std::string& path,
                                                 std::size_t max_sentences) {
  std::ifstream in(path);
  std::vector<std::vector<std::string>> sentences;
  std::vector<std::string> cur;
  std::string line;
  while (std::getline(in, line) && sentences.size() < max_sentences) {
    if (line.empty()) {
      if (!cur.empty()) sentences.push_back(std::move(cur));
      cur.clear();
      continue;
    }
    if (line.rfind("-DOCSTART-", 0) == 0) continue;
    cur.push_back(line.substr(line.rfind(' ') + 1));
  }
  return sentences;
}

std::vector<json> jsonl(const std::string& path, std::size_t max_lines) {
  std::ifstream in(path);
  std::vector<json> rows;
  std::string line;
  while (rows.size() < max_lines && std::getline(in, line)) rows.push_back(json::parse(line));
  return rows;
}

// A seeded, word-level corruption of a sentence: drops, duplicates and swaps.
std::string perturb(const std::string& text, std::mt19937& rng) {
  std::istringstream words(text);
  std::vector<std::string> w;
  for (std::string t; words >> t;) w.push_back(t);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < w.size(); ++i) {
    const double r = u(rng);
    if (r < 0.1) continue;
    out.push_back(w[i]);
    if (r > 0.95) out.push_back(w[i]);
  }
  if (out.size() > 2 && u(rng) < 0.3) std::swap(out[0], out[1]);
  std::string s;
  for (const auto& t : out) s += (s.empty() ? "" : " ") + t;
  return s;
}

class MetricsParity : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::mt19937 rng(1234);
    // Classification: several sizes, one class never predicted, one never gold.
    for (int k : {2, 3, 5}) {
      json c = {{"k", k}, {"gold", json::array()}, {"pred", json::array()}};
      std::uniform_int_distribution<int> any(0, k - 1);
      for (int i = 0; i < 150; ++i) {
        const int g = k == 5 ? any(rng) % 4 : any(rng);  // k=5: class 4 never gold
        int p = std::uniform_real_distribution<double>(0, 1)(rng) < 0.6 ? g : any(rng);
        if (k == 3 && p == 2) p = 1;  // k=3: class 2 never predicted
        c["gold"].push_back(g);
        c["pred"].push_back(p);
      }
      input_["classification"].push_back(c);
    }
    // Entities: CoNLL-2003 dev tags, and predictions with seeded tag corruptions,
    // including I- tags with no B- before them.
    gold_tags_ = conll_tags(pft::test::shared_data("conll2003/valid.txt"), 800);
    const std::vector<std::string> tagset{"O",     "B-PER", "I-PER",  "B-LOC", "I-LOC",
                                          "B-ORG", "I-ORG", "B-MISC", "I-MISC"};
    std::uniform_int_distribution<std::size_t> pick(0, tagset.size() - 1);
    for (const auto& sentence : gold_tags_) {
      std::vector<std::string> p = sentence;
      for (auto& t : p) {
        if (std::uniform_real_distribution<double>(0, 1)(rng) < 0.08) t = tagset[pick(rng)];
      }
      pred_tags_.push_back(p);
    }
    input_["entities"] = {{"gold", gold_tags_}, {"pred", pred_tags_}};
    // BLEU on German targets with two reference streams; ROUGE on English sources.
    for (const auto& row : jsonl(pft::test::shared_data("multi30k/dev.jsonl"), 300)) {
      const std::string target = row["target"], source = row["source"];
      hyp_.push_back(perturb(target, rng));
      ref1_.push_back(target);
      ref2_.push_back(perturb(target, rng));
      rouge_pred_.push_back(perturb(source, rng));
      rouge_ref_.push_back(source);
    }
    hyp_[0] = "";                                         // an empty hypothesis
    hyp_[1] = ref1_[1];                                   // an exact one
    hyp_[2] = "3-4 km, 5.5% (ok) &amp; \"quoted\" x.y.";  // 13a's special cases
    input_["bleu"] = {{"hyp", hyp_}, {"refs", {ref1_, ref2_}}};
    input_["rouge"] = {{"pred", rouge_pred_}, {"ref", rouge_ref_}};

    dir_ = new pft::test::TempDir();
    pft::write_file_atomic(dir_->file("in.json"), input_.dump());
    const auto r = pft::test::run_python("metrics_reference.py",
                                         {dir_->file("in.json"), dir_->file("out.json")});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    reference_ = json::parse(pft::read_file(dir_->file("out.json")));
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  static inline json input_ = json::object();
  static inline json reference_;
  static inline pft::test::TempDir* dir_ = nullptr;
  static inline std::vector<std::vector<std::string>> gold_tags_, pred_tags_;
  static inline std::vector<std::string> hyp_, ref1_, ref2_, rouge_pred_, rouge_ref_;
};

}  // namespace

TEST_F(MetricsParity, ClassificationEqualsScikitLearn) {
  ASSERT_TRUE(reference_.contains("classification"));
  for (std::size_t c = 0; c < input_["classification"].size(); ++c) {
    const auto& in = input_["classification"][c];
    const auto& ref = reference_["classification"][c];
    std::vector<std::string> labels;
    for (int i = 0; i < in["k"].get<int>(); ++i)
      labels.push_back(std::string(1, static_cast<char>('a' + i)));
    const auto r = m::classify(in["gold"].get<std::vector<std::int64_t>>(),
                               in["pred"].get<std::vector<std::int64_t>>(), labels);
    EXPECT_NEAR(r.accuracy, ref["accuracy"].get<double>(), kTol);
    EXPECT_NEAR(r.macro_f1, ref["macro_f1"].get<double>(), kTol);
    EXPECT_NEAR(r.micro_f1, ref["micro_f1"].get<double>(), kTol);
    EXPECT_NEAR(r.weighted_f1, ref["weighted_f1"].get<double>(), kTol);
    for (std::size_t k = 0; k < labels.size(); ++k) {
      EXPECT_NEAR(r.per_class[k].precision, ref["precision"][k].get<double>(), kTol)
          << "class " << k;
      EXPECT_NEAR(r.per_class[k].recall, ref["recall"][k].get<double>(), kTol) << "class " << k;
      EXPECT_NEAR(r.per_class[k].f1, ref["f1"][k].get<double>(), kTol) << "class " << k;
      EXPECT_EQ(r.per_class[k].support, ref["support"][k].get<std::int64_t>()) << "class " << k;
    }
  }
}

TEST_F(MetricsParity, EntityF1EqualsSeqevalStrict) {
  ASSERT_TRUE(reference_.contains("entities"));
  const auto s = m::entity_f1(gold_tags_, pred_tags_);
  EXPECT_GT(s.gold_entities, 1000);
  EXPECT_NEAR(s.precision, reference_["entities"]["precision"].get<double>(), kTol);
  EXPECT_NEAR(s.recall, reference_["entities"]["recall"].get<double>(), kTol);
  EXPECT_NEAR(s.f1, reference_["entities"]["f1"].get<double>(), kTol);
}

TEST_F(MetricsParity, Tokenizer13aEqualsSacrebleu) {
  ASSERT_TRUE(reference_.contains("bleu_tokens"));
  for (std::size_t i = 0; i < hyp_.size(); ++i) {
    EXPECT_EQ(m::tokenize_13a(hyp_[i]),
              reference_["bleu_tokens"][i].get<std::vector<std::string>>())
        << "line " << i << ": " << hyp_[i];
  }
}

TEST_F(MetricsParity, CorpusBleuEqualsSacrebleu) {
  ASSERT_TRUE(reference_.contains("bleu"));
  const auto b = m::corpus_bleu(hyp_, {ref1_, ref2_});
  const auto& ref = reference_["bleu"];
  EXPECT_NEAR(b.score, ref["score"].get<double>(), kTol);
  EXPECT_NEAR(b.brevity_penalty, ref["bp"].get<double>(), kTol);
  EXPECT_EQ(b.sys_len, ref["sys_len"].get<std::int64_t>());
  EXPECT_EQ(b.ref_len, ref["ref_len"].get<std::int64_t>());
  for (std::size_t n = 0; n < 4; ++n)
    EXPECT_NEAR(b.precisions[n], ref["precisions"][n].get<double>(), kTol);
  EXPECT_GT(b.score, 10.0);
  EXPECT_LT(b.score, 100.0);
}

TEST_F(MetricsParity, RougeEqualsRougeScore) {
  ASSERT_TRUE(reference_.contains("rouge"));
  const auto r = m::rouge(rouge_pred_, rouge_ref_);
  EXPECT_NEAR(r.rouge1, reference_["rouge"]["rouge1"].get<double>(), kTol);
  EXPECT_NEAR(r.rouge2, reference_["rouge"]["rouge2"].get<double>(), kTol);
  EXPECT_NEAR(r.rougeL, reference_["rouge"]["rougeL"].get<double>(), kTol);
}
