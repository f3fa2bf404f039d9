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

TEST(ClozeParity, MaskLogitsAndLabelScoresEqualTransformersBertForMaskedLM) {
  pft::test::TempDir dir;
  ASSERT_EQ(pft::test::run_python("make_task_models.py", {dir.path(), pft::test::shared_data()})
                .exit_code,
            0);
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
