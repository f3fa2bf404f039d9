// Short training runs of every module-surgery method (lora, ia3, bitfit, full, bottleneck
// adapters in both placements) on a tiny random BERT: the loss on a fixed batch goes down,
// frozen base tensors stay bit-identical, the checkpoint on disk is never written, and the
// saved adapter loads back with `pft eval --adapter`.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "pft/app/run.h"
#include "pft/config/config.h"
#include "pft/train/trainer.h"
#include "pft/util/fs.h"
#include "support/fixed_batch.h"
#include "support/test_util.h"

using nlohmann::json;
using pft::test::run_pft;

namespace {

class MethodsTrain : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new pft::test::TempDir();
    const auto r = pft::test::run_python(
        "make_tiny_bert.py",
        {model(), pft::test::shared_data("tokenizers/bert-base-uncased/vocab.txt"), "32", "0.2"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // An easy synthetic task, so that a few dozen steps lower the loss reliably; the model's
    // weights are drawn wider than BERT's 0.02 so that a frozen random encoder still tells
    // the sentences apart (with 0.02 its pooled outputs are nearly constant).
    const std::vector<std::string> good{"great", "wonderful", "superb", "delightful"},
        bad{"awful", "terrible", "boring", "dreadful"};
    std::string train, dev;
    for (int i = 0; i < 96; ++i) {
      const bool pos = i % 2 == 0;
      const auto& words = pos ? good : bad;
      std::string text = "the movie was " + words[static_cast<std::size_t>(i / 2) % 4] + " and " +
                         words[static_cast<std::size_t>(i / 2 + 1) % 4];
      (i < 80 ? train : dev) +=
          json({{"text", text}, {"label", pos ? "positive" : "negative"}}).dump() + "\n";
    }
    pft::test::write_text(dir_->file("train.jsonl"), train);
    pft::test::write_text(dir_->file("dev.jsonl"), dev);
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::string model() { return dir_->file("tiny-bert"); }
  static json config(const json& peft, const std::string& out, double lr) {
    return {
        {"model", {{"path", model()}}},
        {"data", {{"train", dir_->file("train.jsonl")}, {"eval", dir_->file("dev.jsonl")}}},
        {"task", {{"labels", {"negative", "positive"}}}},
        {"peft", peft},
        {"train",
         {{"lr", lr},
          {"lr_scheduler", "constant"},
          {"batch_size", 16},
          {"max_steps", 40},
          {"seed", 3},
          {"log_every", 10},
          {"output_dir", out}}},
    };
  }

  // Trains in process; returns the loss on a fixed batch before and after, and checks the
  // frozen tensors. `trained` receives the names of the tensors that trained.
  static std::pair<double, double> train(const json& peft, const std::string& name,
                                         std::set<std::string>* trained) {
    // Full fine-tuning moves every weight and wants a smaller step.
    const auto doc = config(peft, dir_->file(name), peft["method"] == "full" ? 3e-3 : 1e-2);
    const auto c = pft::config::from_json(doc, name, pft::config::Purpose::Train);
    auto run = pft::app::build_run(c, torch::kCPU, /*training=*/true);
    std::map<std::string, torch::Tensor> before;
    for (const auto& p : run.adapted.model->named_parameters())
      before[p.key()] = p.value().detach().clone();
    const auto batch = pft::test::first_examples(run, 16);
    const double loss_before = pft::test::fixed_batch_loss(run, batch);
    pft::train::Trainer trainer(*run.task, run.adapted, c.train, torch::kCPU, dir_->file(name));
    trainer.run(false);
    const double loss_after = pft::test::fixed_batch_loss(run, batch);
    std::set<std::string> trainable;
    for (const auto& [n, t] : run.adapted.trainable()) trainable.insert(n);
    for (const auto& p : run.adapted.model->named_parameters()) {
      if (trainable.count(p.key())) {
        if (!torch::equal(p.value(), before.at(p.key()))) trained->insert(p.key());
      } else {
        EXPECT_TRUE(torch::equal(p.value(), before.at(p.key())))
            << name << ": frozen tensor changed: " << p.key();
      }
    }
    std::cout << "[train] " << name << ": loss on a fixed batch " << loss_before << " -> "
              << loss_after << " (" << trainable.size() << " trainable tensors, " << trained->size()
              << " changed)\n";
    return {loss_before, loss_after};
  }

  // `pft eval --adapter` on the saved adapter: exit 0 and an accuracy.
  static double eval_accuracy(const std::string& name) {
    const auto r = run_pft({"eval", "--model", model(), "--adapter", dir_->file(name) + "/adapter",
                            "--data", dir_->file("dev.jsonl"), "--json", "--threads", "1", "--set",
                            "task.labels=[\"negative\",\"positive\"]"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    if (r.exit_code != 0) return -1;
    return json::parse(r.out)["metrics"]["accuracy"].get<double>();
  }

  static inline pft::test::TempDir* dir_ = nullptr;
};

}  // namespace

TEST_F(MethodsTrain, EachMethodLowersTheLossAndLeavesTheBaseAlone) {
  const std::string weights = model() + "/model.safetensors";
  const std::string disk_before = pft::read_file(weights);
  const std::vector<std::pair<std::string, json>> runs{
      {"lora", {{"method", "lora"}, {"r", 4}, {"lora_alpha", 8}}},
      {"ia3", {{"method", "ia3"}}},
      {"bitfit", {{"method", "bitfit"}}},
      {"full", {{"method", "full"}}},
      {"houlsby",
       {{"method", "adapter"}, {"adapter_placement", "houlsby"}, {"adapter_reduction_factor", 4}}},
      {"pfeiffer",
       {{"method", "adapter"},
        {"adapter_placement", "pfeiffer"},
        {"adapter_non_linearity", "gelu"}}},
  };
  for (const auto& [name, peft] : runs) {
    SCOPED_TRACE(name);
    std::set<std::string> trained;
    const auto [before, after] = train(peft, name, &trained);
    EXPECT_LT(after, before * 0.95);
    EXPECT_FALSE(trained.empty());
    if (name == "bitfit") {
      for (const auto& t : trained) {
        const bool bias = t.size() > 5 && t.compare(t.size() - 5, 5, ".bias") == 0;
        EXPECT_TRUE(bias || t.rfind("classifier.", 0) == 0) << t;
      }
      EXPECT_TRUE(trained.count("bert.encoder.layer.0.attention.self.query.bias"))
          << "biases must train";
    }
    if (name == "full") {
      EXPECT_TRUE(trained.count("bert.encoder.layer.1.output.dense.weight"));
      EXPECT_TRUE(trained.count("bert.embeddings.word_embeddings.weight"));
    }
    const auto saved =
        json::parse(pft::read_file(dir_->file(name) + "/adapter/adapter_config.json"));
    std::cout << "[train] " << name << ": peft_type " << saved["peft_type"]
              << ", pft eval accuracy " << eval_accuracy(name) << "\n";
  }
  EXPECT_TRUE(pft::read_file(weights) == disk_before) << "the base checkpoint on disk changed";
}

TEST_F(MethodsTrain, FullAndBitFitRunsExportAsHuggingFaceCheckpoints) {
  for (const std::string method : {"full", "bitfit"}) {
    SCOPED_TRACE(method);
    std::set<std::string> trained;
    train({{"method", method}}, "export-" + method, &trained);
    const std::string out = dir_->file("exported-" + method);
    const auto r =
        run_pft({"export", "--merge", dir_->file("export-" + method) + "/adapter", "--model",
                 model(), "--output", out, "--check-file", out + ".json", "--threads", "1"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(pft::read_file(out + "/vocab.txt") == pft::read_file(model() + "/vocab.txt"));
    const auto py =
        pft::test::run_python("peft_methods_reference.py", {"export", out, out + ".json"});
    ASSERT_EQ(py.exit_code, 0) << py.err;
    const double diff = json::parse(py.out)["max_abs_diff"].get<double>();
    std::cout << "[export] " << method << ": transformers on the export vs pft unmerged " << diff
              << "\n";
    EXPECT_LE(diff, 1e-5);
  }
  // Bottleneck adapters add layers: no merge.
  std::set<std::string> trained;
  train({{"method", "adapter"}}, "export-adapter", &trained);
  const auto r = run_pft({"export", "--merge", dir_->file("export-adapter") + "/adapter", "--model",
                          model(), "--output", dir_->file("exported-adapter"), "--threads", "1"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("cannot be merged"), std::string::npos) << r.err;
}
