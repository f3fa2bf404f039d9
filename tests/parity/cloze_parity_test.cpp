// The cloze task's vocabulary logits at [MASK] equal transformers' BertForMaskedLM on the same
// tiny checkpoint and the same ids (real SST-2 sentences through a template), computed in one
// padded batch by pft and one example at a time by transformers.

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>

#include "pft/data/jsonl.h"
#include "pft/io/safetensors.h"
#include "pft/model/bert/loader.h"
#include "pft/task/cloze.h"
#include "pft/tokenizer/tokenizer.h"
#include "support/test_util.h"

using nlohmann::json;

namespace {

// One tiny BertForMaskedLM (bert-base-uncased vocabulary) for every test.
class ClozeParity : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new pft::test::TempDir();
    const auto r =
        pft::test::run_python("make_task_models.py", {dir_->path(), pft::test::shared_data()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static inline pft::test::TempDir* dir_ = nullptr;
};

}  // namespace

TEST_F(ClozeParity, MaskLogitsAndLabelScoresEqualTransformersBertForMaskedLM) {
  const auto& dir = *dir_;
  std::ifstream in(pft::test::shared_data("sst2/dev.jsonl"));
  std::string line, lines;
  for (int i = 0; i < 12 && std::getline(in, line); ++i) lines += line + "\n";
  pft::test::write_text(dir.file("dev.jsonl"), lines);

  pft::config::RunConfig c;
  c.model.path = c.tokenizer.path = dir.file("mlm");
  c.data.eval = dir.file("dev.jsonl");
  c.task.type = "cloze";
  c.prompt.template_text = "Review: {text} It was {mask}.";
  c.prompt.verbalizer = {{"negative", {"terrible", "bad"}}, {"positive", {"great"}}};
  const std::vector<std::string> labels{"negative", "positive"};
  const auto tok = pft::tokenizer::load_tokenizer(c.tokenizer.path);
  auto model = pft::model::load_bert_for_masked_lm(c.model.path);
  model->eval();
  pft::task::ClozeTask task(model.ptr(), nullptr, *tok, c, labels, torch::kCPU,
                            /*load_train=*/false);

  const pft::task::PromptEncoder encoder(c, *tok, nullptr, "text");
  std::vector<pft::task::PromptExample> examples;
  json inputs = json::array();
  for (const auto& r : pft::data::read_jsonl(c.data.eval)) {
    pft::task::PromptExample e;
    e.ids = encoder.encode(r.value, {c.data.eval, r.line}, examples.size()).ids;
    e.mask_position = std::find(e.ids.begin(), e.ids.end(), *tok->mask_id()) - e.ids.begin();
    inputs.push_back({{"ids", e.ids}, {"mask_position", e.mask_position}});
    examples.push_back(std::move(e));
  }
  pft::test::write_text(dir.file("inputs.json"), inputs.dump());
  ASSERT_EQ(pft::test::run_python("cloze_reference.py", {c.model.path, dir.file("inputs.json"),
                                                         dir.file("ref.safetensors")})
                .exit_code,
            0);
  const auto expected = pft::io::read_safetensors(dir.file("ref.safetensors")).tensors.at("logits");

  std::vector<std::size_t> all(examples.size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
  torch::NoGradGuard no_grad;
  const auto batch = pft::task::prompt_batch(examples, all, tok->pad_id(), torch::kCPU);
  const auto logits = task.mask_logits(batch);
  ASSERT_EQ(logits.sizes().vec(), expected.sizes().vec());
  const double diff = (logits - expected).abs().max().item<double>();
  std::cout << "cloze mask logits: max abs diff " << diff << " over " << examples.size()
            << " examples\n";
  RecordProperty("max_abs_diff", std::to_string(diff));
  EXPECT_LE(diff, 1e-5);
  // Label scores: the mean of the words' logits, from transformers' logits.
  const auto scores = task.scores(batch);
  const auto ref_scores = pft::task::label_scores(expected, task.words());
  EXPECT_LE((scores - ref_scores).abs().max().item<double>(), 1e-5);
}

// Multi-token label words, each way prompt.word_tokens scores them and each way
// prompt.label_words combines a label's words, against scores computed in Python from
// transformers' logits (tests/python/cloze_reference.py scores); the prompts' ids, one
// [MASK] per sub-token of the longest word under whole_word, equal transformers' tokenizer's.
TEST_F(ClozeParity, MultiTokenVerbalizerScoresEqualAPythonReference) {
  const auto& dir = *dir_;
  std::vector<std::string> texts;
  std::string lines;
  for (const auto& r : pft::data::read_jsonl(pft::test::shared_data("sst2/dev.jsonl"))) {
    texts.push_back(r.value.at("text").get<std::string>());
    lines += r.value.dump() + "\n";
    if (texts.size() == 10) break;
  }
  pft::test::write_text(dir.file("dev10.jsonl"), lines);
  // unwatchable, tedious, riveting: 3, 2 and 3 sub-tokens in bert-base-uncased.
  const std::vector<std::vector<std::string>> words{{"unwatchable", "tedious", "terrible"},
                                                    {"riveting", "great"}};
  const std::vector<std::pair<std::string, std::string>> modes{
      {"first", "mean"}, {"mean", "mean"}, {"max", "max"}, {"whole_word", "mean"},
      {"whole_word", "max"}};
  json spec = {{"before", "Review: "}, {"after", " It was {mask}."}, {"texts", texts},
               {"words", words}, {"modes", modes}};
  pft::test::write_text(dir.file("spec.json"), spec.dump());
  const auto r = pft::test::run_python(
      "cloze_reference.py", {"scores", dir.file("mlm"), dir.file("spec.json"), dir.file("ref")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto ref = pft::io::read_safetensors(dir.file("ref")).tensors;

  const auto tok = pft::tokenizer::load_tokenizer(dir.file("mlm"));
  auto model = pft::model::load_bert_for_masked_lm(dir.file("mlm"));
  model->eval();
  torch::Tensor first_scores;
  for (const auto& [word_tokens, label_words] : modes) {
    SCOPED_TRACE(word_tokens + "/" + label_words);
    pft::config::RunConfig c;
    c.model.path = c.tokenizer.path = dir.file("mlm");
    c.data.eval = dir.file("dev10.jsonl");
    c.task.type = "cloze";
    c.prompt.template_text = "Review: {text} It was {mask}.";
    c.prompt.verbalizer = {{"negative", words[0]}, {"positive", words[1]}};
    c.prompt.word_tokens = word_tokens;
    c.prompt.label_words = label_words;
    pft::task::ClozeTask task(model.ptr(), nullptr, *tok, c, {"negative", "positive"},
                              torch::kCPU, /*load_train=*/false);
    EXPECT_EQ(task.words().masks(), word_tokens == "whole_word" ? 3 : 1);
    // The ids pft builds: the same prompts as transformers' tokenizer makes.
    pft::task::PromptEncoder encoder(c, *tok, nullptr, "text");
    encoder.repeat_mask(static_cast<std::size_t>(task.words().masks()));
    const auto ids = ref.at("ids_" + word_tokens);
    std::vector<pft::task::PromptExample> examples;
    for (std::size_t i = 0; i < texts.size(); ++i) {
      pft::task::PromptExample e;
      e.ids = encoder.encode(json{{"text", texts[i]}}, {"dev.jsonl", i + 1}, i).ids;
      const auto row = ids[static_cast<std::int64_t>(i)];
      const auto n = (row >= 0).sum().item<std::int64_t>();
      EXPECT_TRUE(torch::equal(torch::tensor(e.ids), row.slice(0, 0, n))) << texts[i];
      e.mask_position = std::find(e.ids.begin(), e.ids.end(), *tok->mask_id()) - e.ids.begin();
      examples.push_back(std::move(e));
    }
    std::vector<std::size_t> all(examples.size());
    for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
    torch::NoGradGuard no_grad;
    const auto scores =
        task.scores(pft::task::prompt_batch(examples, all, tok->pad_id(), torch::kCPU));
    const auto expected = ref.at("scores_" + word_tokens + "_" + label_words);
    const double diff = (scores - expected).abs().max().item<double>();
    std::cout << "cloze scores " << word_tokens << "/" << label_words << ": max abs diff "
              << diff << " over " << texts.size() << " examples\n";
    EXPECT_LE(diff, 1e-5);
    if (word_tokens == "first") first_scores = scores;
    if (word_tokens == "mean") EXPECT_GT((scores - first_scores).abs().max().item<double>(), 1e-3);
  }
}
